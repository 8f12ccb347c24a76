/**
 * The matching engine of a country node. Candidates come only from the store's secondary indexes
 * (never a scan); each candidate is then compared feature by feature, and a hit needs enough evidence:
 *
 *   travel document   normalised number (look-alike tolerant per issuer format), issuing state agrees → 1.0
 *   DNA               Prüm full match → 1.0; near match (one allele differs) → 0.9, reported as such
 *   face              nearest neighbours in the store's face index (same model) whose cosine similarity
 *                     reaches the model's threshold; score = similarity
 *   person by name    name score ≥ NAME_MATCH_THRESHOLD and corroboration: a date of birth that agrees
 *                     (exact, at shared precision, or weakly: day/month swap, ±1 year on year-only), or,
 *                     without any date, a rare full name. Disjoint dates of birth and a different sex
 *                     rule a name out; nationality agreement adds, disagreement subtracts.
 *   entity            canonical value equal (phones E.164, VIN/plates, e-mails, CAS numbers …), or an
 *                     organisation name above its similarity threshold
 *
 * The answer names the features that agreed, never their values. A record whose review/expiry date
 * (`expiresAt`) is before the current UTC day is never a candidate, whether or not it has been purged yet.
 */
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { parseMrz } from "../../common/mrz.ts";
import { MAX_HITS_PER_ANSWER } from "../../common/limits.ts";
import type { EntityQuery, PersonQuery, TravelDocument } from "../../common/proto.ts";
import type { MatchCandidateHit, Matcher, MatchContext } from "../matcher.ts";
import {
  DEFAULT_RECORD_ACTION,
  ENTITY_TYPES,
  isExpired,
  utcDayOf,
  type EntityType,
  type NativeRecord,
  type PersonRecord,
} from "../record-schema.ts";
import type { RecordStore } from "../store.ts";
import { isCommonNameToken } from "./common-names.ts";
import { compareParsedDob, parseDob, type DobAgreement, type ParsedDob } from "./dates.ts";
import { compareDna, dnaFromProto, parseDnaProfile } from "./dna.ts";
import { compareDocuments, normaliseIssuingCountry } from "./documents.ts";
import { entitiesMatch } from "./entities.ts";
import { parseFaceTemplate, type FaceTemplate } from "./face-index.ts";
import {
  codePair,
  codePairs,
  documentKeys,
  documentNumberKeys,
  dnaKeys,
  entityKeys,
  isPrefixKey,
  queryDob,
  queryNameKeysOfGroups,
  queryPairKeys,
  queryTermPairKeys,
  type KeyCheck,
  type QueryDob,
  recordNameKeys,
  termPair,
} from "./index-keys.ts";
import { nameTerms, type NameTerm } from "./names/blocking.ts";
import { NameVocabulary, type NearEntry } from "./names/vocabulary.ts";
import { KeyFilter } from "./key-filter.ts";
import { analyseName, compareAnalysed, NAME_MATCH_THRESHOLD, type AnalysedName } from "./names/index.ts";
import { BoundedCache } from "./names/bounded-cache.ts";

export interface MatchingEngineOptions {
  store: RecordStore;
  /** Index keys holding more records than this are too common to be useful and are skipped. */
  maxRecordsPerKey?: number;
  /** Upper bound on candidates compared for one query. */
  maxCandidates?: number;
  /** The node's country (ISO alpha-3): region of national phone numbers in records. */
  country?: string;
  /** Clock (ms since the epoch; default Date.now): records expired before its UTC day do not match. */
  now?: () => number;
  /**
   * Whether name queries that found nobody by token pairs make a second, typo pass (default true): the
   * pair keys of the store's terms near the query's (see #typoPassKeys). It is what finds a name with a
   * typing error in one token or a token in another script; turned off only to measure what it costs
   * and what it finds (`npm run bench -- node`, `watchmesh eval --no-typo-pass`). The first pass uses
   * the vocabulary either way, for year-only records.
   */
  typoPass?: boolean;
  /**
   * Keep a filter of the store's index keys in memory (key-filter.ts) so that keys holding nobody are
   * not read; default true. Turned off only to measure what it saves.
   */
  keyFilter?: boolean;
}

/** A name hit needs at least this combined score. */
export const PERSON_HIT_THRESHOLD = 0.8;

/**
 * With a perfect name: exact or partial-precision agreement is a hit on its own; weak agreement (day/
 * month swap, ±1 year on year-only data) needs a further agreeing qualifier (nationality or sex).
 */
const DOB_WEIGHT: Record<DobAgreement, number> = { exact: 0.4, compatible: 0.35, weak: 0.22, missing: 0, disjoint: 0 };
const NAME_WEIGHT = 0.55;
/** Whether a perfect name with a weakly agreeing date of birth is a hit without any qualifier (it is not). */
const WEAK_DATE_CAN_HIT_ALONE = NAME_WEIGHT + DOB_WEIGHT.weak >= PERSON_HIT_THRESHOLD;
/** A full name that is rare enough to stand without a date of birth still needs to match every token. */
const RARE_NAME_SCORE = 0.8;
/** A rare name must be unique in the node's own records too (records under its rarest date-free key). */
const RARE_NAME_MAX_RECORDS = 1;
/**
 * Date-free name keys are read only when they could give a hit: a record without a matching date hits
 * by a rare name alone, which must be unique in the node.
 */
const RARE_KEY_MAX_RECORDS = RARE_NAME_MAX_RECORDS;
/** Date-free key counts remembered (per generation of the store): a few per name query, names recur. */
const KEY_COUNT_CACHE_SIZE = 100_000;

const FEATURE_ORDER = [
  "document_number",
  "document_look_alike",
  "document_country",
  "dna",
  "dna_near_match",
  "face",
  "name",
  "rare_name",
  "dob",
  "dob_partial",
  "dob_weak",
  "nationality",
  "sex",
  "entity_value",
];

const DAY_MS = 86_400_000;

/** Face index neighbours read per query (those under the model's threshold are dropped anyway). */
const FACE_SEARCH_K = 10;

/** Digits OCR reads in place of letters in an MRZ name field (which holds letters only). */
const MRZ_NAME_OCR: Readonly<Record<string, string>> = { "0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B" };

/** What one query reads the store under, worked out once: the store's generation and the key filter valid for it. */
interface QueryReads {
  generation: number;
  /** The filter of the store's index keys at `generation` (see #keyFilterAt); undefined while there is none. */
  keyFilter: KeyFilter | undefined;
}

interface CandidateOptions {
  /** Keys the filter rules out hold nobody and are not read. */
  keyFilter?: KeyFilter | undefined;
  /** Sizes of keys already counted (see `RecordStore.keyCount`). */
  knownCounts?: ReadonlyMap<string, number>;
  /** Record ids already read for this query: not read again. */
  seen?: Set<string>;
  /** The UTC day deciding which records have expired (default: today by the engine's clock). */
  today?: string;
}

/** What a name query brings to each candidate, worked out once per query. */
interface NameQuery {
  query: PersonQuery;
  names: readonly AnalysedName[];
  dob: ParsedDob | undefined;
  nationalities: ReadonlySet<string>;
  /** Sizes of the query's date-free keys (see #isRareFullName). */
  undatedCounts: ReadonlyMap<string, number>;
}

interface Evidence {
  record: PersonRecord | NativeRecord;
  score: number;
  category: string;
  features: Set<string>;
}

class Hits {
  readonly #byId = new Map<string, Evidence>();

  add(record: NativeRecord, score: number, category: string, features: readonly string[]): void {
    const existing = this.#byId.get(record.id);
    if (!existing) {
      this.#byId.set(record.id, { record, score, category, features: new Set(features) });
      return;
    }
    if (score > existing.score) {
      existing.score = score;
      existing.category = category;
    }
    for (const feature of features) existing.features.add(feature);
  }

  result(): MatchCandidateHit[] {
    return [...this.#byId.values()]
      .map((evidence) => ({
        recordId: evidence.record.id,
        score: Math.round(Math.min(1, evidence.score) * 1000) / 1000,
        category: evidence.category,
        action: (evidence.record.action ?? DEFAULT_RECORD_ACTION),
        matchedFeatures: [...evidence.features].sort((a, b) => FEATURE_ORDER.indexOf(a) - FEATURE_ORDER.indexOf(b)),
      }))
      .sort((a, b) => b.score - a.score || (a.recordId < b.recordId ? -1 : 1))
      .slice(0, MAX_HITS_PER_ANSWER);
  }
}

/**
 * The least two tokens of a query name must score together for the name to reach NAME_MATCH_THRESHOLD
 * with every other token matched perfectly: score ≤ (a + b + W − 2) / W, where W is the weight of all
 * its tokens (a record token left over only lowers it).
 */
function minimumPairScore(name: string): number {
  const weight = analyseName(name).tokens.reduce((sum, token) => sum + token.weight, 0);
  return NAME_MATCH_THRESHOLD * weight - (weight - 2);
}

function isWholeToken(term: NameTerm): boolean {
  return term.kind === "token";
}

/** A query name's terms, each with the stored terms near it (NameVocabulary.near): what its pairs are made of. */
interface NearTerms {
  name: string;
  terms: NameTerm[];
  near: (readonly NearEntry[])[];
  /** The name's own code pairs: what its pair keys carry. */
  ownCodePairs: ReadonlySet<string>;
}

/** The code groups of a name's terms (nameTerms with runs): those of its terms other than runs (nameTokenCodeGroups). */
function codeGroupsOf(terms: readonly NameTerm[]): (readonly string[])[] {
  return terms.filter((term) => term.kind !== "run").map((term) => term.codes);
}

/**
 * A query name's terms (nameTerms with runs, and their code groups: codeGroupsOf) with the stored terms
 * near each, or undefined for a name of fewer than two terms.
 */
function nearTermsOf(
  vocabulary: NameVocabulary,
  name: string,
  nameTermsWithRuns: readonly NameTerm[],
  groups: readonly (readonly string[])[],
): NearTerms | undefined {
  if (groups.length < 2) return undefined;
  const terms = [...nameTermsWithRuns];
  const near = terms.map(({ token }) => vocabulary.near(token));
  const ownCodePairs = new Set(codePairs(groups));
  // A token written as one ("Jeanpierre") against a record that writes it as two: its parts stand for
  // it (the same slot), and pair with the other tokens.
  for (const term of nameTermsWithRuns) {
    if (!isWholeToken(term)) continue;
    const parts = vocabulary.splitParts(term.token);
    if (parts.length > 0) {
      terms.push(term);
      near.push(parts);
    }
  }
  return { name, terms, near, ownCodePairs };
}

/** The pairs of stored terms near a query name's terms, by the pass that reads them. */
interface NearPairs {
  /**
   * The first pass: term pairs (`pyt:` keys of year-only records) under the name's own code pairs,
   * where the name's code-pair keys find records of other precisions.
   */
  ownTermPairs: string[];
  /**
   * The typo pass: the code pairs of all (a mistyped or transliterated token has another code than the
   * stored one), and the term pairs under other code pairs than the name's own (the first pass read the rest).
   */
  typo: { codePairs: string[]; termPairs: string[] };
}

/**
 * Sorts the pairs of stored terms near two terms of a query name that stand for different tokens of
 * it (NearPairs). Two whole tokens are paired only when their scores together can still make the name
 * reach NAME_MATCH_THRESHOLD with every other token perfect.
 */
function nearPairsOf({ name, terms, near, ownCodePairs }: NearTerms): NearPairs {
  const minPairScore = minimumPairScore(name);
  const ownTermPairs = new Set<string>();
  const nearCodePairs = new Set<string>();
  const otherTermPairs = new Set<string>();
  for (let i = 0; i < near.length; i++) {
    for (let j = i + 1; j < near.length; j++) {
      const ti = terms[i]!;
      const tj = terms[j]!;
      if (ti.slots.some((slot) => tj.slots.includes(slot))) continue;
      const bounded = isWholeToken(ti) && isWholeToken(tj);
      const nearI = near[i]!;
      const nearJ = near[j]!;
      // Indexed loops: near lists are frozen arrays, which V8 iterates with for…of only through the
      // generic iterator (an object per step), and this runs for every pair of near terms of a query.
      for (let ai = 0; ai < nearI.length; ai++) {
        const a = nearI[ai]!;
        for (let bi = 0; bi < nearJ.length; bi++) {
          const b = nearJ[bi]!;
          if (bounded && a.score + b.score < minPairScore) continue;
          const codes = codePair(a.entry.code, b.entry.code);
          nearCodePairs.add(codes);
          (ownCodePairs.has(codes) ? ownTermPairs : otherTermPairs).add(termPair(a.entry.token.text, b.entry.token.text));
        }
      }
    }
  }
  return { ownTermPairs: [...ownTermPairs], typo: { codePairs: [...nearCodePairs], termPairs: [...otherTermPairs] } };
}

/** True when the filter says the key holds nobody (a prefix key stands for many keys: never ruled out). */
function ruledOut(keyFilter: KeyFilter | undefined, key: string): boolean {
  return keyFilter !== undefined && !isPrefixKey(key) && !keyFilter.mayHold(key);
}

/** A person query with its MRZ (if any) unpacked into names, date of birth, document, nationality, sex. */
function expandMrz(query: PersonQuery): PersonQuery {
  if (query.mrz.length === 0) return query;
  const mrz = parseMrz(query.mrz, { repairOcr: true });
  const repair = (text: string) => text.replace(/[012568]/g, (digit) => MRZ_NAME_OCR[digit] ?? digit);
  const name = [repair(mrz.givenNames), repair(mrz.surname)].filter(Boolean).join(" ");
  const documents: TravelDocument[] = mrz.documentNumber
    ? [{ type: mrz.documentCode.startsWith("P") ? "passport" : "other", number: mrz.documentNumber, country: mrz.issuingState }]
    : [];
  return {
    ...query,
    names: [...query.names, ...(name ? [name] : [])],
    dob: query.dob || mrz.dateOfBirth,
    nationality: [...query.nationality, ...(mrz.nationality ? [mrz.nationality] : [])],
    sex: query.sex || mrz.sex,
    documents: [...query.documents, ...documents],
  };
}

export class MatchingEngine implements Matcher {
  readonly #store: RecordStore;
  readonly #maxRecordsPerKey: number;
  readonly #maxCandidates: number;
  readonly #country: string | undefined;
  readonly #now: () => number;
  readonly #typoPass: boolean;
  /** The store's name vocabulary, as of the store's generation `#vocabularyGeneration` (see #vocabularyAt). */
  readonly #vocabulary = new NameVocabulary();
  #vocabularyGeneration = -1;
  /** Counts of date-free keys, valid while the store's generation is `#countsGeneration`. */
  #keyCounts = new BoundedCache<string, number>(KEY_COUNT_CACHE_SIZE);
  #countsGeneration = -1;
  /** The filter of the store's index keys (key-filter.ts) and the generation it was read at. */
  #keyFilter: { generation: number; filter: KeyFilter } | undefined;
  /** The filter being built, if one is. */
  #keyFilterBuild: Promise<void> | undefined;
  /** When the next build may start (performance.now() ms): see #buildKeyFilter. */
  #nextKeyFilterBuildMs = 0;
  readonly #useKeyFilter: boolean;
  /** The UTC day of the clock's last reading (see #today): days since the epoch, and as text. */
  #day = { number: Number.NaN, text: "" };

  constructor(options: MatchingEngineOptions) {
    this.#store = options.store;
    this.#maxRecordsPerKey = options.maxRecordsPerKey ?? 5000;
    this.#maxCandidates = options.maxCandidates ?? 2000;
    this.#country = options.country;
    this.#now = options.now ?? Date.now;
    this.#typoPass = options.typoPass ?? true;
    this.#useKeyFilter = options.keyFilter ?? true;
  }

  /**
   * Loads the store's name vocabulary now rather than in the first name query with a date of birth
   * (about 0.2 ms per stored term), and starts building the key filter for the store as it is
   * now, unless one is under way (resolves when it is built). A node calls it before it serves.
   */
  warmUp(): Promise<void> {
    const generation = this.#store.generation();
    this.#vocabularyAt(generation);
    this.#keyFilterAt(generation, { buildNow: true });
    return this.#keyFilterBuild ?? Promise.resolve();
  }

  matchPerson(original: PersonQuery): MatchCandidateHit[] {
    const query = expandMrz(original);
    const reads = this.#queryReads();
    const hits = new Hits();
    this.#matchDocuments(query, hits, reads);
    this.#matchDna(query, hits, reads);
    this.#matchFace(query, hits);
    this.#matchNames(query, hits, reads);
    return hits.result();
  }

  matchEntity(query: EntityQuery, context: MatchContext = {}): MatchCandidateHit[] {
    if (!(ENTITY_TYPES as readonly string[]).includes(query.type)) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, "entity type is not one of organisation, phone, vehicle, device_component, precursor, email");
    }
    const type = query.type as EntityType;
    const region = context.requestingCountry;
    const keys = entityKeys(type, query.value, { errorCode: ErrorCode.InvalidArgument, ...(region ? { defaultRegion: region } : {}) });
    const hits = new Hits();
    for (const record of this.#candidates(keys, { keyFilter: this.#queryReads().keyFilter })) {
      if (record.kind !== "entity" || record.type !== type) continue;
      const verdict = entitiesMatch(type, query.value, record.value, {
        ...(region ? { queryRegion: region } : {}),
        ...(this.#country ? { recordRegion: this.#country } : {}),
      });
      if (verdict.match) hits.add(record, verdict.score, `entity:${type}`, verdict.features.length > 0 ? verdict.features : ["entity_value"]);
    }
    return hits.result();
  }

  #matchDocuments(query: PersonQuery, hits: Hits, { keyFilter }: QueryReads): void {
    for (const document of query.documents) {
      const issuer = normaliseIssuingCountry(document.country);
      const keys = issuer ? documentKeys(document.number, issuer) : documentNumberKeys(document.number);
      for (const record of this.#candidates(keys, { keyFilter })) {
        if (record.kind !== "person") continue;
        for (const held of record.documents ?? []) {
          const kind = compareDocuments({ number: document.number, country: issuer }, held);
          if (kind === "none") continue;
          const features = ["document_number", ...(issuer ? ["document_country"] : []), ...(kind === "look_alike" ? ["document_look_alike"] : [])];
          hits.add(record, kind === "exact" ? 1 : 0.95, "travel_document", features);
        }
      }
    }
  }

  #matchDna(query: PersonQuery, hits: Hits, { keyFilter }: QueryReads): void {
    if (!query.dna || Object.keys(query.dna.loci).length === 0) return;
    let profile: ReturnType<typeof dnaFromProto>;
    try {
      profile = dnaFromProto(query.dna.loci);
    } catch (error) {
      // A profile that cannot take part (too few loci, a mixture) is the asker's problem: refused, not an error.
      throw new WatchmeshError(ErrorCode.InvalidArgument, `query ${error instanceof WatchmeshError ? error.message : "DNA profile is invalid"}`);
    }
    for (const record of this.#candidates(dnaKeys(profile), { keyFilter })) {
      if (record.kind !== "person" || record.dna === undefined) continue;
      const comparison = compareDna(profile, parseDnaProfile(record.dna));
      if (comparison.outcome === "full_match") hits.add(record, 1, "dna", ["dna"]);
      else if (comparison.outcome === "near_match") hits.add(record, 0.9, "dna", ["dna_near_match"]);
    }
  }

  #matchFace(query: PersonQuery, hits: Hits): void {
    const face = query.face;
    if (face === undefined || face.embedding.length === 0) return;
    let template: FaceTemplate;
    try {
      template = parseFaceTemplate({ model: face.model, vector: face.embedding }, "face", this.#store.faceModels);
    } catch (error) {
      // The parser speaks of records (INVALID_RECORD); here the query is what is wrong, so it is refused.
      if (error instanceof WatchmeshError) throw new WatchmeshError(ErrorCode.InvalidArgument, error.message, { cause: error, context: error.context });
      throw error;
    }
    // Face neighbours come from the face index, not from #candidates: the one other place records are read.
    const today = this.#today();
    for (const { id, similarity } of this.#store.faceSearch(template, FACE_SEARCH_K)) {
      const record = this.#store.get(id);
      if (record?.kind === "person" && !isExpired(record, today)) hits.add(record, similarity, "face", ["face"]);
    }
  }

  #matchNames(query: PersonQuery, hits: Hits, { generation, keyFilter }: QueryReads): void {
    const names = query.names.filter((name) => name.trim() !== "");
    if (names.length === 0) return;
    // Weak date agreement (±1 year on year-only data, day and month swapped) falls short of a hit even
    // with a perfect name, unless a qualifier agrees too: without one, its keys are not read.
    const weakDates = WEAK_DATE_CAN_HIT_ALONE || query.nationality.length > 0 || query.sex !== "";
    const dob = queryDob(query.dob, { weakDates });
    // Keys the filter rules out are dropped as they are made: most of an unknown traveller's.
    const mayHold = keyFilter && ((key: string) => !ruledOut(keyFilter, key));
    // Each name's terms are worked out once: its keys and its near terms are both made of them.
    const termsOfNames = names.map((name) => nameTerms(name, { runs: true }));
    const groupsOfNames = termsOfNames.map(codeGroupsOf);
    const keys = queryNameKeysOfGroups(groupsOfNames, dob, mayHold);
    // Date-free keys are read only when they hold few records: a rare name, or records without a dob.
    const undatedCounts = this.#countsOf(keys.undated, generation);
    const rareUndated = keys.undated.filter((key) => (undatedCounts.get(key) ?? 0) <= RARE_KEY_MAX_RECORDS);
    const nationalities = new Set(query.nationality.map((code) => code.toUpperCase()));
    // Two passes: token pairs first (both tokens agree, so few candidates); the typo pass only when the
    // pairs found nobody (#typoPassKeys) — it is what finds a name with a typing error in one token.
    // Year-only records are read by the pairs of stored terms near the query's (`pyt:` keys; their
    // code pairs would bring every namesake born that year), in the pass that would read their codes.
    // Without a date of birth there are no `pyt:` keys to read, and no near pairs needed.
    let nearPairs: (NearPairs | undefined)[] | undefined;
    const nearPairsOfNames = () => {
      const vocabulary = this.#vocabularyAt(generation);
      return (nearPairs ??= names.map((name, index) => {
        const near = nearTermsOf(vocabulary, name, termsOfNames[index]!, groupsOfNames[index]!);
        return near && nearPairsOf(near);
      }));
    };
    const termPairs = dob ? nearPairsOfNames().flatMap((pairs) => pairs?.ownTermPairs ?? []) : [];
    const paired = [...keys.dated.filter((key) => key.startsWith("p")), ...queryTermPairKeys(termPairs, dob, mayHold)];
    const seen = new Set<string>();
    const today = this.#today();
    // The query's names are analysed once; each candidate's names are compared against that.
    const asked: NameQuery = {
      query,
      names: names.map((name) => analyseName(name)),
      dob: parseDob(query.dob),
      nationalities,
      undatedCounts,
    };
    let found = false;
    for (const record of this.#candidates([...paired, ...rareUndated], { keyFilter, knownCounts: undatedCounts, seen, today })) {
      found = this.#considerByName(asked, record, hits) || found;
    }
    if (found || !this.#typoPass) return;
    // A name of one term has single-token keys (the dated keys that are not pair keys) instead of pairs.
    const singleTokenKeys = keys.dated.filter((key) => !key.startsWith("p"));
    const typoKeys = this.#typoPassKeys(nearPairsOfNames(), singleTokenKeys, dob, mayHold, new Set(paired));
    for (const record of this.#candidates(typoKeys, { keyFilter, knownCounts: undatedCounts, seen, today })) {
      this.#considerByName(asked, record, hits);
    }
  }

  /**
   * The keys of the typo pass, which looks for a name with one token mistyped or written in another
   * script. For a name of several terms: the keys of its typo pairs (NearPairs) that the first pass did
   * not read (`read`). For a name of one term: its single-token keys (`singleTokenKeys`, made with the
   * query's other keys).
   */
  #typoPassKeys(
    nearPairs: readonly (NearPairs | undefined)[],
    singleTokenKeys: readonly string[],
    dob: QueryDob | undefined,
    mayHold: KeyCheck | undefined,
    read: ReadonlySet<string>,
  ): string[] {
    const keys = new Set<string>();
    for (const pairs of nearPairs) {
      if (pairs === undefined) continue;
      for (const key of queryPairKeys(pairs.typo.codePairs, dob, mayHold)) if (!read.has(key)) keys.add(key);
      for (const key of queryTermPairKeys(pairs.typo.termPairs, dob, mayHold)) if (!read.has(key)) keys.add(key);
    }
    for (const key of singleTokenKeys) keys.add(key);
    return [...keys];
  }

  /** The vocabulary with what the store's generations up to `generation` (read just before) added. */
  #vocabularyAt(generation: number): NameVocabulary {
    if (generation !== this.#vocabularyGeneration) {
      // Read after the generation: terms of a newer one may come too, and come again next time (no harm).
      for (const term of this.#store.nameTermsSince(this.#vocabularyGeneration)) this.#vocabulary.addTermKey(term);
      this.#vocabularyGeneration = generation;
    }
    return this.#vocabulary;
  }

  /**
   * How many records each key holds. Counts are remembered until the store changes (its generation,
   * read in the same snapshot as the counts, moves with every write, whichever process makes it): the
   * date-free keys of common name tokens recur across queries, and each count is a cursor read. The
   * keys come through the key filter already (queryNameKeysOfGroups).
   */
  #countsOf(keys: readonly string[], generation: number): Map<string, number> {
    if (generation !== this.#countsGeneration) {
      this.#keyCounts = new BoundedCache<string, number>(KEY_COUNT_CACHE_SIZE);
      this.#countsGeneration = generation;
    }
    const count = (key: string) => this.#keyCounts.getOrCompute(key, (uncounted) => this.#store.keyCount(uncounted));
    return new Map(keys.map((key) => [key, count(key)] as const));
  }

  /** Today's UTC day (utcDayOf), worked out again only once the clock has left the day it was worked out for. */
  #today(): string {
    const nowMs = this.#now();
    const day = Math.floor(nowMs / DAY_MS);
    if (day !== this.#day.number) this.#day = { number: day, text: utcDayOf(nowMs) };
    return this.#day.text;
  }

  /** The store's generation, read once per query (what the caches are valid for), and the key filter for it. */
  #queryReads(): QueryReads {
    const generation = this.#store.generation();
    return { generation, keyFilter: this.#keyFilterAt(generation) };
  }

  /**
   * The filter of the store's index keys, when one was read at `generation`; otherwise undefined (the
   * store is read as before) and a build starts in the background, unless one is running or (without
   * `buildNow`) waiting.
   */
  #keyFilterAt(generation: number, options: { buildNow?: boolean } = {}): KeyFilter | undefined {
    if (!this.#useKeyFilter) return undefined;
    if (this.#keyFilter?.generation === generation) return this.#keyFilter.filter;
    if (this.#keyFilterBuild === undefined && (options.buildNow || performance.now() >= this.#nextKeyFilterBuildMs)) this.#buildKeyFilter();
    return undefined;
  }

  /**
   * Reads every index key into a new filter, a slice at a time between queries (about 4 s for the seven
   * million keys of a million persons). A store that keeps changing is filtered again at most after
   * nine times the last build's duration has passed, so that builds take at most a tenth of the time.
   */
  #buildKeyFilter(): void {
    const startedMs = performance.now();
    const filter = new KeyFilter(this.#store.indexEntryCount());
    this.#keyFilterBuild = this.#store
      .scanIndexKeys((key) => filter.add(key))
      .then(({ generation }) => {
        this.#keyFilter = { generation, filter };
      })
      .catch(() => {
        // The store was closed (or could not be read): queries go on reading it without a filter.
      })
      .finally(() => {
        this.#keyFilterBuild = undefined;
        this.#nextKeyFilterBuildMs = performance.now() + 9 * (performance.now() - startedMs);
      });
  }

  /** Weighs one candidate found by name; true when it is a hit. */
  #considerByName({ query, names, dob: queryDob, nationalities, undatedCounts }: NameQuery, record: NativeRecord, hits: Hits): boolean {
    if (record.kind !== "person") return false;
    if (query.sex && record.sex && query.sex !== "X" && record.sex !== "X" && query.sex !== record.sex) return false;
    const dob = compareParsedDob(queryDob, parseDob(record.dob));
    if (dob === "disjoint") return false;
    const comparison = compareAnalysed(names, record.names.map((name) => analyseName(name)));
    if (comparison.score < NAME_MATCH_THRESHOLD) return false;
    const features = ["name"];
    let score: number;
    if (dob === "missing") {
      if (!this.#isRareFullName(names, record, comparison, undatedCounts)) return false;
      score = RARE_NAME_SCORE;
      features.push("rare_name");
    } else {
      score = NAME_WEIGHT * comparison.score + DOB_WEIGHT[dob];
      features.push(dob === "exact" ? "dob" : dob === "compatible" ? "dob_partial" : "dob_weak");
    }
    const recordNationalities = record.nationality ?? [];
    if (nationalities.size > 0 && recordNationalities.length > 0) {
      if (recordNationalities.some((code) => nationalities.has(code))) {
        score += 0.03;
        features.push("nationality");
      } else {
        score -= 0.08;
      }
    }
    if (query.sex && record.sex && query.sex === record.sex) {
      score += 0.02;
      features.push("sex");
    }
    if (score < PERSON_HIT_THRESHOLD) return false;
    hits.add(record, score, "person", features);
    return true;
  }

  /**
   * A name stands without a date of birth only when every query token matched, at least two of its
   * tokens are not globally common name tokens, and the node itself holds few records under its rarest
   * key.
   */
  #isRareFullName(
    names: readonly AnalysedName[],
    record: PersonRecord,
    comparison: { matchedQueryTokens: number; queryTokens: number },
    counts: ReadonlyMap<string, number>,
  ): boolean {
    if (comparison.matchedQueryTokens < comparison.queryTokens || comparison.queryTokens < 2) return false;
    const latinTokens = names.flatMap((name) => name.tokens.filter((token) => token.weight >= 1).map((token) => token.latin[0] ?? token.text));
    if (latinTokens.filter((token) => !isCommonNameToken(token)).length < 2) return false;
    const recordKeys = new Set(recordNameKeys(record.names, undefined));
    const shared = [...counts.entries()].filter(([key]) => recordKeys.has(key)).map(([, count]) => count);
    return shared.length > 0 && Math.min(...shared) <= RARE_NAME_MAX_RECORDS;
  }

  /**
   * Distinct records under the given keys, each read once, rarest keys first; keys holding more than
   * `maxRecordsPerKey` records are skipped (they cannot tell anyone apart), and at most `maxCandidates`
   * records are read. Sizes already counted come in `knownCounts`. Expired records are skipped here, so
   * no index lookup can yield one (key counts still include them until the purge: they only decide the
   * reading order and which keys to skip).
   */
  *#candidates(keys: readonly string[], options: CandidateOptions = {}): Generator<NativeRecord> {
    const today = options.today ?? this.#today();
    const seen = options.seen ?? new Set<string>();
    const max = this.#maxRecordsPerKey;
    const lists: string[][] = [];
    for (const key of keys) {
      const known = options.knownCounts?.get(key);
      if (known !== undefined && (known === 0 || known > max)) continue;
      if (ruledOut(options.keyFilter, key)) continue;
      // A key too common to use is skipped after reading one id more than the limit, never all of them;
      // most keys of a query hold nobody, which the store answers with one plain get.
      const ids = known === undefined ? this.#store.lookupUpTo(key, max + 1) : this.#store.lookup(key);
      if (ids.length > 0 && ids.length <= max) lists.push(ids);
    }
    lists.sort((a, b) => a.length - b.length);
    for (const ids of lists) {
      for (const id of ids) {
        if (seen.has(id)) continue;
        if (seen.size >= this.#maxCandidates) return;
        seen.add(id);
        const record = this.#store.get(id);
        if (record !== undefined && !isExpired(record, today)) yield record;
      }
    }
  }
}
