/**
 * The native record format: one JSON object per line (NDJSON). This is a stable, documented contract —
 * countries export their data into it — so fields are only ever added, never changed in meaning.
 *
 *   {"kind":"person","id":"FRA-000123","names":["Jean Dupont"],"dob":"1980-05-01","nationality":["FRA"],
 *    "sex":"M","documents":[{"type":"passport","number":"12AB34567","country":"FRA"}],"action":"discreet_check"}
 *   {"kind":"entity","id":"FRA-E-0042","type":"phone","value":"+33 6 12 34 56 78","links":["FRA-000123"],
 *    "action":"inform_owner"}
 *   {"op":"delete","id":"FRA-000123"}
 *
 * Person fields: id (1..128 printable characters, no whitespace), names (1..10, each ≤ 200 characters),
 * dob? ("YYYY" | "YYYY-MM" | "YYYY-MM-DD", a real date not in the future), nationality? (ISO alpha-3
 * codes), sex? ("M" | "F" | "X"), documents? ({type, number, country}), action? (default inform_owner).
 * `dna` (Prüm STR profile, see matching/dna.ts) and `face` ({model, vector}, see matching/face-index.ts) are
 * validated and kept as given; matching parses them again.
 * Entity fields: id, type, value (≤ 500 characters), links? (person ids), action?.
 * Entities of type device_component or precursor may carry designation? (≤ 64 characters; federated
 * analysis counts it against the vocabulary of common/designations.ts, anything else as "other").
 * Both kinds: expiresAt? ("YYYY-MM-DD", a real date from year 2000), the owner's review/expiry date;
 * recordedAt? ("YYYY-MM-DD", a real date from year 1900, not in the future), the day the record was
 * created or the linked incident happened, by which federated analysis counts records per month.
 * The record is valid up to and including that UTC day: from the next day it no longer matches, and the
 * node's scheduled purge deletes it (expiry-purger.ts). A date already past is accepted — the record
 * never matches and goes at the next purge — so that a full re-export of a country's data does not fail.
 * Any other field is rejected, so a typo ("nationalty") cannot silently drop data.
 */
import { z } from "zod";
import { COUNTRY_CODE_PATTERN } from "../common/country-codes.ts";
import { ENTITY_TYPES, isDesignatedCategory, type EntityType } from "../common/designations.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { parseDnaProfile } from "./matching/dna.ts";
import { normaliseDocumentNumber } from "./matching/documents.ts";
import { normaliseEntity } from "./matching/entities.ts";
import { parseFaceTemplate } from "./matching/face-index.ts";

export const RECORD_ACTIONS = ["discreet_check", "specific_check", "arrest", "inform_owner"] as const;
export type RecordAction = (typeof RECORD_ACTIONS)[number];

export { ENTITY_TYPES, type EntityType } from "../common/designations.ts";

export const DOCUMENT_TYPES = ["passport", "id_card", "residence_permit", "visa", "other"] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export const SEXES = ["M", "F", "X"] as const;
export type Sex = (typeof SEXES)[number];

export const DEFAULT_RECORD_ACTION: RecordAction = "inform_owner";

/** Bounds of the format; exported so generators and tests stay within them. */
export const RECORD_LIMITS = {
  maxIdChars: 128,
  maxNames: 10,
  maxNameChars: 200,
  maxNationalities: 10,
  maxDocuments: 20,
  maxDocumentNumberChars: 64,
  maxEntityValueChars: 500,
  maxLinks: 100,
  minDobYear: 1800,
  /** An earlier expiry date is a typo ("0025" for "2025"), which would otherwise purge the record at once. */
  minExpiryYear: 2000,
  minRecordedYear: 1900,
  maxDesignationChars: 64,
} as const;

export interface RecordDocument {
  type: DocumentType;
  number: string;
  /** ISO 3166-1 alpha-3 issuing state. */
  country: string;
}

/**
 * A person record. Fields with defaults are optional in the type so callers can write records by hand;
 * `parseRecordLine` and the store fill them in (empty arrays, action inform_owner).
 */
export interface PersonRecord {
  kind: "person";
  id: string;
  names: string[];
  dob?: string | undefined;
  nationality?: string[] | undefined;
  sex?: Sex | undefined;
  documents?: RecordDocument[] | undefined;
  action?: RecordAction | undefined;
  /** A Prüm STR profile as given (validated by `parseDnaProfile`). */
  dna?: unknown;
  /** A face template {model, vector} as given (validated by `parseFaceTemplate`); in the face index. */
  face?: unknown;
  /** Review/expiry date "YYYY-MM-DD": valid up to and including that UTC day (see `isExpired`). */
  expiresAt?: string | undefined;
  /** "YYYY-MM-DD": when the record was created or its incident happened (federated analysis counts by it). */
  recordedAt?: string | undefined;
}

export interface EntityRecord {
  kind: "entity";
  id: string;
  type: EntityType;
  value: string;
  /** Ids of linked person records (not checked for existence: files may list them in any order). */
  links?: string[] | undefined;
  action?: RecordAction | undefined;
  /** Review/expiry date "YYYY-MM-DD": valid up to and including that UTC day (see `isExpired`). */
  expiresAt?: string | undefined;
  /** "YYYY-MM-DD": when the record was created or its incident happened (federated analysis counts by it). */
  recordedAt?: string | undefined;
  /** Device components and precursors only: what it is, e.g. "ammonium_nitrate" (common/designations.ts). */
  designation?: string | undefined;
}

export type NativeRecord = PersonRecord | EntityRecord;

export interface DeleteOp {
  op: "delete";
  id: string;
}

export type RecordLine = NativeRecord | DeleteOp;

export function isDeleteOp(line: RecordLine): line is DeleteOp {
  return "op" in line;
}

const DOB_PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Whether the day exists in that month (Gregorian leap years; Date.UTC would read years 0–99 as 19xx). */
function isRealDay(year: number, month: number, day: number): boolean {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return daysInMonth !== undefined && day >= 1 && day <= daysInMonth;
}

/** True for "YYYY-MM-DD" naming a real calendar date (any year; no bound on past or future). */
export function isValidCalendarDay(s: string): boolean {
  const match = DAY_PATTERN.exec(s);
  return match !== null && isRealDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

/** The UTC day ("YYYY-MM-DD") of an instant: the unit in which records expire. */
export function utcDayOf(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/**
 * Whether a record's review/expiry date has passed on `today` (a UTC day, see `utcDayOf`). The record
 * is still valid on its `expiresAt` day itself. Days of the same format compare as strings.
 */
export function isExpired(record: Pick<NativeRecord, "expiresAt">, today: string): boolean {
  return record.expiresAt !== undefined && record.expiresAt < today;
}

/**
 * True for "YYYY", "YYYY-MM" or "YYYY-MM-DD" naming a real calendar date (leap years included), from
 * year 1800 and not after today (UTC) at the given precision.
 */
export function isValidPartialDate(s: string, nowMs: number = Date.now()): boolean {
  const match = DOB_PATTERN.exec(s);
  if (!match) return false;
  const year = Number(match[1]);
  if (year < RECORD_LIMITS.minDobYear) return false;
  if (match[2] !== undefined) {
    const month = Number(match[2]);
    if (month < 1 || month > 12) return false;
    if (match[3] !== undefined && !isRealDay(year, month, Number(match[3]))) return false;
  }
  // Same-length ISO prefixes compare correctly as strings.
  return s <= new Date(nowMs).toISOString().slice(0, s.length);
}

const idSchema = z
  .string()
  .min(1)
  .max(RECORD_LIMITS.maxIdChars)
  .regex(/^[^\s\p{C}]+$/u, { error: "must be printable characters without whitespace" });

const countrySchema = z.string().regex(COUNTRY_CODE_PATTERN, { error: "must be an ISO 3166-1 alpha-3 code (e.g. FRA)" });

const actionSchema = z.enum(RECORD_ACTIONS).default(DEFAULT_RECORD_ACTION);

const expiresAtSchema = z
  .string()
  .refine((day) => isValidCalendarDay(day) && Number(day.slice(0, 4)) >= RECORD_LIMITS.minExpiryYear, {
    error: `must be YYYY-MM-DD, a real calendar date from year ${RECORD_LIMITS.minExpiryYear}`,
  })
  .optional();

const recordedAtSchema = z
  .string()
  .refine((day) => isValidCalendarDay(day) && Number(day.slice(0, 4)) >= RECORD_LIMITS.minRecordedYear && isValidPartialDate(day), {
    error: `must be YYYY-MM-DD, a real calendar date from year ${RECORD_LIMITS.minRecordedYear}, not in the future`,
  })
  .optional();

const nameSchema = z
  .string()
  .trim()
  .min(1)
  .max(RECORD_LIMITS.maxNameChars)
  .refine((name) => /[\p{L}\p{N}]/u.test(name), { error: "must contain a letter or digit" });

const documentSchema = z.strictObject({
  type: z.enum(DOCUMENT_TYPES),
  number: z
    .string()
    .trim()
    .min(1)
    .max(RECORD_LIMITS.maxDocumentNumberChars)
    .refine((n) => normaliseDocumentNumber(n) !== "", { error: "must contain a letter or digit" }),
  country: countrySchema,
});

const personSchema: z.ZodType<PersonRecord> = z.strictObject({
  kind: z.literal("person"),
  id: idSchema,
  names: z.array(nameSchema).min(1).max(RECORD_LIMITS.maxNames),
  dob: z
    .string()
    .refine((dob) => isValidPartialDate(dob), {
      error: "must be YYYY, YYYY-MM or YYYY-MM-DD, a real date, not in the future",
    })
    .optional(),
  nationality: z.array(countrySchema).max(RECORD_LIMITS.maxNationalities).default([]),
  sex: z.enum(SEXES).optional(),
  documents: z.array(documentSchema).max(RECORD_LIMITS.maxDocuments).default([]),
  action: actionSchema,
  dna: z.unknown().superRefine(refineWith((value) => parseDnaProfile(value))).optional(),
  face: z.unknown().superRefine(refineWith((value) => parseFaceTemplate(value))).optional(),
  expiresAt: expiresAtSchema,
  recordedAt: recordedAtSchema,
});

const entitySchema: z.ZodType<EntityRecord> = z
  .strictObject({
    kind: z.literal("entity"),
    id: idSchema,
    type: z.enum(ENTITY_TYPES),
    value: z.string().trim().min(1).max(RECORD_LIMITS.maxEntityValueChars),
    links: z.array(idSchema).max(RECORD_LIMITS.maxLinks).default([]),
    action: actionSchema,
    expiresAt: expiresAtSchema,
    recordedAt: recordedAtSchema,
    designation: z
      .string()
      .trim()
      .min(1)
      .max(RECORD_LIMITS.maxDesignationChars)
      .refine((text) => /\p{L}/u.test(text), { error: "must contain a letter" })
      .optional(),
  })
  .superRefine((entity, context) => {
    if (entity.designation !== undefined && !isDesignatedCategory(entity.type)) {
      context.addIssue({ code: "custom", path: ["designation"], message: "only device_component and precursor entities carry a designation" });
    }
    // Records hold international phone numbers (+ or 00): a node may hold numbers of any country.
    const problem = problemOf(() => normaliseEntity(entity.type, entity.value));
    if (problem !== undefined) context.addIssue({ code: "custom", path: ["value"], message: problem });
  });

/** The safe message of a WatchmeshError thrown by a validator, or undefined when it passes. */
function problemOf(validate: () => unknown): string | undefined {
  try {
    validate();
    return undefined;
  } catch (error) {
    if (error instanceof WatchmeshError) return error.message;
    throw error;
  }
}

function refineWith(validate: (value: unknown) => unknown) {
  return (value: unknown, context: z.RefinementCtx): void => {
    if (value === undefined) return;
    const problem = problemOf(() => validate(value));
    if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
  };
}

const deleteSchema: z.ZodType<DeleteOp> = z.strictObject({
  op: z.literal("delete"),
  id: idSchema,
});

function invalid(message: string, field?: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.InvalidRecord, message, field === undefined ? {} : { context: { field } });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** Field names come from the input, so they are shortened and stripped of control characters. */
function safeFieldName(key: string): string {
  const clean = key.replace(/[\p{C}]/gu, "?");
  return clean.length > 32 ? `${clean.slice(0, 32)}…` : clean;
}

/**
 * One issue as a safe sentence. zod's default messages name types, limits and allowed options but never
 * the input, and our custom messages are fixed text; unknown keys and missing fields are worded here.
 */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === "unrecognized_keys") {
    const shown = issue.keys.slice(0, 5).map((k) => `"${safeFieldName(k)}"`);
    const more = issue.keys.length > 5 ? ` (+${issue.keys.length - 5} more)` : "";
    const where = issue.path.length > 0 ? ` in ${formatPath(issue.path)}` : "";
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${shown.join(", ")}${more}${where}`;
  }
  const field = formatPath(issue.path);
  if (issue.code === "invalid_type" && valueAt(input, issue.path) === undefined) {
    return `field "${field}" is required`;
  }
  return field === "" ? issue.message : `field "${field}": ${issue.message}`;
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const shown = issues.slice(0, 3).map((issue) => describeIssue(issue, input));
  const more = issues.length > 3 ? `; (+${issues.length - 3} more)` : "";
  const first = issues[0];
  const field = first && first.code !== "unrecognized_keys" ? formatPath(first.path) : undefined;
  throw invalid(`invalid record: ${shown.join("; ")}${more}`, field);
}

/**
 * Validates an already-parsed value (a JSON object) as a record line. Defaults are applied (action,
 * empty arrays) and strings trimmed, so equal records compare equal. Throws WatchmeshError(InvalidRecord)
 * whose message names the field and the rule but never a value from the input.
 */
export function validateRecordLine(input: unknown): RecordLine {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw invalid("invalid record: line must be a JSON object");
  }
  const fields = input as Record<string, unknown>;
  if ("op" in fields) return parseWith(deleteSchema, input);
  switch (fields["kind"]) {
    case "person":
      return parseWith(personSchema, input);
    case "entity":
      return parseWith(entitySchema, input);
    case undefined:
      throw invalid('invalid record: field "kind" is required ("person" or "entity"; or "op":"delete")', "kind");
    default:
      throw invalid('invalid record: field "kind" must be "person" or "entity"', "kind");
  }
}

/** Parses one NDJSON line (without its newline) and validates it; see `validateRecordLine`. */
export function parseRecordLine(text: string): RecordLine {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    // The SyntaxError text quotes the input, so it is not passed on (not even as cause).
    throw invalid("invalid record: line is not valid JSON");
  }
  return validateRecordLine(input);
}
