import { z } from "zod";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import { COUNTRY_CODE_PATTERN } from "./country-codes.ts";
import { QUERY_SUBJECT_LIMITS as LIMITS } from "./limits.ts";
import type { EntityQuery, PersonQuery } from "./proto.ts";

/**
 * The JSON query format (a documented contract) used by `watchmesh check --query FILE`, the SDK and the
 * evaluation files:
 *   {"name":"…","dob":"1979","nationality":"EGY","sex":"M","document":{"number":"…","country":"EGY"},
 *    "mrz":"P<EGY…\n…","dna":{"D3S1358":[15,16],…},"face":{"model":"…","vector":[…]}}
 *   {"entity":{"type":"phone","value":"+33 6 12 34 56 78"}}
 * Every field is optional, but a query needs at least one searchable field (name, document, MRZ, DNA,
 * face or entity). `names` (a list) and `documents` (a list) are accepted beside `name` and `document`.
 */

const country = z.string().regex(COUNTRY_CODE_PATTERN, "ISO 3166-1 alpha-3 code expected");
const documentSchema = z.strictObject({
  number: z.string().min(1).max(LIMITS.documentNumberLength),
  country: country.optional(),
  type: z.enum(["passport", "id_card", "residence_permit", "visa", "other"]).optional(),
});
const allele = z.union([z.number(), z.string().min(1).max(8)]);

const personSchema = z.strictObject({
  name: z.string().min(1).max(LIMITS.nameLength).optional(),
  // `name` and `names` together, as `document` and `documents`, reach the limits the wire holds a query to.
  names: z.array(z.string().min(1).max(LIMITS.nameLength)).max(LIMITS.names - 1).optional(),
  dob: z.string().regex(/^\d{4}(-\d{2}(-\d{2})?)?$/, "YYYY, YYYY-MM or YYYY-MM-DD expected").optional(),
  nationality: z.union([country, z.array(country).max(LIMITS.nationalities)]).optional(),
  sex: z.enum(["M", "F", "X"]).optional(),
  document: documentSchema.optional(),
  documents: z.array(documentSchema).max(LIMITS.documents - 1).optional(),
  mrz: z.union([z.string().max(LIMITS.mrzLength), z.array(z.string().max(60)).max(3)]).optional(),
  dna: z.record(z.string().min(1).max(32), z.array(allele).min(1).max(4)).optional(),
  face: z.strictObject({ model: z.string().min(1).max(64), vector: z.array(z.number()).min(1).max(4096) }).optional(),
});

const entitySchema = z.strictObject({
  entity: z.strictObject({ type: z.string().min(1).max(LIMITS.entityTypeLength), value: z.string().min(1).max(LIMITS.entityValueLength) }),
});

export type QuerySubject = { person: PersonQuery } | { entity: EntityQuery };

function invalid(message: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.InvalidArgument, message);
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.join(".") || "query";
  return `query field ${path}: ${issue?.message ?? "invalid"}`;
}

/** Validates a parsed JSON query and turns it into the wire subject; throws INVALID_ARGUMENT naming the field. */
export function parseQueryJson(input: unknown): QuerySubject {
  if (typeof input === "object" && input !== null && "entity" in input) {
    const parsed = entitySchema.safeParse(input);
    if (!parsed.success) throw invalid(firstIssue(parsed.error));
    return { entity: parsed.data.entity };
  }
  const parsed = personSchema.safeParse(input);
  if (!parsed.success) throw invalid(firstIssue(parsed.error));
  const query = parsed.data;
  const names = [...(query.name ? [query.name] : []), ...(query.names ?? [])];
  const documents = [...(query.document ? [query.document] : []), ...(query.documents ?? [])].map((document) => ({
    type: document.type ?? "passport",
    number: document.number,
    country: document.country ?? "",
  }));
  const mrz = query.mrz === undefined ? [] : typeof query.mrz === "string" ? query.mrz.split(/\r?\n/).map((line) => line.trim()).filter(Boolean) : query.mrz;
  if (names.length === 0 && documents.length === 0 && mrz.length === 0 && !query.dna && !query.face) {
    throw invalid("query has nothing to search for: give a name, document, MRZ, DNA profile, face or entity");
  }
  const person: PersonQuery = {
    names,
    dob: query.dob ?? "",
    nationality: query.nationality === undefined ? [] : typeof query.nationality === "string" ? [query.nationality] : query.nationality,
    sex: query.sex ?? "",
    documents,
    mrz,
    ...(query.dna
      ? { dna: { loci: Object.fromEntries(Object.entries(query.dna).map(([locus, alleles]) => [locus, alleles.join(",")])), markerSet: "" } }
      : {}),
    ...(query.face ? { face: { model: query.face.model, embedding: query.face.vector } } : {}),
  };
  return { person };
}

/** Parses one JSON text (a query file or an NDJSON line). */
export function parseQueryText(text: string): QuerySubject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("query is not valid JSON");
  }
  return parseQueryJson(value);
}
