/**
 * Travel document numbers: normalisation, look-alike-tolerant index keys and comparison.
 *
 * People and OCR confuse O with 0 and I with 1. Folding them everywhere would merge genuinely different
 * numbers, so a number is folded only where its issuer's format says which of the two a position can
 * hold (a digit-only position reads "O" as "0"; a letter-only position reads "0" as "O"; an alphabet
 * without O/I reads them as 0/1). Numbers of unknown issuers, or that fit none of the issuer's formats
 * even after folding, are never folded.
 *
 * Changing `DOCUMENT_NUMBER_FORMATS` changes index keys: re-import stores afterwards.
 */
import { normaliseIcaoStateCode } from "../../common/mrz.ts";

/**
 * Position classes of a format: D digit, L letter, A letter or digit, or a bracketed set of characters
 * (e.g. `[CFGHJK]`) for a restricted alphabet.
 */
interface DocumentNumberFormat {
  /** What the format is, for readers of this table. */
  readonly description: string;
  /** One character class per position. */
  readonly positions: readonly string[];
}

function format(description: string, pattern: string): DocumentNumberFormat {
  const positions: string[] = [];
  for (const match of pattern.matchAll(/\[[^\]]+\]|[DLA]/g)) positions.push(match[0]);
  return { description, positions };
}

/**
 * Characters of German passport and identity card numbers since 2010 (e.g. the specimen "C01X00T47"):
 * digits and C F G H J K L M N P R T V W X Y Z, chosen so that no letter looks like a digit.
 */
const DEU_ALPHABET = "[0123456789CFGHJKLMNPRTVWXYZ]";

/**
 * Known document number formats by issuing state (ISO 3166-1 alpha-3). Only formats we are sure of; an
 * issuer absent here gets no folding. An issuer with several formats folds toward each format the number
 * fits, and keeps every reading as a key.
 */
export const DOCUMENT_NUMBER_FORMATS: Readonly<Record<string, readonly DocumentNumberFormat[]>> = {
  FRA: [
    format("passport: 2 digits, 2 letters, 5 digits (12AB34567)", "DDLLDDDDD"),
    format("identity card before 2021: 12 digits", "DDDDDDDDDDDD"),
  ],
  DEU: [
    format("passport / identity card since 2010: restricted alphabet, 9 characters", DEU_ALPHABET.repeat(9)),
  ],
  USA: [format("passport: 9 digits", "DDDDDDDDD"), format("next-generation passport: letter and 8 digits", "LDDDDDDDD")],
  GBR: [format("passport: 9 digits", "DDDDDDDDD")],
  ITA: [format("passport: 2 letters, 7 digits (YA1234567)", "LLDDDDDDD")],
  CAN: [format("passport: 2 letters, 6 digits (AB123456)", "LLDDDDDD")],
};

const DIGIT_LOOK_ALIKES: Readonly<Record<string, string>> = { O: "0", I: "1" };
const LETTER_LOOK_ALIKES: Readonly<Record<string, string>> = { "0": "O", "1": "I" };

/** ISO alpha-3 as used for the format table: trimmed, upper case, fillers removed, ICAO "D" → "DEU". */
export function normaliseIssuingCountry(country: string | undefined): string {
  return country === undefined ? "" : normaliseIcaoStateCode(country);
}

/** Upper case, without spaces, dashes, dots, slashes or MRZ fillers: " 12 ab-345.67 " → "12AB34567". */
export function normaliseDocumentNumber(number: string, _issuingCountry?: string): string {
  return number
    .normalize("NFKC")
    .toUpperCase()
    .replace(/[\s\p{Pd}.<]+/gu, "");
}

function classAccepts(positionClass: string, c: string): boolean {
  if (positionClass === "D") return c >= "0" && c <= "9";
  if (positionClass === "L") return c >= "A" && c <= "Z";
  if (positionClass === "A") return /^[0-9A-Z]$/.test(c);
  return positionClass.slice(1, -1).includes(c);
}

/** The number read in `format`, folding look-alikes where a position cannot hold them; undefined if it does not fit. */
function foldToFormat(number: string, fmt: DocumentNumberFormat): string | undefined {
  if (number.length !== fmt.positions.length) return undefined;
  let folded = "";
  for (let i = 0; i < number.length; i++) {
    const c = number.charAt(i);
    const positionClass = fmt.positions[i] ?? "";
    if (classAccepts(positionClass, c)) {
      folded += c;
      continue;
    }
    const asDigit = DIGIT_LOOK_ALIKES[c];
    const asLetter = LETTER_LOOK_ALIKES[c];
    if (asDigit !== undefined && classAccepts(positionClass, asDigit)) folded += asDigit;
    else if (asLetter !== undefined && classAccepts(positionClass, asLetter)) folded += asLetter;
    else return undefined;
  }
  return folded;
}

/**
 * Every reading of a number: the normalised number first, then its look-alike foldings into each known
 * format of the issuer that it fits. Without an issuer (or for an unknown one) only the normalised number.
 */
export function documentNumberVariants(number: string, issuingCountry?: string): string[] {
  const normalised = normaliseDocumentNumber(number);
  if (normalised === "") return [];
  const variants = [normalised];
  for (const fmt of DOCUMENT_NUMBER_FORMATS[normaliseIssuingCountry(issuingCountry)] ?? []) {
    const folded = foldToFormat(normalised, fmt);
    if (folded !== undefined && !variants.includes(folded)) variants.push(folded);
  }
  return variants;
}

/**
 * Index keys of a document, `<ISSUER>:<reading>` for each reading in `documentNumberVariants`. A record and
 * a query of the same issuer meet when either was typed with a look-alike error, because both index or
 * look up the folded reading. For lookups without an issuer use `documentNumberVariants` directly (they
 * cannot fold, so they meet on the number as written).
 */
export function documentIndexKeys(number: string, issuingCountry: string): string[] {
  const issuer = normaliseIssuingCountry(issuingCountry);
  return documentNumberVariants(number, issuer).map((v) => `${issuer}:${v}`);
}

export interface DocumentRef {
  readonly number: string;
  /** Issuing state, ISO 3166-1 alpha-3 (ICAO "D" accepted); empty or absent when unknown. */
  readonly country?: string;
}

export type DocumentMatchKind = "exact" | "look_alike" | "none";

/**
 * How two documents compare: "exact" when the normalised numbers are equal, "look_alike" when they are
 * equal only after folding O/0, I/1 per the issuer's format, "none" otherwise or when both issuing states
 * are given and differ. An issuer known on one side only is used for folding both.
 */
export function compareDocuments(a: DocumentRef, b: DocumentRef): DocumentMatchKind {
  const countryA = normaliseIssuingCountry(a.country);
  const countryB = normaliseIssuingCountry(b.country);
  if (countryA !== "" && countryB !== "" && countryA !== countryB) return "none";
  const issuer = countryA !== "" ? countryA : countryB;
  const variantsA = documentNumberVariants(a.number, issuer);
  const variantsB = documentNumberVariants(b.number, issuer);
  if (variantsA.length === 0 || variantsB.length === 0) return "none";
  if (variantsA[0] === variantsB[0]) return "exact";
  return variantsA.some((v) => variantsB.includes(v)) ? "look_alike" : "none";
}

/** True when `compareDocuments` finds the documents the same, exactly or up to look-alike characters. */
export function documentsMatch(a: DocumentRef, b: DocumentRef): boolean {
  return compareDocuments(a, b) !== "none";
}
