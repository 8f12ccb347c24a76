/**
 * Turning a name as written into comparable tokens: tokenising (order-free, commas and hyphens are
 * separators), script detection, learned transliteration to Latin, particle and patronymic weights.
 */
import anyAscii from "any-ascii";
import { BoundedCache } from "./bounded-cache.ts";
import { isPatronymic, latinVariant, particleCanonical } from "./latin.ts";
import { detectScript, foldLatin, toUnits, type ModelScript, type TokenScript } from "./script.ts";
import { TRANSLIT_TABLES } from "./tables.ts";
import { decodeUnits } from "./translit-model.ts";

/** One token of a name, JSON-serialisable so analysed record names can be stored with the record. */
export interface AnalysedToken {
  /** The token as written (NFKC, lower case where the script has case). */
  text: string;
  script: TokenScript;
  /** Units the learned model reads (scripts with a model), else empty. */
  units: string[];
  /** Folded Latin forms (a–z): the token itself, or its most likely transliterations, best first. */
  latin: string[];
  /**
   * Generic romanisation (any-ascii: pinyin for Han, Revised Romanisation for Hangul, kana romaji ...),
   * for names romanised by their own country's system rather than as the learned model spells them.
   */
  ascii: string;
  /** Spelling variant (alias-canonical, see latin.ts) of `ascii`: what Latin comparison reads. */
  variant: string;
  /** 1 for a name part; less for particles (al, bin, van ...) and patronymics, which may be left out. */
  weight: number;
}

/** Comparable forms of one name. */
export interface AnalysedName {
  original: string;
  tokens: AnalysedToken[];
}

export const PARTICLE_WEIGHT = 0.2;
export const PATRONYMIC_WEIGHT = 0.3;

/** Transliterations kept per foreign token. */
const DECODED_FORMS = 3;

/** Separators between name parts: spaces, commas, hyphens and dashes, dots, slashes, middle dots. */
const SEPARATORS = /[\s,;:/\\.\-‐‑‒–—_()[\]{}"«»·・•]+/u;

/** Arabic- and Hebrew-script particles written as separate words (bin, bint, ibn, abu, ould, al). */
const FOREIGN_PARTICLES = new Set(["بن", "ابن", "بنت", "ابو", "أبو", "ولد", "ال", "آل", "בן", "בת", "אבו"]);

const CYRILLIC_PATRONYMIC = /.{3}(ович|евич|овна|евна|ична|йович|ійович|івна|ївна)$/u;

/**
 * A name's comparable forms. Shared between callers (cached: a candidate's names are analysed again
 * whenever a query reads it) and frozen, tokens included.
 */
export function analyseName(name: string): AnalysedName {
  return nameCache.getOrCompute(name, analyseNameUncached);
}

/** Analysed names by text: a few hundred bytes each, the tokens themselves shared with the token cache. */
const NAME_CACHE_SIZE = 50_000;
const nameCache = new BoundedCache<string, AnalysedName>(NAME_CACHE_SIZE);

function analyseNameUncached(name: string): AnalysedName {
  const tokens: AnalysedToken[] = [];
  for (const raw of name.normalize("NFKC").split(SEPARATORS)) {
    const token = analyseToken(raw);
    if (token !== undefined) tokens.push(token);
  }
  Object.freeze(tokens);
  return Object.freeze({ original: name, tokens });
}

/**
 * Analysed tokens by raw text: names repeat, and decoding a foreign token costs tens of microseconds.
 * Each generation holds this many tokens (a few hundred bytes each); the tokens of a million-person
 * store's candidates are far more, but the ones that recur stay.
 */
const TOKEN_CACHE_SIZE = 50_000;
const tokenCache = new BoundedCache<string, AnalysedToken | undefined>(TOKEN_CACHE_SIZE);

/**
 * One token's comparable forms. The result is shared between callers (cached) and frozen, arrays
 * included: copy it to change it.
 */
export function analyseToken(raw: string): AnalysedToken | undefined {
  return tokenCache.getOrCompute(raw, (text) => freezeToken(analyseTokenUncached(text)));
}

function freezeToken(token: AnalysedToken | undefined): AnalysedToken | undefined {
  if (token === undefined) return undefined;
  Object.freeze(token.units);
  Object.freeze(token.latin);
  sharedTokenIds.set(token, nextSharedTokenId++);
  return Object.freeze(token);
}

/**
 * A number for each token `analyseToken` hands out (shared and frozen, so it never changes): lets a
 * comparison remember its result by the identity of the two tokens. Tokens made elsewhere (e.g. read
 * back from JSON) have none.
 */
const sharedTokenIds = new WeakMap<AnalysedToken, number>();
let nextSharedTokenId = 0;

export function sharedTokenId(token: AnalysedToken): number | undefined {
  return sharedTokenIds.get(token);
}

function analyseTokenUncached(raw: string): AnalysedToken | undefined {
  const text = raw.toLowerCase().replace(/^['’]+|['’]+$/gu, "");
  if (text === "") return undefined;
  const script = detectScript(text);
  if (script === "latin" || script === "other") {
    const folded = foldLatin(script === "latin" ? text : anyAscii(DEVANAGARI.test(text) ? devanagariWithVowels(text) : text));
    if (folded === "") return undefined;
    return { text, script, units: [], latin: [folded], ascii: folded, variant: latinVariant(folded), weight: latinWeight(folded) };
  }
  const units = toUnits(text, script);
  if (units.length === 0) return undefined;
  const latin = transliterate(units, script);
  const generic = foldLatin(anyAscii(text));
  if (generic !== "" && !latin.includes(generic)) latin.push(generic);
  const weight = FOREIGN_PARTICLES.has(text)
    ? PARTICLE_WEIGHT
    : script === "cyrillic" && CYRILLIC_PATRONYMIC.test(text)
      ? PATRONYMIC_WEIGHT
      : latinWeight(latin[0] ?? "");
  return { text, script, units, latin, ascii: generic, variant: latinVariant(generic), weight };
}

function latinWeight(folded: string): number {
  if (particleCanonical(folded) !== undefined) return PARTICLE_WEIGHT;
  if (isPatronymic(folded)) return PATRONYMIC_WEIGHT;
  return 1;
}

/** Most likely Latin spellings of a unit sequence under the script's learned model. */
export function transliterate(units: readonly string[], script: ModelScript, count = DECODED_FORMS): string[] {
  const model = TRANSLIT_TABLES.scripts[script];
  if (model === undefined) return [];
  return decodeUnits(TRANSLIT_TABLES, model, units, count, Math.max(6, count));
}

const DEVANAGARI = /\p{Script=Devanagari}/u;
const DEVANAGARI_CONSONANT = /[\u0915-\u0939\u0958-\u095F]/u;
/** Virama, vowel signs, nukta and length marks: what follows a consonant that is not its inherent "a". */
const DEVANAGARI_NO_INHERENT = /[\u093C\u093E-\u094D\u0951-\u0957\u0962\u0963]/u;

/**
 * any-ascii writes Devanagari consonants without their inherent vowel (नरेन्द्र → "nrendr"); names are
 * romanised with it ("Narendra"), so a consonant not followed by a vowel sign or virama gets an "a".
 */
function devanagariWithVowels(text: string): string {
  const chars = [...text];
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? "";
    out += c;
    const next = chars[i + 1];
    if (DEVANAGARI_CONSONANT.test(c) && (next === undefined || !DEVANAGARI_NO_INHERENT.test(next))) out += "a";
  }
  return out;
}
