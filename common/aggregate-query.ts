/**
 * Federated analysis messages (proto/watchmesh/v1/aggregate.proto): signing, opening and the rules an
 * AggregateQuery must follow, shared by the analyst client, the coordinator and the nodes. Aggregate
 * queries and answers are always Ed25519-signed: they are rare, and answers are evidence of what a
 * country released.
 */
import { checkRequestHeader, equalBytes, signEnvelope, verifyEnvelope } from "./envelope.ts";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import { MemberRole, type SigningIdentity } from "./key-files.ts";
import { DEFAULT_CLOCK_SKEW_MS } from "./limits.ts";
import {
  AggregateDimension,
  decodeAggregateAnswer,
  decodeAggregateQuery,
  encodeAggregateAnswer,
  encodeAggregateQuery,
  Purpose,
  type AggregateAnswer,
  type AggregateCell,
  type AggregateQuery,
  type SignedEnvelope,
} from "./proto.ts";
import { RECORD_CATEGORIES } from "./designations.ts";
import type { ResolvedSigner, TrustRegistry } from "./registry.ts";
import { SignatureDomain, sha256 } from "./signing.ts";

export const AGGREGATE_LIMITS = {
  /** Months one query may span. */
  maxMonths: 120,
  /** Largest epsilon a query may ask for; above it the noise protects next to nothing. */
  maxEpsilon: 10,
} as const;

/** Gathering deadline of an aggregate query when the caller gives none: nodes scan their stores. */
export const DEFAULT_AGGREGATE_DEADLINE_MS = 10_000;

/** Dimension names as the CLI and JSON outputs spell them. */
export const DIMENSION_NAMES = {
  month: AggregateDimension.Month,
  category: AggregateDimension.Category,
  designation: AggregateDimension.Designation,
} as const;
export type DimensionName = keyof typeof DIMENSION_NAMES;

const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isMonth(text: string): boolean {
  return MONTH_PATTERN.test(text);
}

/** Months from `from` to `to` inclusive, as "YYYY-MM"; empty when `to` is before `from`. */
export function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let [year, month] = from.split("-").map(Number) as [number, number];
  for (let current = from; current <= to; ) {
    months.push(current);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
    current = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}`;
  }
  return months;
}

/** Months a report covers when the analyst names no period. */
export const DEFAULT_REPORT_MONTHS = 12;

/** The latest complete month at `now` ("YYYY-MM"): reports end there by default, as a running month would look like a fall. */
export function lastCompleteMonth(now: Date = new Date()): string {
  return previousMonth(now.toISOString().slice(0, 7));
}

/** The first of `count` months ending with `to`. */
export function firstOfMonths(to: string, count: number): string {
  let from = to;
  for (let i = 1; i < count; i++) from = previousMonth(from);
  return from;
}

/** The month before `month` ("YYYY-MM"). */
export function previousMonth(month: string): string {
  const [year, number] = month.split("-").map(Number) as [number, number];
  return number === 1 ? `${String(year - 1).padStart(4, "0")}-12` : `${String(year).padStart(4, "0")}-${String(number - 1).padStart(2, "0")}`;
}

/** Checks what a node needs to count: purpose, period, dimensions, categories and epsilon. Throws INVALID_ARGUMENT. */
export function validateAggregateQuery(query: AggregateQuery): void {
  const invalid = (message: string) => new WatchmeshError(ErrorCode.InvalidArgument, message);
  if (query.purpose !== Purpose.Analysis) throw invalid("an aggregate query must have purpose analysis");
  if (!isMonth(query.fromMonth) || !isMonth(query.toMonth)) throw invalid("the period's months must be YYYY-MM");
  if (query.toMonth < query.fromMonth) throw invalid("the period ends before it starts");
  if (monthsBetween(query.fromMonth, query.toMonth).length > AGGREGATE_LIMITS.maxMonths) {
    throw invalid(`the period spans more than ${AGGREGATE_LIMITS.maxMonths} months`);
  }
  const dimensions = new Set<string>(Object.values(DIMENSION_NAMES));
  if (query.groupBy.some((dimension) => !dimensions.has(dimension))) throw invalid("unknown group-by dimension");
  if (new Set(query.groupBy).size !== query.groupBy.length) throw invalid("a group-by dimension is repeated");
  const categories = new Set<string>(RECORD_CATEGORIES);
  const unknown = query.categories.filter((category) => !categories.has(category));
  if (unknown.length > 0) throw invalid(`unknown categories (known: ${RECORD_CATEGORIES.join(", ")})`);
  if (!Number.isFinite(query.epsilon) || query.epsilon < 0 || query.epsilon > AGGREGATE_LIMITS.maxEpsilon) {
    throw invalid(`epsilon must be 0 (exact counts) or a number up to ${AGGREGATE_LIMITS.maxEpsilon}`);
  }
}

/** A cell's identity: its measure and coordinates ("" for a dimension not grouped by). */
export function cellId(cell: Pick<AggregateCell, "measure" | "month" | "category" | "designation">): string {
  return `${cell.measure}\u0000${cell.month}\u0000${cell.category}\u0000${cell.designation}`;
}

export function signAggregateQuery(query: AggregateQuery, identity: SigningIdentity): SignedEnvelope {
  return signEnvelope(SignatureDomain.AggregateQuery, encodeAggregateQuery(query), identity);
}

export interface OpenedAggregateQuery {
  query: AggregateQuery;
  signer: ResolvedSigner;
  /** SHA-256 of the payload: answers are bound to it. */
  digest: Uint8Array;
}

/** Verifies an aggregate query's analyst signature, decodes it, and checks its header and content. */
export function openAggregateQuery(envelope: SignedEnvelope, registry: TrustRegistry, options: { nowMs: number; clockSkewMs?: number | undefined }): OpenedAggregateQuery {
  const signer = verifyEnvelope(envelope, SignatureDomain.AggregateQuery, registry, { nowMs: options.nowMs, roles: [MemberRole.Analyst] });
  const query = decodeAggregateQuery(envelope.payload);
  checkRequestHeader(query, signer, options.nowMs, options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS);
  validateAggregateQuery(query);
  return { query, signer, digest: sha256(envelope.payload) };
}

export function signAggregateAnswer(answer: AggregateAnswer, identity: SigningIdentity): SignedEnvelope {
  return signEnvelope(SignatureDomain.AggregateAnswer, encodeAggregateAnswer(answer), identity);
}

/** Verifies a node's signed aggregate answer: a node key of `expectedCountry`, bound to the expected query. */
export function openAggregateAnswer(
  envelope: SignedEnvelope,
  registry: TrustRegistry,
  options: { nowMs: number; expectedCountry: string; expectedQueryDigest: Uint8Array },
): AggregateAnswer {
  const signer = verifyEnvelope(envelope, SignatureDomain.AggregateAnswer, registry, { nowMs: options.nowMs, roles: [MemberRole.Node] });
  if (signer.country !== options.expectedCountry) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "aggregate answer is signed by another country's key", { context: { keyId: envelope.keyId } });
  }
  const answer = decodeAggregateAnswer(envelope.payload);
  if (answer.respondingCountry !== signer.country) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "aggregate answer's responding country differs from its signer");
  }
  if (!equalBytes(answer.queryDigest, options.expectedQueryDigest)) {
    throw new WatchmeshError(ErrorCode.AnswerInvalid, "aggregate answer is bound to a different query");
  }
  return answer;
}
