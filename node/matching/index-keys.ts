/**
 * The store's secondary index keys, defined once: the store writes them for records, the matching
 * engine looks queries up under the same functions. Changing any of them changes index keys, so
 * existing stores must be re-imported (the store's format version says so).
 */
import { sha256Hex } from "../../common/signing.ts";
import type { NativeRecord } from "../record-schema.ts";
import { dnaBlockingKeys, parseDnaProfile } from "./dna.ts";
import { documentIndexKeys, documentNumberVariants } from "./documents.ts";
import { normaliseEntity } from "./entities.ts";
import { nameTokenCodeGroups } from "./names/index.ts";
import { nameTerms } from "./names/blocking.ts";
import type { EntityType } from "../record-schema.ts";

/** LMDB keys are at most 511 bytes (lmdb-js default); longer values are indexed by digest. */
const MAX_INDEX_KEY_BYTES = 480;

export function boundedKey(prefix: string, value: string): string | undefined {
  if (value === "") return undefined;
  const key = prefix + value;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: a short key needs no byte count.
  if (key.length * 3 <= MAX_INDEX_KEY_BYTES || Buffer.byteLength(key, "utf8") <= MAX_INDEX_KEY_BYTES) return key;
  return `${prefix}#sha256:${sha256Hex(value)}`;
}

const defined = (key: string | undefined): key is string => key !== undefined;

/** Ends a query key that stands for every index key beginning with the rest of it (a range read). */
export const PREFIX_KEY_MARK = "\u0001";

export function prefixKey(prefix: string): string {
  return prefix + PREFIX_KEY_MARK;
}

/** Whether a key stands for every key that starts with its prefix (see prefixKey). */
export function isPrefixKey(key: string): boolean {
  return key.endsWith(PREFIX_KEY_MARK);
}

/**
 * Name keys combine the coarse per-token codes of the names module (which let spellings and scripts
 * meet) with a second token or the date of birth, so that a key holds few records even at millions of
 * persons:
 *   pd:<codeA>|<codeB>:<date>    two tokens, full date (queries also read their swapped date)
 *   pmo:<codeA>|<codeB>:<YYYY-MM>  two tokens, for records whose dob has month precision only
 *   pyt:<termA>|<termB>:<YYYY>   two terms (see nameTerms), for records whose dob has year precision only
 *   sd:<code>:<YYYY-MM-DD>       one token, full date (queries also read their swapped date)
 *   sm:<code>:<YYYY-MM>          one token, for records whose dob has month precision only
 *   sy:<code>:<YYYY>             one token, for records whose dob has year precision only
 *   p:<codeA>|<codeB>            two tokens, no date: for records or queries without a dob (rare names)
 *   s:<code>                     one token, no date: names of a single token
 *
 * A query whose own date is partial reads, for each year it accepts, the year's range of `pd:` and
 * `pmo:` keys (prefix keys, see prefixKey) and its `pyt:` keys: every record of that pair born that
 * year, at any precision, without a per-year key on every record.
 *
 * Year-only records are keyed by their terms themselves, not their codes: a year and two coarse codes
 * hold dozens of namesakes at a million persons, and a query, whatever its date, reads that year's key of
 * each of its code pairs, so these records were most of what an unknown traveller's query read and
 * compared. A query reads the `pyt:` keys of the stored terms near its own (the name vocabulary's
 * near(), which accepts what the alignment accepts: spellings, typing errors, other scripts) instead.
 */
export interface DobParts {
  year: string;
  month?: string;
  day?: string;
}

function dobParts(dob: string | undefined): DobParts | undefined {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(dob ?? "");
  if (!match?.[1]) return undefined;
  return { year: match[1], ...(match[2] ? { month: match[2] } : {}), ...(match[3] ? { day: match[3] } : {}) };
}

/** The code pairs (see codePair) of a name's code groups (nameTokenCodeGroups), as its pair keys carry them. */
export function codePairs(groups: readonly (readonly string[])[]): string[] {
  const pairs = new Set<string>();
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      // Indexed loops: code groups are frozen arrays (see the near lists in engine.ts).
      const groupI = groups[i]!;
      const groupJ = groups[j]!;
      for (let a = 0; a < groupI.length; a++) for (let b = 0; b < groupJ.length; b++) pairs.add(codePair(groupI[a]!, groupJ[b]!));
    }
  }
  return [...pairs];
}

/** Pairs of a name's terms that stand for different tokens (runs and parts included, see nameTerms). */
function termPairs(name: string): string[] {
  const terms = nameTerms(name, { runs: true });
  const pairs = new Set<string>();
  for (let i = 0; i < terms.length; i++) {
    for (let j = i + 1; j < terms.length; j++) {
      const [a, b] = [terms[i]!, terms[j]!];
      if (!a.slots.some((slot) => b.slots.includes(slot))) pairs.add(termPair(a.token.text, b.token.text));
    }
  }
  return [...pairs];
}

function shiftYear(year: string, by: number): string {
  return String(Number(year) + by).padStart(4, "0");
}

/** A full date and (with `swapped`, when valid) its day/month-swapped reading; empty for partial dates. */
function fullDates(parts: DobParts, options: { swapped: boolean }): string[] {
  if (!parts.month || !parts.day) return [];
  const swapped = options.swapped ? swappedDate(parts) : undefined;
  return [`${parts.year}-${parts.month}-${parts.day}`, ...(swapped ? [swapped] : [])];
}

/** The swapped reading of a full date (1980-05-03 → 1980-03-05), when it is a different valid month. */
function swappedDate(parts: DobParts): string | undefined {
  if (!parts.month || !parts.day || parts.day === parts.month || Number(parts.day) > 12) return undefined;
  return `${parts.year}-${parts.day}-${parts.month}`;
}

/** Index keys of a record's names given its date of birth. */
export function recordNameKeys(names: readonly string[], dob: string | undefined): string[] {
  const keys = new Set<string>();
  const parts = dobParts(dob);
  for (const name of names) {
    const groups = nameTokenCodeGroups(name);
    const codes = [...new Set(groups.flat())];
    const pairs = codePairs(groups);
    for (const pair of pairs) keys.add(`p:${pair}`);
    if (groups.length === 1) for (const code of codes) keys.add(`s:${code}`);
    if (!parts) continue;
    if (parts.day && parts.month) {
      // Only the date as written: a query looks up its own date and its day/month-swapped reading, so
      // a record with swapped day and month is found without a second set of keys.
      const date = `${parts.year}-${parts.month}-${parts.day}`;
      for (const pair of pairs) keys.add(`pd:${pair}:${date}`);
      for (const code of codes) keys.add(`sd:${code}:${date}`);
    } else if (parts.month) {
      for (const pair of pairs) keys.add(`pmo:${pair}:${parts.year}-${parts.month}`);
      for (const code of codes) keys.add(`sm:${code}:${parts.year}-${parts.month}`);
    } else {
      for (const pair of termPairs(name)) keys.add(`pyt:${pair}:${parts.year}`);
      for (const code of codes) keys.add(`sy:${code}:${parts.year}`);
    }
  }
  return [...keys].map((key) => boundedKey("", key)).filter(defined);
}

export interface NameQueryKeys {
  /** Date-bound keys: selective, read first. */
  dated: string[];
  /** Date-free keys: read only when they hold few records (rare names, records without a dob). */
  undated: string[];
}

/**
 * A query's date of birth as its keys use it, parsed once: the years it accepts and its full dates.
 * Year-only data on either side agrees weakly one year off, and a full date weakly with its day/month-
 * swapped reading; the matcher asks for those (`weakDates`) only when a weak agreement could still make
 * a hit (the query has a qualifier to corroborate it).
 */
export interface QueryDob {
  parts: DobParts;
  years: readonly string[];
  /** Its full date (and, with weak dates, the swapped reading); empty for a partial date. */
  dates: readonly string[];
}

export function queryDob(dob: string | undefined, options: { weakDates?: boolean } = {}): QueryDob | undefined {
  const parts = dobParts(dob);
  if (!parts) return undefined;
  const years = options.weakDates ? [shiftYear(parts.year, -1), parts.year, shiftYear(parts.year, 1)] : [parts.year];
  return { parts, years, dates: fullDates(parts, { swapped: options.weakDates === true }) };
}

/**
 * Whether a query key may hold records (the matcher's filter of index keys). Query keys are made
 * through one, so that the many keys it rules out (most of an unknown traveller's) are dropped as soon
 * as they are made instead of being collected, compared and looked up.
 */
export type KeyCheck = (key: string) => boolean;

/** Collects query keys: bounded (boundedKey), each once, and only those the check lets through. */
class QueryKeySet {
  readonly #keys = new Set<string>();
  readonly #mayHold: KeyCheck | undefined;

  constructor(mayHold: KeyCheck | undefined) {
    this.#mayHold = mayHold;
  }

  add(key: string): void {
    const bounded = boundedKey("", key);
    if (bounded !== undefined && (this.#mayHold === undefined || this.#mayHold(bounded))) this.#keys.add(bounded);
  }

  list(): string[] {
    return [...this.#keys];
  }
}

/** Keys under which a query's names may find records (see recordNameKeys for the shapes). */
export function queryNameKeys(names: readonly string[], dob: string | undefined, options: { weakDates?: boolean } = {}): NameQueryKeys {
  return queryNameKeysOfGroups(names.map(nameTokenCodeGroups), queryDob(dob, options));
}

/** queryNameKeys for names given by their code groups (nameTokenCodeGroups), those `mayHold` lets through. */
export function queryNameKeysOfGroups(
  groupsOfNames: readonly (readonly (readonly string[])[])[],
  dob: QueryDob | undefined,
  mayHold?: KeyCheck,
): NameQueryKeys {
  const dated = new QueryKeySet(mayHold);
  const undated = new QueryKeySet(mayHold);
  for (const groups of groupsOfNames) {
    const codes = [...new Set(groups.flat())];
    const pairs = codePairs(groups);
    for (const pair of pairs) undated.add(`p:${pair}`);
    for (const code of codes) undated.add(`s:${code}`);
    if (!dob) continue;
    addDatedPairKeys(dated, pairs, dob);
    // A name of several tokens finds records through its token pairs (and year-only ones through the
    // `pyt:` keys of its terms, queryTermPairKeys): one token and a date would bring every namesake of
    // one of its tokens, so its single-token keys are not made.
    if (groups.length >= 2) continue;
    const { parts, years, dates } = dob;
    for (const code of codes) {
      for (const year of years) dated.add(`sy:${code}:${year}`);
      if (parts.month) dated.add(`sm:${code}:${parts.year}-${parts.month}`);
      for (const date of dates) dated.add(`sd:${code}:${date}`);
    }
  }
  return { dated: dated.list(), undated: undated.list() };
}

/** The date-bound keys of code pairs (`<codeA>|<codeB>`, in order) under which a query's date may find records. */
function addDatedPairKeys(dated: QueryKeySet, pairs: readonly string[], { parts, years, dates }: QueryDob): void {
  if (dates.length > 0) {
    // A full date meets full dates exactly (or swapped), and partial dates at their own precision.
    for (const pair of pairs) {
      for (const date of dates) dated.add(`pd:${pair}:${date}`);
      dated.add(`pmo:${pair}:${parts.year}-${parts.month}`);
    }
  } else {
    for (const pair of pairs) {
      for (const year of years) {
        dated.add(prefixKey(`pd:${pair}:${year}-`));
        dated.add(prefixKey(`pmo:${pair}:${year}-`));
      }
    }
  }
}

/** A pair of codes as pair keys write it (the two in order). */
export function codePair(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** A pair of terms (their texts) as `pyt:` keys write it (the two in order). */
export function termPair(a: string, b: string): string {
  return codePair(a, b);
}

/**
 * The `pyt:` keys of the given term pairs for a query's date of birth (those `mayHold` lets through):
 * the year-only records holding both terms, born in a year the query accepts; none without a date.
 */
export function queryTermPairKeys(pairs: readonly string[], dob: QueryDob | undefined, mayHold?: KeyCheck): string[] {
  if (!dob) return [];
  const keys = new QueryKeySet(mayHold);
  for (const pair of pairs) for (const year of dob.years) keys.add(`pyt:${pair}:${year}`);
  return keys.list();
}

/**
 * Date-bound keys of the given code pairs (see codePair) for a query's date of birth, as queryNameKeys
 * reads them for the pairs of its own codes (those `mayHold` lets through); none without a date.
 */
export function queryPairKeys(pairs: readonly string[], dob: QueryDob | undefined, mayHold?: KeyCheck): string[] {
  if (!dob) return [];
  const dated = new QueryKeySet(mayHold);
  addDatedPairKeys(dated, pairs, dob);
  return dated.list();
}

/** `doc:<ISSUER>:<reading>` keys of a document with a known issuer. */
export function documentKeys(number: string, issuingCountry: string): string[] {
  return documentIndexKeys(number, issuingCountry).map((key) => boundedKey("doc:", key)).filter(defined);
}

/** `docnum:<number>` keys, for queries that give no issuing state. */
export function documentNumberKeys(number: string): string[] {
  return documentNumberVariants(number).map((variant) => boundedKey("docnum:", variant)).filter(defined);
}

/** `ent:<type>:<key>` keys of an entity value (throws for invalid identifiers). */
export function entityKeys(type: EntityType, value: string, options: Parameters<typeof normaliseEntity>[2] = {}): string[] {
  return normaliseEntity(type, value, options).keys.map((key) => boundedKey(`ent:${type}:`, key)).filter(defined);
}

export function dnaKeys(profile: Parameters<typeof dnaBlockingKeys>[0]): string[] {
  return dnaBlockingKeys(profile).map((key) => boundedKey("dna:", key)).filter(defined);
}

export function referenceKey(reference: string): string | undefined {
  return boundedKey("ref:", reference);
}

/**
 * `exp:<YYYY-MM-DD>` keys: a record with a review/expiry date is indexed under it, so that the purge
 * reads the expired records as one key range (every `exp:` key below today's) instead of scanning all
 * records. Never a query key: matching filters expired candidates by their record instead.
 */
export const EXPIRY_KEY_PREFIX = "exp:";

export function expiryKey(expiresAt: string): string {
  return EXPIRY_KEY_PREFIX + expiresAt;
}

/** Every index key of a record, without duplicates. */
export function recordIndexKeys(record: NativeRecord, reference: string, options: { defaultRegion?: string } = {}): string[] {
  const keys = new Set<string>();
  if (record.kind === "person") {
    for (const key of recordNameKeys(record.names, record.dob)) keys.add(key);
    for (const document of record.documents ?? []) {
      for (const key of documentKeys(document.number, document.country)) keys.add(key);
      for (const key of documentNumberKeys(document.number)) keys.add(key);
    }
    if (record.dna !== undefined) for (const key of dnaKeys(parseDnaProfile(record.dna))) keys.add(key);
  } else {
    for (const key of entityKeys(record.type, record.value, options)) keys.add(key);
  }
  if (record.expiresAt !== undefined) keys.add(expiryKey(record.expiresAt));
  const ref = referenceKey(reference);
  if (ref !== undefined) keys.add(ref);
  return [...keys];
}
