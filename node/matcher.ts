/**
 * First matcher: exact lookups of normalised keys in the store's index, then a check of each candidate.
 * The matching-engine issue replaces `SimpleMatcher` behind the same `Matcher` interface.
 *
 * Rules:
 *   travel document  number equal (normalised) and issuing country equal when the query gives one → 1.0
 *   person           a name key equal AND both dates of birth present and compatible → 0.9,
 *                    +0.05 when a nationality is shared. A name alone is never a hit.
 *   entity           type and normalised value equal → 1.0
 * Hits are merged per record (best score, union of features), sorted by score, capped.
 */
import { MAX_HITS_PER_ANSWER } from "../common/limits.ts";
import { RequestedAction, type EntityQuery, type PersonQuery } from "../common/proto.ts";
import { dobCompatible, normaliseCountry, normaliseDocumentNumber, normaliseEntityValue } from "./normalise.ts";
import { DEFAULT_RECORD_ACTION, type NativeRecord, type PersonRecord, type RecordAction } from "./record-schema.ts";
import { documentIndexKey, documentNumberIndexKey, entityIndexKey, nameIndexKeys, type RecordStore } from "./store.ts";

export interface MatchCandidateHit {
  /** Internal id: never leaves the node (the match service turns it into an opaque reference). */
  recordId: string;
  score: number;
  category: string;
  action: RecordAction;
  matchedFeatures: string[];
}

export interface Matcher {
  matchPerson(q: PersonQuery): MatchCandidateHit[];
  matchEntity(q: EntityQuery): MatchCandidateHit[];
}

export const MATCH_SCORES = {
  travelDocument: 1.0,
  nameAndDob: 0.9,
  /** Name and date of birth plus a shared nationality (0.9 + 0.05, written out to avoid 0.9500000000000001). */
  nameDobAndNationality: 0.95,
  entity: 1.0,
} as const;

const ACTIONS: Readonly<Record<RecordAction, RequestedAction>> = {
  discreet_check: RequestedAction.DiscreetCheck,
  specific_check: RequestedAction.SpecificCheck,
  arrest: RequestedAction.Arrest,
  inform_owner: RequestedAction.InformOwner,
};

/** The wire enum value of a record's requested action. */
export function toRequestedAction(action: RecordAction): RequestedAction {
  return ACTIONS[action];
}

/** Fixed order of features in an answer, whatever order the rules found them in. */
const FEATURE_ORDER = ["document_number", "document_country", "name", "dob", "nationality", "entity_value"];

function sortFeatures(features: Iterable<string>): string[] {
  return [...features].sort((a, b) => FEATURE_ORDER.indexOf(a) - FEATURE_ORDER.indexOf(b));
}

/** Collects hits per record: the best score (and its category) wins, features accumulate. */
class HitCollector {
  readonly #hits = new Map<string, { score: number; category: string; action: RecordAction; features: Set<string> }>();

  add(record: NativeRecord, score: number, category: string, features: readonly string[]): void {
    const existing = this.#hits.get(record.id);
    if (existing === undefined) {
      this.#hits.set(record.id, { score, category, action: record.action ?? DEFAULT_RECORD_ACTION, features: new Set(features) });
      return;
    }
    if (score > existing.score) {
      existing.score = score;
      existing.category = category;
    }
    for (const feature of features) existing.features.add(feature);
  }

  result(): MatchCandidateHit[] {
    return [...this.#hits.entries()]
      .map(([recordId, hit]) => ({
        recordId,
        score: hit.score,
        category: hit.category,
        action: hit.action,
        matchedFeatures: sortFeatures(hit.features),
      }))
      .sort((a, b) => b.score - a.score || (a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0))
      .slice(0, MAX_HITS_PER_ANSWER);
  }
}

export class SimpleMatcher implements Matcher {
  readonly #store: RecordStore;

  constructor(store: RecordStore) {
    this.#store = store;
  }

  matchPerson(q: PersonQuery): MatchCandidateHit[] {
    const hits = new HitCollector();
    this.#matchDocuments(q, hits);
    this.#matchNames(q, hits);
    return hits.result();
  }

  matchEntity(q: EntityQuery): MatchCandidateHit[] {
    const hits = new HitCollector();
    const key = entityIndexKey(q.type, q.value);
    if (key === undefined) return [];
    const wanted = normaliseEntityValue(q.type, q.value);
    for (const record of this.#candidates([key])) {
      // Re-checked on the record: the index may hold a digest for long values.
      if (record.kind === "entity" && record.type === q.type && normaliseEntityValue(record.type, record.value) === wanted) {
        hits.add(record, MATCH_SCORES.entity, `entity:${record.type}`, ["entity_value"]);
      }
    }
    return hits.result();
  }

  #matchDocuments(q: PersonQuery, hits: HitCollector): void {
    for (const document of q.documents) {
      const number = normaliseDocumentNumber(document.number);
      if (number === "") continue;
      const country = normaliseCountry(document.country);
      const key = country === "" ? documentNumberIndexKey(number) : documentIndexKey(country, number);
      if (key === undefined) continue;
      const features = country === "" ? ["document_number"] : ["document_number", "document_country"];
      for (const record of this.#candidates([key])) {
        if (record.kind !== "person") continue;
        const held = (record.documents ?? []).some(
          (d) => normaliseDocumentNumber(d.number) === number && (country === "" || d.country === country),
        );
        if (held) hits.add(record, MATCH_SCORES.travelDocument, "travel_document", features);
      }
    }
  }

  #matchNames(q: PersonQuery, hits: HitCollector): void {
    // A name needs a date of birth to corroborate it; without one there is nothing to look up.
    if (!q.dob) return;
    const keys = [...new Set(q.names.flatMap((name) => nameIndexKeys(name)))];
    if (keys.length === 0) return;
    const nationalities = new Set(q.nationality.map(normaliseCountry));
    for (const record of this.#candidates(keys)) {
      if (record.kind !== "person" || !dobCompatible(q.dob, record.dob)) continue;
      if (!this.#sharesNameKey(record, keys)) continue;
      const sharesNationality = (record.nationality ?? []).some((code) => nationalities.has(code));
      if (sharesNationality) {
        hits.add(record, MATCH_SCORES.nameDobAndNationality, "person", ["name", "dob", "nationality"]);
      } else {
        hits.add(record, MATCH_SCORES.nameAndDob, "person", ["name", "dob"]);
      }
    }
  }

  /** Guards against a stale or digest-collided index entry: the record itself must carry the key. */
  #sharesNameKey(record: PersonRecord, keys: readonly string[]): boolean {
    const wanted = new Set(keys);
    return record.names.some((name) => nameIndexKeys(name).some((key) => wanted.has(key)));
  }

  /** Distinct records behind index keys, each read once. */
  *#candidates(keys: readonly string[]): Generator<NativeRecord> {
    const seen = new Set<string>();
    for (const key of keys) {
      for (const id of this.#store.lookup(key)) {
        if (seen.has(id)) continue;
        seen.add(id);
        const record = this.#store.get(id);
        if (record !== undefined) yield record;
      }
    }
  }
}

/** The matcher a node runs over its store. */
export function createMatcher(store: RecordStore): Matcher {
  return new SimpleMatcher(store);
}
