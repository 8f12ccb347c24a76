/**
 * What a node's matcher looks like from the outside, and how its verdicts map to the wire. The engine
 * itself lives in matching/engine.ts.
 */
import { RequestedAction } from "../common/proto.ts";
import type { EntityQuery, PersonQuery } from "../common/proto.ts";
import { MatchingEngine } from "./matching/engine.ts";
import type { RecordAction } from "./record-schema.ts";
import type { RecordStore } from "./store.ts";

export interface MatchCandidateHit {
  /** Internal id: never leaves the node (the match service turns it into an opaque reference). */
  recordId: string;
  score: number;
  category: string;
  action: RecordAction;
  matchedFeatures: string[];
}

/** Who asks: lets the matcher read a national phone number in the requester's numbering plan. */
export interface MatchContext {
  requestingCountry?: string;
}

export interface Matcher {
  /** Throws a WatchmeshError (e.g. INVALID_MRZ, INVALID_ARGUMENT) for a query it cannot search with. */
  matchPerson(q: PersonQuery, context?: MatchContext): MatchCandidateHit[];
  matchEntity(q: EntityQuery, context?: MatchContext): MatchCandidateHit[];
  /**
   * Loads what the matcher keeps in memory before the first query needs it: the store's name
   * vocabulary now, and a filter of the store's index keys in the background (resolves when it is built;
   * queries meanwhile read the store without it).
   */
  warmUp?(): Promise<void>;
}

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

export interface CreateMatcherOptions {
  /** The node's country (ISO alpha-3): region of national phone numbers in records. */
  country?: string;
  /** Clock (ms since the epoch; default Date.now) deciding which records have expired; tests inject one. */
  now?: () => number;
  /** Whether names with a typing error in one token are looked for (default true; see MatchingEngineOptions). */
  typoPass?: boolean;
  /** Whether a filter of the store's index keys spares reading keys that hold nobody (default true; see MatchingEngineOptions). */
  keyFilter?: boolean;
}

/** The matcher a node runs over its store. */
export function createMatcher(store: RecordStore, options: CreateMatcherOptions = {}): Matcher {
  return new MatchingEngine({ store, ...options });
}
