/**
 * Script detection, Latin folding and the "units" a foreign-script token is cut into before the learned
 * transliteration model reads it. The table generator and the runtime share these functions, so a unit
 * seen in training is spelled the same way at query time.
 */
import { pinyin } from "pinyin-pro";
import { toKatakana } from "wanakana";

/** Scripts with a learned transliteration model, plus the fallbacks. */
export const ModelScript = {
  Arabic: "arabic",
  Hebrew: "hebrew",
  Cyrillic: "cyrillic",
  Han: "han",
  Kana: "kana",
  Hangul: "hangul",
} as const;
export type ModelScript = (typeof ModelScript)[keyof typeof ModelScript];

/** `latin` tokens compare directly; `other` scripts (Greek, Devanagari, ...) go through any-ascii. */
export type TokenScript = ModelScript | "latin" | "other";

const HAN = /\p{Script=Han}/u;
const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}\u30FC]/u;
const HANGUL = /\p{Script=Hangul}/u;
const ARABIC = /\p{Script=Arabic}/u;
const HEBREW = /\p{Script=Hebrew}/u;
const CYRILLIC = /\p{Script=Cyrillic}/u;
const LATIN_ONLY = /^[\p{Script=Latin}\p{M}\p{N}'’]*$/u;

/** The script a (single) token is written in; kana wins over Han so Japanese names with kanji stay Japanese. */
export function detectScript(token: string): TokenScript {
  if (KANA.test(token)) return ModelScript.Kana;
  if (HANGUL.test(token)) return ModelScript.Hangul;
  if (HAN.test(token)) return ModelScript.Han;
  if (ARABIC.test(token)) return ModelScript.Arabic;
  if (HEBREW.test(token)) return ModelScript.Hebrew;
  if (CYRILLIC.test(token)) return ModelScript.Cyrillic;
  if (LATIN_ONLY.test(token)) return "latin";
  return "other";
}

/** Latin letters that Unicode decomposition leaves alone but that people routinely spell out. */
const LATIN_FOLDS: Readonly<Record<string, string>> = {
  ß: "ss",
  æ: "ae",
  œ: "oe",
  ø: "o",
  đ: "d",
  ð: "d",
  þ: "th",
  ł: "l",
  ı: "i",
  ħ: "h",
  ŋ: "n",
  ſ: "s",
  ĸ: "k",
};
const LATIN_FOLD_PATTERN = new RegExp(`[${Object.keys(LATIN_FOLDS).join("")}]`, "gu");

/** "Müller" → "muller", "Straße" → "strasse", "O'Brien" → "obrien": lowercase a–z only. */
export function foldLatin(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(LATIN_FOLD_PATTERN, (c) => LATIN_FOLDS[c] ?? c)
    .replace(/[^a-z]+/g, "");
}

const ARABIC_FOLDS: Readonly<Record<string, string>> = {
  ی: "ي",
  ى: "ي",
  ک: "ك",
  ہ: "ه",
  ھ: "ه",
  ڤ: "ف",
  گ: "ج",
  چ: "ش",
  پ: "ب",
  ڨ: "ق",
};

const HEBREW_GERESH = /['’׳`]/gu;

/**
 * Cuts a foreign-script token into model units: Han characters become their pinyin syllables (so
 * traditional and simplified forms, and characters unseen in training, meet), Hangul syllables their
 * jamo, hiragana is read as katakana, the other scripts stay letter by letter after dropping the
 * marks their writers routinely omit (Arabic harakat and tatweel, Hebrew niqqud).
 */
export function toUnits(token: string, script: ModelScript): string[] {
  const s = token.normalize("NFKC");
  switch (script) {
    case ModelScript.Han: {
      const chars = [...s].filter((c) => HAN.test(c));
      if (chars.length === 0) return [];
      return pinyin(chars.join(""), { toneType: "none", type: "array", surname: "head", v: true }).map((p) =>
        p.toLowerCase(),
      );
    }
    case ModelScript.Hangul:
      return [...s.normalize("NFD")].filter((c) => /[\u1100-\u11FF]/u.test(c));
    case ModelScript.Kana:
      return [...toKatakana(s, { passRomaji: true })].filter((c) => KANA.test(c) || HAN.test(c));
    case ModelScript.Arabic:
      return [
        ...s
          .replace(/[\u064B-\u065F\u0670\u0640\u200C-\u200F]/gu, "")
          .replace(/[أإآٱ]/gu, "ا")
          .replace(/[ؤ]/gu, "و")
          .replace(/[ئ]/gu, "ي"),
      ]
        .map((c) => ARABIC_FOLDS[c] ?? c)
        .filter((c) => ARABIC.test(c) && c !== "،");
    case ModelScript.Hebrew:
      return [...s.replace(/[\u0591-\u05C7\u200C-\u200F]/gu, "").replace(HEBREW_GERESH, "׳")].filter(
        (c) => /[\u05D0-\u05EA׳]/u.test(c) || c === "װ",
      );
    case ModelScript.Cyrillic:
      return cyrillicUnits(s.toLowerCase().replace(/\p{M}+/gu, ""));
  }
}

/**
 * Cyrillic letters as units, with Ukrainian and Belarusian spellings read in Russian terms (the model
 * learned from Russian-Latin pairs): і → и, ї → йи, є → е, ґ → г, ў → в; in a token that has any of
 * і/ї/є/ґ the Ukrainian и (a "y" sound) reads as ы.
 */
function cyrillicUnits(s: string): string[] {
  const ukrainian = /[іїєґ]/u.test(s);
  const out: string[] = [];
  for (const c of s) {
    if (!/\p{Script=Cyrillic}/u.test(c)) continue;
    if (ukrainian && c === "и") out.push("ы");
    else if (c === "і") out.push("и");
    else if (c === "ї") out.push("й", "и");
    else if (c === "є") out.push("е");
    else if (c === "ґ") out.push("г");
    else if (c === "ў") out.push("в");
    else if (c === "ј") out.push("й");
    else out.push(c);
  }
  return out;
}
