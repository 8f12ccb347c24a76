/**
 * Machine-readable zones of travel documents, ICAO Doc 9303 (8th edition), parts 3–7.
 *
 * Shared by the border client (which reads the MRZ off a document) and the node (which may receive one),
 * so both sides agree on every field. Every check digit is verified; a wrong one throws
 * `WatchmeshError(InvalidMrz)` naming the field, never echoing its content (MRZ content is personal data).
 *
 * Formats (lines × characters):
 *   TD1    3 × 30  identity cards (document code A, C or I)
 *   TD2    2 × 36  identity cards and other official documents
 *   TD3    2 × 44  passports (document code P)
 *   MRV-A  2 × 44  visas (document code V), no composite check digit
 *   MRV-B  2 × 36  visas (document code V), no composite check digit
 */
import { ErrorCode, WatchmeshError } from "./errors.ts";

export type MrzFormat = "TD1" | "TD2" | "TD3" | "MRV-A" | "MRV-B";

/** Fields whose check digit is verified; the names appear in error messages and `context.field`. */
export type MrzCheckedField = "documentNumber" | "dateOfBirth" | "dateOfExpiry" | "personalNumber" | "composite";

export interface ParsedMrz {
  readonly format: MrzFormat;
  /** One or two letters with fillers removed: "P", "PD", "I", "ID", "V", … */
  readonly documentCode: string;
  /** ICAO code with fillers removed; the ICAO-only code "D" (Germany) is returned as "DEU". */
  readonly issuingState: string;
  /** Full document number (TD1/TD2 long numbers included), fillers removed. */
  readonly documentNumber: string;
  readonly surname: string;
  /** Given names separated by single spaces; "" when the MRZ has none. */
  readonly givenNames: string;
  readonly nationality: string;
  /** "YYYY-MM-DD", or "YYYY-MM" / "YYYY" when the day / month are unknown, "" when unknown. */
  readonly dateOfBirth: string;
  readonly sex: "M" | "F" | "X" | "";
  /** Same shapes as `dateOfBirth`. */
  readonly dateOfExpiry: string;
  /**
   * Optional data fields with fillers removed, in MRZ order: TD3 [personal number], TD1 [line 1 remainder,
   * line 2], TD2/MRV [optional data]. For a long TD1/TD2 number the overflow and its check digit are not
   * repeated here.
   */
  readonly optionalData: readonly string[];
}

export interface ParseMrzOptions {
  /** Reference time for century inference; defaults to now. */
  readonly now?: Date;
  /**
   * Repair common OCR confusions (O→0, I/L→1, B→8, S→5, Z→2, G→6, D/Q→0) in positions that can only hold
   * digits: dates and check digits. Safe because every repaired field is still check-digit verified.
   * Off by default.
   */
  readonly repairOcr?: boolean;
}

/** Line count and width of each shape; a single unbroken string of lines × width is cut into lines. */
const LINE_SHAPES: ReadonlyArray<{ lines: number; length: number }> = [
  { lines: 3, length: 30 },
  { lines: 2, length: 36 },
  { lines: 2, length: 44 },
];

const MRZ_CHARS = /^[0-9A-Z<]+$/;

/** ICAO Doc 9303 part 3 codes that are not ISO 3166-1 alpha-3 but denote an ISO country. */
const ICAO_STATE_ALIASES: Readonly<Record<string, string>> = { D: "DEU" };

function invalid(message: string, field?: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.InvalidMrz, message, field === undefined ? {} : { context: { field } });
}

function charValue(c: string): number {
  if (c === "<") return 0;
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 65 && code <= 90) return code - 55; // A=10 … Z=35
  throw invalid("MRZ contains characters outside A-Z, 0-9 and <");
}

const WEIGHTS = [7, 3, 1] as const;

/** ICAO 9303 part 3 §4.9 check digit: weights 7-3-1, `<` = 0, A–Z = 10–35, sum modulo 10. */
export function mrzCheckDigit(value: string): number {
  let sum = 0;
  for (let i = 0; i < value.length; i++) sum += charValue(value.charAt(i)) * (WEIGHTS[i % 3] ?? 1);
  return sum % 10;
}

/**
 * ICAO state code as used by the mesh: fillers removed, upper case, "D" → "DEU". Other ICAO-specific
 * codes (XXA stateless, XXB refugee, UNO, GBD…) are returned unchanged.
 */
export function normaliseIcaoStateCode(code: string): string {
  const trimmed = code.trim().toUpperCase().replace(/</g, "");
  return ICAO_STATE_ALIASES[trimmed] ?? trimmed;
}

/** Splits the input into upper-case lines; a single unbroken 90/72/88-character string is cut too. */
function toLines(input: readonly string[] | string): string[] {
  const raw = typeof input === "string" ? input.split(/\r\n|\r|\n/) : input.flatMap((l) => l.split(/\r\n|\r|\n/));
  const lines = raw.map((l) => l.trim().toUpperCase()).filter((l) => l !== "");
  if (lines.length === 1) {
    const only = lines[0] ?? "";
    const shape = LINE_SHAPES.find((s) => s.lines * s.length === only.length);
    if (shape !== undefined) {
      return Array.from({ length: shape.lines }, (_, i) => only.slice(i * shape.length, (i + 1) * shape.length));
    }
  }
  return lines;
}

const OCR_DIGIT_REPAIRS: Readonly<Record<string, string>> = {
  O: "0",
  Q: "0",
  D: "0",
  I: "1",
  L: "1",
  Z: "2",
  S: "5",
  G: "6",
  B: "8",
};

/** Positions (line, start, end) that can only hold digits or fillers, per format. */
const NUMERIC_SPANS: Readonly<Record<MrzFormat, ReadonlyArray<readonly [number, number, number]>>> = {
  TD1: [[0, 14, 15], [1, 0, 7], [1, 8, 15], [1, 29, 30]],
  TD2: [[1, 9, 10], [1, 13, 20], [1, 21, 28], [1, 35, 36]],
  TD3: [[1, 9, 10], [1, 13, 20], [1, 21, 28], [1, 42, 44]],
  "MRV-A": [[1, 9, 10], [1, 13, 20], [1, 21, 28]],
  "MRV-B": [[1, 9, 10], [1, 13, 20], [1, 21, 28]],
};

function repairOcr(format: MrzFormat, lines: string[]): string[] {
  const repaired = [...lines];
  for (const [line, start, end] of NUMERIC_SPANS[format]) {
    const text = repaired[line] ?? "";
    const span = text.slice(start, end).replace(/[OQDILZSGB]/g, (c) => OCR_DIGIT_REPAIRS[c] ?? c);
    repaired[line] = text.slice(0, start) + span + text.slice(end);
  }
  return repaired;
}

/** Verifies `check` against `value`; `allowFillerWhenEmpty` accepts `<` for an all-filler field. */
function verify(field: MrzCheckedField, value: string, check: string, allowFillerWhenEmpty = false): void {
  if (allowFillerWhenEmpty && check === "<" && /^<*$/.test(value)) return;
  if (!/^[0-9]$/.test(check) || Number(check) !== mrzCheckDigit(value)) {
    throw invalid(`MRZ check digit for ${field} is wrong`, field);
  }
}

function defill(value: string): string {
  return value.replace(/</g, " ").trim().replace(/ +/g, " ");
}

function parseName(field: string): { surname: string; givenNames: string } {
  const trimmed = field.replace(/<+$/, "");
  const separator = trimmed.indexOf("<<");
  if (separator < 0) return { surname: defill(trimmed), givenNames: "" };
  return { surname: defill(trimmed.slice(0, separator)), givenNames: defill(trimmed.slice(separator + 2)) };
}

function parseSex(c: string): ParsedMrz["sex"] {
  if (c === "M" || c === "F" || c === "X") return c;
  if (c === "<") return "";
  throw invalid("MRZ field sex is invalid", "sex");
}

const UNKNOWN_PART = /^(?:<<|XX)$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * YYMMDD → "YYYY-MM-DD" / "YYYY-MM" / "YYYY" / "". Unknown parts ("<<" or "XX") lower the precision; a
 * known day under an unknown month is meaningless and dropped with the month.
 */
function parseDate(raw: string, field: "dateOfBirth" | "dateOfExpiry", now: Date): string {
  const yy = raw.slice(0, 2);
  const mm = raw.slice(2, 4);
  const dd = raw.slice(4, 6);
  if (UNKNOWN_PART.test(yy)) return "";
  if (!/^\d\d$/.test(yy)) throw invalid(`MRZ field ${field} is not a valid date`, field);
  const monthKnown = !UNKNOWN_PART.test(mm);
  const dayKnown = monthKnown && !UNKNOWN_PART.test(dd);
  if ((monthKnown && !/^\d\d$/.test(mm)) || (dayKnown && !/^\d\d$/.test(dd))) {
    throw invalid(`MRZ field ${field} is not a valid date`, field);
  }
  const month = monthKnown ? Number(mm) : 0;
  const day = dayKnown ? Number(dd) : 0;
  if (monthKnown && (month < 1 || month > 12)) throw invalid(`MRZ field ${field} is not a valid date`, field);

  const nowYear = now.getUTCFullYear();
  let year = 2000 + Number(yy);
  if (field === "dateOfBirth") {
    // Birth dates are never in the future, compared at the precision the MRZ gives.
    const nowMonth = now.getUTCMonth() + 1;
    const nowDay = now.getUTCDate();
    const future =
      year > nowYear ||
      (year === nowYear && monthKnown && (month > nowMonth || (month === nowMonth && dayKnown && day > nowDay)));
    if (future) year -= 100;
  } else if (year > nowYear + 50) {
    // Documents are valid for at most a few decades; "97" as an expiry year is 1997, not 2097.
    year -= 100;
  }
  if (dayKnown && (day < 1 || day > daysInMonth(year, month))) throw invalid(`MRZ field ${field} is not a valid date`, field);

  const yyyy = String(year);
  if (!monthKnown) return yyyy;
  if (!dayKnown) return `${yyyy}-${mm}`;
  return `${yyyy}-${mm}-${dd}`;
}

/**
 * Document number of TD1/TD2, applying the long-number rule (Doc 9303 part 5 §4.2.4 note j, part 6):
 * when the check digit position holds `<`, the number continues at the start of the optional data,
 * followed by the check digit over the whole number and a filler.
 */
function readLongableNumber(principal: string, check: string, optional: string): { documentNumber: string; optionalRest: string } {
  if (check !== "<") {
    verify("documentNumber", principal, check);
    return { documentNumber: principal.replace(/</g, ""), optionalRest: optional };
  }
  const end = optional.indexOf("<");
  const overflow = end < 0 ? optional : optional.slice(0, end);
  if (overflow.length < 2) throw invalid("MRZ check digit for documentNumber is wrong", "documentNumber");
  const full = principal + overflow.slice(0, -1);
  verify("documentNumber", full, overflow.slice(-1));
  return { documentNumber: full.replace(/</g, ""), optionalRest: end < 0 ? "" : optional.slice(end) };
}

function parseTd1([l1, l2, l3]: readonly string[], now: Date): ParsedMrz {
  if (l1 === undefined || l2 === undefined || l3 === undefined) throw invalid("MRZ lines do not match a format");
  const { documentNumber, optionalRest } = readLongableNumber(l1.slice(5, 14), l1.charAt(14), l1.slice(15, 30));
  verify("dateOfBirth", l2.slice(0, 6), l2.charAt(6));
  verify("dateOfExpiry", l2.slice(8, 14), l2.charAt(14));
  verify("composite", l1.slice(5, 30) + l2.slice(0, 7) + l2.slice(8, 15) + l2.slice(18, 29), l2.charAt(29));
  return {
    format: "TD1",
    documentCode: defill(l1.slice(0, 2)),
    issuingState: normaliseIcaoStateCode(l1.slice(2, 5)),
    documentNumber,
    ...parseName(l3),
    nationality: normaliseIcaoStateCode(l2.slice(15, 18)),
    dateOfBirth: parseDate(l2.slice(0, 6), "dateOfBirth", now),
    sex: parseSex(l2.charAt(7)),
    dateOfExpiry: parseDate(l2.slice(8, 14), "dateOfExpiry", now),
    optionalData: [defill(optionalRest), defill(l2.slice(18, 29))],
  };
}

/** TD2, TD3, MRV-A and MRV-B share line 1 and the first 28 characters of line 2. */
function parseTwoLine(format: Exclude<MrzFormat, "TD1">, [l1, l2]: readonly string[], now: Date): ParsedMrz {
  if (l1 === undefined || l2 === undefined) throw invalid("MRZ lines do not match a format");
  let documentNumber: string;
  let optionalData: string[];
  if (format === "TD2") {
    const read = readLongableNumber(l2.slice(0, 9), l2.charAt(9), l2.slice(28, 35));
    documentNumber = read.documentNumber;
    optionalData = [defill(read.optionalRest)];
  } else {
    verify("documentNumber", l2.slice(0, 9), l2.charAt(9));
    documentNumber = l2.slice(0, 9).replace(/</g, "");
    optionalData = [defill(l2.slice(28, format === "TD3" ? 42 : l2.length))];
  }
  verify("dateOfBirth", l2.slice(13, 19), l2.charAt(19));
  verify("dateOfExpiry", l2.slice(21, 27), l2.charAt(27));
  if (format === "TD3") {
    // The personal number's check digit may be `<` when the field is all fillers (part 4 §4.2.2).
    verify("personalNumber", l2.slice(28, 42), l2.charAt(42), true);
    verify("composite", l2.slice(0, 10) + l2.slice(13, 20) + l2.slice(21, 43), l2.charAt(43));
  } else if (format === "TD2") {
    verify("composite", l2.slice(0, 10) + l2.slice(13, 20) + l2.slice(21, 35), l2.charAt(35));
  }
  return {
    format,
    documentCode: defill(l1.slice(0, 2)),
    issuingState: normaliseIcaoStateCode(l1.slice(2, 5)),
    documentNumber,
    ...parseName(l1.slice(5)),
    nationality: normaliseIcaoStateCode(l2.slice(10, 13)),
    dateOfBirth: parseDate(l2.slice(13, 19), "dateOfBirth", now),
    sex: parseSex(l2.charAt(20)),
    dateOfExpiry: parseDate(l2.slice(21, 27), "dateOfExpiry", now),
    optionalData,
  };
}

function formatOf(lines: readonly string[]): MrzFormat | undefined {
  const width = lines[0]?.length ?? 0;
  if (!lines.every((l) => l.length === width)) return undefined;
  const isVisa = lines[0]?.charAt(0) === "V";
  if (lines.length === 3 && width === 30) return "TD1";
  if (lines.length === 2 && width === 36) return isVisa ? "MRV-B" : "TD2";
  if (lines.length === 2 && width === 44) return isVisa ? "MRV-A" : "TD3";
  return undefined;
}

/**
 * Parses and verifies an MRZ given as lines or as one string with line breaks (or one unbroken string of
 * exactly 90, 72 or 88 characters). Surrounding whitespace and lower case are tolerated; the line count
 * and lengths must match a format exactly.
 */
export function parseMrz(input: readonly string[] | string, options: ParseMrzOptions = {}): ParsedMrz {
  let lines = toLines(input);
  const format = formatOf(lines);
  if (format === undefined) throw invalid("MRZ lines do not match a format (3×30, 2×36 or 2×44 characters)");
  if (!lines.every((l) => MRZ_CHARS.test(l))) throw invalid("MRZ contains characters outside A-Z, 0-9 and <");
  if (!/^[A-Z]$/.test(lines[0]?.charAt(0) ?? "")) throw invalid("MRZ field documentCode is invalid", "documentCode");
  if (options.repairOcr === true) lines = repairOcr(format, lines);
  const now = options.now ?? new Date();
  return format === "TD1" ? parseTd1(lines, now) : parseTwoLine(format, lines, now);
}
