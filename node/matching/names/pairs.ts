/**
 * Cross-script name-pair files (`latin<TAB>c h a r s<TAB>count`, the format of shared/data/translit)
 * and the deterministic pieces built on them: parsing, the hash-based development split and the choice
 * of hard negatives.
 */
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { seededRandom } from "../../../common/seeded-random.ts";
import { foldLatin } from "./script.ts";

export interface NamePair {
  /** Latin token as written in the file (lower case, may carry accents). */
  latin: string;
  /** Foreign token with the file's separating spaces removed. */
  foreign: string;
  count: number;
  /** 1-based line number in the file. */
  line: number;
}

/** Parses a pair file; blank lines are skipped, any other malformed line is an InvalidArgument error. */
export function parseNamePairs(text: string): NamePair[] {
  const pairs: NamePair[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    if (raw.trim() === "") continue;
    const fields = raw.split("\t");
    const latin = fields[0]?.trim() ?? "";
    const foreign = (fields[1] ?? "").replace(/\s+/gu, "");
    const countText = fields[2]?.trim();
    const count = countText === undefined || countText === "" ? 1 : Number(countText);
    if (fields.length < 2 || fields.length > 3 || latin === "" || foreign === "" || !Number.isInteger(count) || count < 1) {
      throw new WatchmeshError(
        ErrorCode.InvalidArgument,
        `name pairs line ${i + 1}: expected "latin<TAB>foreign characters[<TAB>count]"`,
        { context: { line: i + 1 } },
      );
    }
    pairs.push({ latin, foreign, count, line: i + 1 });
  }
  return pairs;
}

/** 32-bit FNV-1a: stable across runs and platforms. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * fnv1a of `s` without its UTF-16 code units at `skipA` and `skipB` (-1: none), computed without making
 * that string (the vocabulary hashes every deletion neighbour of the tokens it indexes and searches).
 */
export function fnv1aSkipping(s: string, skipA: number, skipB: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    if (i === skipA || i === skipB) continue;
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The development split used to build and measure the tables: a pair is held out when its hash ends in 0 (10%). */
export function isHeldOut(pair: Pick<NamePair, "latin" | "foreign">): boolean {
  return fnv1a(`${pair.latin}\t${pair.foreign}`) % 10 === 0;
}


/**
 * For each pair, a hard negative: a different Latin token of the same file with the same first letter
 * and a length within ±1 (compared on folded forms), picked with the seeded generator; undefined when
 * none exists.
 */
export function pickHardNegatives(pairs: readonly NamePair[], seed: number): Array<string | undefined> {
  const buckets = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const p of pairs) {
    const folded = foldLatin(p.latin);
    if (folded === "" || seen.has(folded)) continue;
    seen.add(folded);
    const key = `${folded[0]}:${folded.length}`;
    const list = buckets.get(key);
    if (list === undefined) buckets.set(key, [folded]);
    else list.push(folded);
  }
  const random = seededRandom(seed);
  return pairs.map((p) => {
    const folded = foldLatin(p.latin);
    if (folded === "") return undefined;
    const pools = [-1, 0, 1].map((d) => buckets.get(`${folded[0]}:${folded.length + d}`) ?? []);
    const total = pools.reduce((n, pool) => n + pool.length, 0);
    const at = (i: number): string | undefined => {
      for (const pool of pools) {
        if (i < pool.length) return pool[i];
        i -= pool.length;
      }
      return undefined;
    };
    if (total === 0 || (total === 1 && at(0) === folded)) return undefined;
    // The three pools read as one list; landing on the pair's own token moves to the next one.
    const index = Math.floor(random() * total);
    const pick = at(index);
    return pick === folded ? at((index + 1) % total) : pick;
  });
}
