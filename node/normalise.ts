/**
 * First-version normalisation of names, document numbers and entity values. Both the store's indexes
 * and the matcher go through these functions, so a record and a query meet on the same keys.
 *
 * Deliberately simple: the matching-engine issue replaces this with transliteration and fuzzy keys.
 * Changing any output here changes index keys, so existing stores must be re-imported afterwards.
 */

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

/**
 * Lowercase, accent-free, punctuation-free form of a name: "Jean-Pierre DUPONT" → "jean pierre dupont",
 * "Müller" → "muller", "Straße" → "strasse". Other scripts keep their letters after NFKC + lowercase,
 * except for marks their writers routinely leave out: Greek accents (capitals carry none, as on
 * passports), Russian ё (usually written е) and Arabic short-vowel marks and tatweel.
 */
export function normaliseName(s: string): string {
  const stripped = s
    .normalize("NFKD")
    // Accents are dropped only where they are optional; in Cyrillic a mark can change the letter (й vs и).
    .replace(/([\p{Script=Latin}\p{Script=Greek}])\p{M}+/gu, "$1")
    .normalize("NFKC")
    .toLowerCase();
  return stripped
    .replace(LATIN_FOLD_PATTERN, (c) => LATIN_FOLDS[c] ?? c)
    .replace(/ς/gu, "σ") // Greek final sigma depends on position; fold so splitting cannot change it
    .replace(/ё/gu, "е")
    .replace(/[\u064B-\u065F\u0670\u0640]/gu, "") // Arabic harakat, superscript alef, tatweel
    .replace(/[^\p{L}\p{N}\p{M}]+/gu, " ")
    .trim();
}

/** Order-free key of a name: normalised tokens sorted ("Dupont Jean" and "jean dupont" → "dupont jean"). */
export function nameKey(s: string): string {
  const normalised = normaliseName(s);
  if (normalised === "") return "";
  return normalised.split(" ").sort().join(" ");
}

const UMLAUT_SPELLINGS: Readonly<Record<string, string>> = { ä: "ae", ö: "oe", ü: "ue" };

/**
 * All keys under which a name is indexed and looked up: `nameKey`, plus the German spelling-out of
 * umlauts (ä→ae, ö→oe, ü→ue) when the name has any, so "Müller", "Muller" and "Mueller" all meet.
 */
export function nameKeys(s: string): string[] {
  const primary = nameKey(s);
  if (primary === "") return [];
  const lower = s.normalize("NFC").toLowerCase();
  if (!/[äöü]/u.test(lower)) return [primary];
  const spelledOut = nameKey(lower.replace(/[äöü]/gu, (c) => UMLAUT_SPELLINGS[c] ?? c));
  return spelledOut === primary ? [primary] : [primary, spelledOut];
}

/** "12 ab-345.67" → "12AB34567". */
export function normaliseDocumentNumber(s: string): string {
  return s
    .normalize("NFKC")
    .toUpperCase()
    .replace(/[\s\p{Pd}.]+/gu, "");
}

/** ISO 3166-1 alpha-3 as written in records: trimmed, uppercase. */
export function normaliseCountry(s: string): string {
  return s.trim().toUpperCase();
}

/**
 * Cyrillic capitals used on number plates (RU, UA, BG, …) that look like Latin ones; plates are read
 * by people and cameras in either alphabet, so both must meet on one key.
 */
const PLATE_HOMOGLYPHS: Readonly<Record<string, string>> = {
  А: "A",
  В: "B",
  Е: "E",
  К: "K",
  М: "M",
  Н: "H",
  О: "O",
  Р: "P",
  С: "C",
  Т: "T",
  У: "Y",
  Х: "X",
  І: "I",
};
const PLATE_HOMOGLYPH_PATTERN = new RegExp(`[${Object.keys(PLATE_HOMOGLYPHS).join("")}]`, "gu");

function normalisePhone(value: string): string {
  const trimmed = value.normalize("NFKC").trim();
  const digits = trimmed.replace(/[^0-9]/g, "");
  if (digits === "") return "";
  // "+33 …" and "(+49) …" are international numbers.
  if (/^\(?\+/.test(trimmed)) return `+${digits}`;
  // "00" is the international prefix almost everywhere (ITU-T E.164 recommendation), so "0033…" is "+33…".
  if (digits.startsWith("00") && digits.length > 2) return `+${digits.slice(2)}`;
  return digits;
}

function normaliseVehicle(value: string): string {
  return value
    .normalize("NFKC")
    .toUpperCase()
    .replace(PLATE_HOMOGLYPH_PATTERN, (c) => PLATE_HOMOGLYPHS[c] ?? c)
    .replace(/[^\p{L}\p{N}]+/gu, "");
}

/**
 * Comparable form of an entity value, per type: phone → "+" and digits; email → trimmed lowercase;
 * vehicle → uppercase letters and digits; anything else → `normaliseName`.
 */
export function normaliseEntityValue(type: string, value: string): string {
  switch (type) {
    case "phone":
      return normalisePhone(value);
    case "email":
      return value.trim().toLowerCase();
    case "vehicle":
      return normaliseVehicle(value);
    default:
      return normaliseName(value);
  }
}

const DOB_SHAPE = /^\d{4}(?:-\d{2}(?:-\d{2})?)?$/;

/**
 * True when two dates of birth ("YYYY", "YYYY-MM" or "YYYY-MM-DD") agree at the precision both share:
 * "1980" is compatible with "1980-05-01", "1980-05" is not compatible with "1980-06-12".
 * Missing or malformed dates are never compatible: a missing date cannot corroborate anything.
 */
export function dobCompatible(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !DOB_SHAPE.test(a) || !DOB_SHAPE.test(b)) return false;
  const partsA = a.split("-");
  const partsB = b.split("-");
  const shared = Math.min(partsA.length, partsB.length);
  for (let i = 0; i < shared; i++) {
    if (partsA[i] !== partsB[i]) return false;
  }
  return true;
}
