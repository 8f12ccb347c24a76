/**
 * Blocking keys: short strings under which the store indexes a record's names and looks a query's up.
 * A key is a coarse consonant code (3 classes) of a token's Latin form, so cross-script and spelling
 * variants meet: every transliteration kept for a foreign token adds its code. Han and Hangul names are
 * usually written without spaces, so their first syllable (the surname) and the rest add keys of their own.
 * Keys hold no more than the node already holds: a few letters of class codes.
 */
import { analyseName, analyseToken, transliterate, type AnalysedName, type AnalysedToken } from "./analyse.ts";
import { BoundedCache } from "./bounded-cache.ts";
import { aliasCanonical, coarseCode } from "./latin.ts";
import { ModelScript } from "./script.ts";

const KEY_PREFIX = "n1:";
/** Transliterations of a foreign token whose codes become keys (distinct codes only). */
const KEY_DECODES = 12;

export function analysedBlockingKeys(name: AnalysedName): string[] {
  const keys = new Set<string>();
  const strong = name.tokens.filter((t) => t.weight >= 1);
  for (const token of strong.length > 0 ? strong : name.tokens) for (const key of tokenKeys(token)) keys.add(key);
  return [...keys].sort();
}

/** Keys by token text: decoding a dozen transliterations costs tens of microseconds, and names repeat. */
const KEY_CACHE_SIZE = 50_000;
const keyCache = new BoundedCache<string, readonly string[]>(KEY_CACHE_SIZE);

function tokenKeys(token: AnalysedToken): readonly string[] {
  return keyCache.getOrCompute(token.text, () => Object.freeze(computeTokenKeys(token)));
}

function computeTokenKeys(token: AnalysedToken): string[] {
  const keys = new Set<string>();
  const forms = token.units.length > 0 ? transliterate(token.units, token.script as ModelScript, KEY_DECODES) : token.latin;
  for (const latin of forms) addKey(keys, latin);
  if (token.ascii !== "") addKey(keys, token.ascii);
  if (isFused(token)) {
    // Surname and given name: one Han character (pinyin syllable) or one Hangul syllable's jamo.
    const split = token.script === ModelScript.Han ? 1 : hangulFirstSyllableLength(token.units);
    for (const part of [token.units.slice(0, split), token.units.slice(split)]) {
      if (part.length > 0) for (const latin of transliterate(part, token.script, 4)) addKey(keys, latin);
    }
  }
  return [...keys];
}

function deepFreeze(groups: string[][]): readonly (readonly string[])[] {
  for (const group of groups) Object.freeze(group);
  return Object.freeze(groups);
}

function addKey(keys: Set<string>, latin: string): void {
  const canonical = aliasCanonical(latin) ?? latin;
  const code = coarseCode(canonical);
  keys.add(KEY_PREFIX + (code === "" ? canonical.slice(0, 2) : code));
}

/** Jamo count of the first Hangul syllable: an initial consonant (U+1100–1112), a vowel, maybe a final. */
function hangulFirstSyllableLength(units: readonly string[]): number {
  let n = 0;
  if (units[0] !== undefined && units[0] >= "\u1100" && units[0] <= "\u1112") n++;
  n++; // the vowel
  const next = units[n];
  if (next !== undefined && next >= "\u11A8" && next <= "\u11C2") n++;
  return n;
}

/**
 * Blocking codes of one name grouped by token (strong tokens only, when it has any): each group holds the
 * codes one token may take. The store combines them into compound keys (token pairs, token + date of
 * birth), which are far more selective than one token's code.
 */
export function nameTokenCodeGroups(name: string): (readonly string[])[] {
  return nameTerms(name).map((term) => term.codes);
}

/**
 * One term of a name as the store's name keys see it: a token of the name, one part of a fused Han or
 * Hangul name (its surname, its given name), or two adjacent tokens written as one ("bin ali" for
 * "benali"), each with the codes under which a record holding it has name keys.
 */
export interface NameTerm {
  /** A whole token of the name, one part of a fused name, or a run of two tokens. */
  kind: "token" | "part" | "run";
  /** The term analysed as one token. */
  token: AnalysedToken;
  /** The codes it takes in keys: a token's or a part's own group, a run's first strong token's. */
  codes: readonly string[];
  /** Which of the name's tokens (or parts: `<index>a`, `<index>b`) it stands for. */
  slots: readonly string[];
}

/**
 * The terms of a name (see NameTerm): those behind nameTokenCodeGroups, in the same order, then with
 * `runs` the runs of two adjacent tokens that hold one of those and a particle or a short token, which
 * names also write joined (fused names not included; every run of a name's tokens would make a store's
 * vocabulary hold every full name).
 */
export function nameTerms(name: string, options: { runs?: boolean } = {}): NameTerm[] {
  const analysed = analyseName(name);
  const strong = analysed.tokens.filter((t) => t.weight >= 1);
  const keyed = strong.length > 0 ? strong : analysed.tokens;
  const terms: NameTerm[] = [];
  analysed.tokens.forEach((token, index) => {
    if (!keyed.includes(token)) return;
    const groups = tokenCodeGroups(token);
    const parts = groups.length === 2 ? fusedNameParts(token) : undefined;
    groups.forEach((codes, i) => {
      if (groups.length === 1) terms.push({ kind: "token", token, codes, slots: [String(index)] });
      else terms.push({ kind: "part", token: parts?.[i] ?? token, codes, slots: [`${index}${i === 0 ? "a" : "b"}`] });
    });
  });
  if (!options.runs) return terms;
  for (let index = 0; index + 1 < analysed.tokens.length; index++) {
    const pair = [analysed.tokens[index]!, analysed.tokens[index + 1]!];
    if (pair.some((token) => isFused(token)) || !pair.some((token) => isOftenJoined(token))) continue;
    const keyedToken = pair.find((token) => keyed.includes(token));
    const codes = keyedToken === undefined ? undefined : tokenCodeGroups(keyedToken)[0];
    const token = analyseToken(pair[0]!.text + pair[1]!.text);
    if (codes !== undefined && token !== undefined) terms.push({ kind: "run", token, codes, slots: [String(index), String(index + 1)] });
  }
  return terms;
}

/** Particles and tokens of up to 3 letters ("abd", "el", "bin"), which names also write joined to the next. */
function isOftenJoined(token: AnalysedToken): boolean {
  return token.weight < 1 || (token.latin[0] ?? token.text).length <= 3;
}

/** A Han or Hangul name written as one token (surname and given name together). */
function isFused(token: AnalysedToken): token is AnalysedToken & { script: typeof ModelScript.Han | typeof ModelScript.Hangul } {
  return (token.script === ModelScript.Han || token.script === ModelScript.Hangul) && token.units.length >= 2;
}

/** Surname and given name of a fused Han or Hangul token, as tokens of their own (see fusedNameGroups). */
function fusedNameParts(token: AnalysedToken): AnalysedToken[] | undefined {
  const chars = [...token.text];
  if (chars.length < 2) return undefined;
  // Both scripts write a surname as one character (a Hangul syllable holds its jamo).
  const parts = [chars[0]!, chars.slice(1).join("")].map((text) => analyseToken(text));
  return parts.every((part) => part !== undefined) ? parts : undefined;
}

/** One token's code groups (two for a fused Han or Hangul name), by token text. */
const codeGroupCache = new BoundedCache<string, readonly (readonly string[])[]>(KEY_CACHE_SIZE);

function tokenCodeGroups(token: AnalysedToken): readonly (readonly string[])[] {
  return codeGroupCache.getOrCompute(token.text, () => {
    const groups = (fusedNameGroups(token) ?? [tokenKeys(token)])
      .map((group) => group.map((key) => key.slice(KEY_PREFIX.length)))
      .filter((group) => group.length > 0);
    return deepFreeze(groups) ?? [];
  });
}

/**
 * Han and Hangul names are usually written as one token: split it into surname and given name, each a
 * group of its own, so that "单雄信" and "Shan Xiongxin" (or "Xiongxin Shan") share a token pair.
 */
function fusedNameGroups(token: AnalysedToken): string[][] | undefined {
  if (!isFused(token)) return undefined;
  const split = token.script === ModelScript.Han ? 1 : hangulFirstSyllableLength(token.units);
  const groups = [token.units.slice(0, split), token.units.slice(split)]
    .filter((part) => part.length > 0)
    .map((part) => {
      const keys = new Set<string>();
      for (const latin of transliterate(part, token.script, 4)) addKey(keys, latin);
      return [...keys];
    });
  return groups.length === 2 ? groups : undefined;
}

/** Index keys for candidate lookup of one name. */
export function nameBlockingKeys(name: string): string[] {
  return analysedBlockingKeys(analyseName(name));
}
