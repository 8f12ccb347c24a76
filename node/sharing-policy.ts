/**
 * A country node's sharing policy: which requesting countries and agencies may query its records, for
 * which purposes, over which categories, and how many queries a day each may make. The owner decides;
 * the node enforces it on every query before matching, and a denied query is answered REFUSED with a
 * code that says why (POLICY_REQUESTER_DENIED, POLICY_PURPOSE_DENIED, POLICY_CATEGORY_DENIED,
 * QUOTA_EXHAUSTED).
 *
 * File format (JSON, documented in the README, "Operating a country node"):
 *   { "format": "watchmesh-sharing-policy/v1",
 *     "rules": [ { "countries": ["FRA", "DEU"], "agencies": ["*"],
 *                  "purposes": ["border_check", "investigation"],
 *                  "categories": ["person", "document", "entity", "dna", "face"],
 *                  "dailyQuota": 5000 } ],
 *     "analysis": { "minCellCount": 5, "maxEpsilon": 1, "requireNoise": false } }
 * The first rule naming the requester's country (or "*") and agency (or "*", the default) decides;
 * no rule means the requester may not query at all. `dailyQuota` counts the requester's admitted
 * queries per UTC day at this node (absent: no limit). Aggregate queries need purpose "analysis" and
 * category "statistics"; `analysis` (optional) sets their small-cell threshold k (default 5) and noise.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { COUNTRY_CODE_PATTERN } from "../common/country-codes.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { Purpose, type MatchQuery } from "../common/proto.ts";

export const SHARING_POLICY_FORMAT = "watchmesh-sharing-policy/v1";

/** Policy names of the query purposes of query.proto. */
export const POLICY_PURPOSES = {
  border_check: Purpose.BorderCheck,
  investigation: Purpose.Investigation,
  counter_terrorism: Purpose.CounterTerrorism,
  analysis: Purpose.Analysis,
} as const;

/** "statistics": federated aggregate queries (counts, never records; proto/watchmesh/v1/aggregate.proto). */
export const POLICY_CATEGORIES = ["person", "document", "entity", "dna", "face", "statistics"] as const;
export type PolicyCategory = (typeof POLICY_CATEGORIES)[number];

const ruleSchema = z.strictObject({
  countries: z.array(z.union([z.literal("*"), z.string().regex(COUNTRY_CODE_PATTERN, "ISO 3166-1 alpha-3 code or \"*\" expected")])).min(1),
  agencies: z.array(z.string().min(1).max(64)).min(1).optional(),
  purposes: z.array(z.enum(Object.keys(POLICY_PURPOSES) as [keyof typeof POLICY_PURPOSES])).min(1),
  categories: z.array(z.enum(POLICY_CATEGORIES)).min(1),
  dailyQuota: z.number().int().nonnegative().optional(),
});

/** k of the small-cell rule when the policy names none. */
export const DEFAULT_MIN_CELL_COUNT = 5;

/** Disclosure control of aggregate answers (README "Federated analysis"). */
const analysisSchema = z.strictObject({
  /** k: a count between 1 and k-1 is suppressed before it leaves the node. */
  minCellCount: z.number().int().min(1).max(1000).default(DEFAULT_MIN_CELL_COUNT),
  /** Largest epsilon this node accepts per query (smaller means more noise). */
  maxEpsilon: z.number().positive().optional(),
  /** When true, exact counts (epsilon 0) are refused: every answer is noised. */
  requireNoise: z.boolean().default(false),
});

const policySchema = z.strictObject({
  format: z.literal(SHARING_POLICY_FORMAT),
  rules: z.array(ruleSchema),
  analysis: analysisSchema.optional(),
});

export type SharingPolicyDocument = z.infer<typeof policySchema>;
export type SharingRule = z.infer<typeof ruleSchema>;
export type AnalysisSettings = z.infer<typeof analysisSchema>;

/** What the policy decided for an admitted query: the rule's quota applies to this requester. */
export interface Admission {
  /** `<country>/<agency>`: the key quotas are counted under. */
  requester: string;
  dailyQuota: number | undefined;
}

/** The categories a query searches: a query needs every one of them allowed. */
export function queryCategories(query: MatchQuery): PolicyCategory[] {
  const categories = new Set<PolicyCategory>();
  if (query.entity) categories.add("entity");
  const person = query.person;
  if (person) {
    if (person.names.some((name) => name.trim() !== "") || person.dob !== "") categories.add("person");
    if (person.documents.length > 0 || person.mrz.length > 0) categories.add("document");
    if (person.dna && Object.keys(person.dna.loci).length > 0) categories.add("dna");
    if (person.face && person.face.embedding.length > 0) categories.add("face");
  }
  return [...categories];
}

export class SharingPolicy {
  readonly document: SharingPolicyDocument;

  private constructor(document: SharingPolicyDocument) {
    this.document = document;
  }

  /** Every requester, purpose and category allowed, without quotas: a node configured with no policy file. */
  static allowAll(): SharingPolicy {
    return new SharingPolicy({
      format: SHARING_POLICY_FORMAT,
      rules: [{ countries: ["*"], purposes: Object.keys(POLICY_PURPOSES) as (keyof typeof POLICY_PURPOSES)[], categories: [...POLICY_CATEGORIES] }],
    });
  }

  /** How aggregate answers are protected (defaults when the policy file says nothing). */
  get analysis(): AnalysisSettings {
    return this.document.analysis ?? { minCellCount: DEFAULT_MIN_CELL_COUNT, requireNoise: false };
  }

  /** Parses policy JSON text; an invalid document → WatchmeshError(CONFIG_INVALID) naming the field. */
  static parse(text: string): SharingPolicy {
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, "sharing policy is not valid JSON");
    }
    const parsed = policySchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `sharing policy invalid at ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
    }
    return new SharingPolicy(parsed.data);
  }

  static async load(path: string): Promise<SharingPolicy> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `cannot read sharing policy file: ${path}`, { cause: error });
    }
    return SharingPolicy.parse(text);
  }

  /**
   * Decides whether `query` may be answered; throws WatchmeshError with a POLICY_* code when not.
   * Quotas are not counted here (see QuotaLedger): an admitted query returns the quota to count against.
   */
  admit(query: MatchQuery): Admission {
    return this.admitRequest(query, queryCategories(query));
  }

  /** Like `admit`, for any request: its requester, purpose and the categories it needs. */
  admitRequest(request: Pick<MatchQuery, "requestingCountry" | "requestingAgency" | "purpose">, categories: readonly PolicyCategory[]): Admission {
    const country = request.requestingCountry;
    const agency = request.requestingAgency;
    const rule = this.document.rules.find(
      (candidate) =>
        (candidate.countries.includes("*") || candidate.countries.includes(country)) &&
        (candidate.agencies === undefined || candidate.agencies.includes("*") || candidate.agencies.includes(agency)),
    );
    if (!rule) throw new WatchmeshError(ErrorCode.PolicyRequesterDenied, "this node does not share with the requesting country or agency");
    const purposes = new Set<string>(rule.purposes.map((name) => POLICY_PURPOSES[name]));
    if (!purposes.has(request.purpose)) {
      throw new WatchmeshError(ErrorCode.PolicyPurposeDenied, "this node does not share for the query's purpose", { context: { purpose: request.purpose } });
    }
    const denied = categories.filter((category) => !rule.categories.includes(category));
    if (denied.length > 0) {
      throw new WatchmeshError(ErrorCode.PolicyCategoryDenied, `this node does not share these categories with the requester: ${denied.join(", ")}`, {
        context: { categories: denied.join(",") },
      });
    }
    return { requester: `${country}/${agency}`, dailyQuota: rule.dailyQuota };
  }
}
