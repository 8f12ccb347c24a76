/**
 * Everything the store derives from a valid record line before writing it: the canonical stored JSON,
 * the opaque reference and the index keys. Pure (no store access), so that an import can run it in a
 * worker thread (preparation-worker.ts) while the main thread writes the previous batch.
 */
import { createHmac } from "node:crypto";
import { recordIndexKeys } from "./matching/index-keys.ts";
import { nameTermKeys } from "./matching/names/vocabulary.ts";
import { DEFAULT_RECORD_ACTION, isDeleteOp, type EntityRecord, type NativeRecord, type PersonRecord, type RecordLine } from "./record-schema.ts";

/** What preparation needs from the store: its reference secret and the region for national phone numbers. */
export interface PreparationContext {
  referenceSecret: Buffer;
  defaultRegion?: string;
}

export type PreparedLine =
  | { op: "delete"; id: string }
  | {
      op: "upsert";
      id: string;
      kind: NativeRecord["kind"];
      /** The record as stored: canonical JSON (defaults applied, keys sorted). */
      json: string;
      /** Index keys of the record (matching/index-keys.ts). */
      keys: string[];
      /** A person with a face template, which the store checks against its face models. */
      hasFace: boolean;
      /** The terms of a person's names for the store's name vocabulary (matching/names/vocabulary.ts). */
      terms: string[];
    };

const REFERENCE_DOMAIN = "watchmesh/record-reference/v1\0";
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The opaque reference of a record, the only thing about it that leaves the node:
 * `<country of the id, or REF>-R-<20 base32 characters of HMAC-SHA256(secret, id)>`. Without the secret
 * it reveals nothing of the id beyond its country prefix.
 */
export function recordReference(secret: Buffer, id: string): string {
  const mac = createHmac("sha256", secret).update(REFERENCE_DOMAIN).update(id, "utf8").digest();
  const prefix = /^([A-Z]{3})-/.exec(id)?.[1] ?? "REF";
  return `${prefix}-R-${base32(mac).slice(0, 20)}`;
}

/** JSON with object keys sorted and undefined members dropped: equal records give equal text. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : stableStringify(item))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.keys(value)
      .sort()
      .flatMap((key) => {
        const member = (value as Record<string, unknown>)[key];
        return member === undefined ? [] : [`${JSON.stringify(key)}:${stableStringify(member)}`];
      });
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** A record with every default filled in, so a hand-written record and its parsed line compare equal. */
function withDefaults(record: NativeRecord): NativeRecord {
  if (record.kind === "person") {
    const person: PersonRecord = {
      ...record,
      nationality: record.nationality ?? [],
      documents: (record.documents ?? []).map((d) => ({ type: d.type, number: d.number, country: d.country })),
      action: record.action ?? DEFAULT_RECORD_ACTION,
    };
    return person;
  }
  const entity: EntityRecord = { ...record, links: record.links ?? [], action: record.action ?? DEFAULT_RECORD_ACTION };
  return entity;
}

/** Index keys of a stored record. */
export function storedRecordKeys(record: NativeRecord, context: PreparationContext): string[] {
  const options = context.defaultRegion === undefined ? {} : { defaultRegion: context.defaultRegion };
  return recordIndexKeys(record, recordReference(context.referenceSecret, record.id), options);
}

/** Prepares a valid line (`parseRecordLine`) for the store. Throws WatchmeshError for underivable keys. */
export function prepareLine(line: RecordLine, context: PreparationContext): PreparedLine {
  if (isDeleteOp(line)) return { op: "delete", id: line.id };
  const record = withDefaults(line);
  return {
    op: "upsert",
    id: record.id,
    kind: record.kind,
    json: stableStringify(record),
    keys: storedRecordKeys(record, context),
    hasFace: record.kind === "person" && record.face !== undefined,
    terms: record.kind === "person" ? nameTermKeys(record.names) : [],
  };
}
