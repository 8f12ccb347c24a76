/**
 * The name tokens a store holds, searchable by similarity: given a query token, the stored tokens an
 * alignment would accept as the same (alignedTokenScore), each with the code its pair keys carry.
 *
 * The matcher's typo pass uses it. When a query's token pairs found nobody, one of its tokens may be
 * mistyped or written in another script, so its code differs from the record's. Reading every record
 * that shares only one code and the date of birth with the query finds those, but also every namesake
 * born that day or month: most of what a query about someone on no list costs. With the vocabulary, the
 * matcher reads only the pair keys of stored tokens that do compare as the same.
 *
 * Stored tokens are found by their spellings' deletion neighbourhoods (symmetric deletion): a spelling
 * and every string made by deleting one letter (two from spellings of 8 letters or more, where an
 * alignment accepts two edits) point to the token. Two spellings within that many edits of each other,
 * a transposition of neighbours included, share a neighbour. A token in another script is found by its
 * transliterations. Each candidate is then compared as the alignment compares tokens, so the vocabulary
 * finds no token the alignment would not accept, and misses only pairs that Jaro-Winkler alone accepts
 * beyond two edits (the alignment's other route for long tokens).
 */
import { analyseToken, type AnalysedToken } from "./analyse.ts";
import { nameTerms } from "./blocking.ts";
import { BoundedCache } from "./bounded-cache.ts";
import { alignedTokenScore } from "./compare.ts";
import { latinVariant } from "./latin.ts";
import { fnv1aSkipping } from "./pairs.ts";

/** A stored token (or one part of a fused Han or Hangul name) and the code of its pair keys. */
export interface VocabularyEntry {
  token: AnalysedToken;
  /**
   * One of its codes: a record holding this token has a pair key for every combination of its tokens'
   * codes, so reading the keys of one code per token finds it.
   */
  code: string;
}

/** A stored token that compares as the same as a query token, with its score. */
export interface NearEntry {
  entry: VocabularyEntry;
  score: number;
}

/**
 * near() results remembered by token text until the vocabulary grows: query names repeat, and one
 * search reads dozens of neighbours and compares the tokens it finds.
 */
const NEAR_CACHE_SIZE = 20_000;

/** Spellings of this many letters or more are indexed with two deletions, shorter ones with one. */
const TWO_EDITS_FROM_LENGTH = 8;

/**
 * A stored term as the store keeps it, `<code>:<text>`: the text is analysed again when the vocabulary
 * is loaded, so the key holds no more than the record's own name does.
 */
export type NameTermKey = string;

/** Terms whose key would not fit an LMDB key are left out (no real name token is this long). */
const MAX_TERM_KEY_LENGTH = 160;

/** The term keys of a record's names: what the store adds to the vocabulary when it writes the record. */
export function nameTermKeys(names: readonly string[]): NameTermKey[] {
  const keys = new Set<NameTermKey>();
  for (const name of names) {
    for (const { token, codes } of nameTerms(name, { runs: true })) {
      const code = codes[0];
      const key = `${code}:${token.text}`;
      if (code !== undefined && key.length <= MAX_TERM_KEY_LENGTH) keys.add(key);
    }
  }
  return [...keys];
}

/** Spellings longer than this get no deletion neighbours (see neighbourhood). */
const MAX_NEIGHBOURED_LENGTH = 40;

/** Shorter skeletons are not indexed: "n" or "k" would lead to every token with that consonant. */
const MIN_SKELETON_LENGTH = 2;

/** Shortest part of a split token (see NameVocabulary.splitParts): "abd", "ali", "jean". */
const MIN_SPLIT_PART = 3;

export class NameVocabulary {
  /** Entries by term key. */
  readonly #entries = new Map<NameTermKey, VocabularyEntry>();
  /**
   * Entries by the hash of a spelling or deletion neighbour, and of a consonant skeleton (see
   * skeletonNeighbourhood): a deletion index holds dozens of strings per term, and keeping their 32-bit
   * hashes instead costs a fraction of the memory. A collision only brings an entry that the search's
   * comparison then turns down.
   */
  readonly #byNeighbour = new Buckets<number>();
  readonly #bySkeleton = new Buckets<number>();
  /** Entries by spelling (their own, not their neighbours'), exact: a split takes what it finds. */
  readonly #bySpelling = new Buckets<string>();
  #nearCache = new BoundedCache<string, readonly NearEntry[]>(NEAR_CACHE_SIZE);

  get size(): number {
    return this.#entries.size;
  }

  /** Adds the terms of a stored name (see nameTermKeys). */
  addName(name: string): void {
    for (const key of nameTermKeys([name])) this.addTermKey(key);
  }

  /** Adds a term by its key (see nameTermKeys); a key already held, or malformed, changes nothing. */
  addTermKey(key: NameTermKey): void {
    if (this.#entries.has(key)) return;
    const colon = key.indexOf(":");
    const token = colon > 0 ? analyseToken(key.slice(colon + 1)) : undefined;
    if (token === undefined) return;
    const entry: VocabularyEntry = { token, code: key.slice(0, colon) };
    this.#entries.set(key, entry);
    for (const bucket of neighbourBuckets(token)) this.#byNeighbour.add(bucket, entry);
    for (const spelling of spellings(token)) this.#bySpelling.add(spelling, entry);
    for (const bucket of skeletonBuckets(token, 0)) this.#bySkeleton.add(bucket, entry);
    // A new term may be near a token searched before.
    if (this.#nearCache.size > 0) this.#nearCache = new BoundedCache<string, readonly NearEntry[]>(NEAR_CACHE_SIZE);
  }

  /** Stored terms an alignment would match with `token` (itself included, when stored). */
  near(token: AnalysedToken): readonly NearEntry[] {
    return this.#nearCache.getOrCompute(token.text, () => Object.freeze(this.#search(token)));
  }

  /**
   * Stored terms that a Latin token written as one splits into ("jeanpierre" → "jean" and "pierre",
   * "abdurrahman" → "abd" and "rahman"), each part spelled exactly as a stored term, at least
   * MIN_SPLIT_PART letters: the alignment merges adjacent record tokens against one query token, and the
   * vocabulary holds tokens, not every run of them.
   */
  splitParts(token: AnalysedToken): readonly NearEntry[] {
    if (token.script !== "latin" && token.script !== "other") return [];
    return this.#nearCache.getOrCompute(`\0split\0${token.text}`, () => Object.freeze(this.#split(token)));
  }

  #split(token: AnalysedToken): NearEntry[] {
    const parts = new Set<VocabularyEntry>();
    for (const spelling of new Set([token.latin[0] ?? "", token.variant])) {
      for (let at = MIN_SPLIT_PART; at + MIN_SPLIT_PART <= spelling.length; at++) {
        const left = this.#bySpelling.get(spelling.slice(0, at));
        const right = left.length === 0 ? left : this.#bySpelling.get(spelling.slice(at));
        if (right.length === 0) continue;
        for (const entry of [...left, ...right]) parts.add(entry);
      }
    }
    return [...parts].map((entry) => ({ entry, score: 1 }));
  }

  #search(token: AnalysedToken): NearEntry[] {
    const found = new Map<VocabularyEntry, number>();
    const consider = (entry: VocabularyEntry): void => {
      if (!found.has(entry)) found.set(entry, alignedTokenScore(token, entry.token) ?? -1);
    };
    for (const bucket of neighbourBuckets(token)) for (const entry of this.#byNeighbour.get(bucket)) consider(entry);
    // Across scripts, by skeleton too: two Latin tokens that share only a skeleton are not alike.
    const modelled = isModelled(token);
    for (const bucket of skeletonBuckets(token, 1)) {
      for (const entry of this.#bySkeleton.get(bucket)) if (modelled || isModelled(entry.token)) consider(entry);
    }
    const near: NearEntry[] = [];
    for (const [entry, score] of found) if (score >= 0) near.push({ entry, score });
    return near;
  }
}

/** Entries under keys: one entry or an array of them per key (most keys lead to one). */
class Buckets<K> {
  readonly #buckets = new Map<K, VocabularyEntry | VocabularyEntry[]>();

  add(key: K, entry: VocabularyEntry): void {
    const held = this.#buckets.get(key);
    if (held === undefined) this.#buckets.set(key, entry);
    else if (Array.isArray(held)) {
      if (!held.includes(entry)) held.push(entry);
    } else if (held !== entry) this.#buckets.set(key, [held, entry]);
  }

  get(key: K): readonly VocabularyEntry[] {
    const held = this.#buckets.get(key);
    return held === undefined ? [] : Array.isArray(held) ? held : [held];
  }
}

/**
 * A token's spellings: its Latin forms and their spelling variants (latin.ts); for a token in another
 * script, its transliterations and theirs ("יוסף" is read "yosef", whose variant "iosef" is one letter
 * from "josef", the variant of "joseph").
 */
function spellings(token: AnalysedToken): Set<string> {
  const out = new Set([...token.latin, token.ascii, token.variant]);
  if (token.units.length > 0) for (const latin of token.latin) out.add(latinVariant(latin));
  out.delete("");
  return out;
}

/** A token in a script the transliteration model reads (it has units). */
function isModelled(token: AnalysedToken): boolean {
  return token.units.length > 0;
}

/**
 * The buckets of the consonant skeletons of a token's spellings, with one letter deleted too
 * (`depth` 1). Transliterations of scripts that write few vowels (Hebrew, Arabic) keep few: "יוסף" is
 * read "iosf", "כהן" "kan" or "chan", while a Latin spelling has them ("joseph", "kohen"); their
 * skeletons ("sf", "jsf"; "kn") meet.
 */
function skeletonBuckets(token: AnalysedToken, depth: number): Set<number> {
  const out = new Set<number>();
  for (const spelling of spellings(token)) {
    if (spelling.length > MAX_NEIGHBOURED_LENGTH) continue;
    const skeleton = latinVariant(spelling).replace(/[aeiouyhw]/g, "").replace(/(.)\1+/g, "$1");
    if (skeleton.length >= MIN_SKELETON_LENGTH) addDeletionBuckets(out, skeleton, depth);
  }
  return out;
}

/**
 * The buckets of the token's spellings and their deletion neighbours. A spelling longer than any name
 * token (a malformed query) is looked up as it is: its neighbours would be hundreds of thousands.
 */
function neighbourBuckets(token: AnalysedToken): Set<number> {
  const out = new Set<number>();
  for (const spelling of spellings(token)) {
    const depth = spelling.length > MAX_NEIGHBOURED_LENGTH ? 0 : spelling.length >= TWO_EDITS_FROM_LENGTH ? 2 : 1;
    addDeletionBuckets(out, spelling, depth);
  }
  return out;
}

/**
 * Adds the buckets (see deletionBucket) of `s` and of every string made by deleting up to `depth` (at
 * most 2) of its UTF-16 code units, never all of them. The strings themselves are never made: a
 * two-deletion neighbourhood of a 16-letter spelling is 137 of them, made for every token searched.
 */
export function addDeletionBuckets(out: Set<number>, s: string, depth: number): void {
  out.add(deletionBucket(s, -1, -1));
  if (depth === 0 || s.length <= 1) return;
  for (let i = 0; i < s.length; i++) {
    out.add(deletionBucket(s, i, -1));
    if (depth === 1 || s.length <= 2) continue;
    for (let j = i + 1; j < s.length; j++) out.add(deletionBucket(s, i, j));
  }
}

/** The bucket of `s` without its code units at `skipA` and `skipB` (-1: none): its FNV-1a hash as a non-negative 31-bit number (a small integer to V8). */
function deletionBucket(s: string, skipA: number, skipB: number): number {
  return fnv1aSkipping(s, skipA, skipB) >>> 1;
}
