/**
 * The store's secondary index keys, defined once: the store writes them for records, the matching
 * engine looks queries up under the same functions. Changing any of them changes index keys, so
 * existing stores must be re-imported (the store's format version says so).
 */
import { createHash } from "node:crypto";
import type { NativeRecord } from "../record-schema.ts";
import { dnaBlockingKeys, parseDnaProfile } from "./dna.ts";
import { documentIndexKeys, documentNumberVariants } from "./documents.ts";
import { normaliseEntity } from "./entities.ts";
import { nameBlockingKeys } from "./names/index.ts";
import type { EntityType } from "../record-schema.ts";

/** LMDB keys are at most 511 bytes (lmdb-js default); longer values are indexed by digest. */
const MAX_INDEX_KEY_BYTES = 480;

export function boundedKey(prefix: string, value: string): string | undefined {
  if (value === "") return undefined;
  const key = prefix + value;
  if (Buffer.byteLength(key, "utf8") <= MAX_INDEX_KEY_BYTES) return key;
  return `${prefix}#sha256:${createHash("sha256").update(value, "utf8").digest("hex")}`;
}

const defined = (key: string | undefined): key is string => key !== undefined;

/** `nm:<blocking key>` for each blocking key of a name. */
export function nameKeys(name: string): string[] {
  return nameBlockingKeys(name).map((key) => boundedKey("nm:", key)).filter(defined);
}

/** `doc:<ISSUER>:<reading>` keys of a document with a known issuer. */
export function documentKeys(number: string, issuingCountry: string): string[] {
  return documentIndexKeys(number, issuingCountry).map((key) => boundedKey("doc:", key)).filter(defined);
}

/** `docnum:<number>` keys, for queries that give no issuing state. */
export function documentNumberKeys(number: string): string[] {
  return documentNumberVariants(number).map((variant) => boundedKey("docnum:", variant)).filter(defined);
}

/** `ent:<type>:<key>` keys of an entity value (throws for invalid identifiers). */
export function entityKeys(type: EntityType, value: string, options: Parameters<typeof normaliseEntity>[2] = {}): string[] {
  return normaliseEntity(type, value, options).keys.map((key) => boundedKey(`ent:${type}:`, key)).filter(defined);
}

export function dnaKeys(profile: Parameters<typeof dnaBlockingKeys>[0]): string[] {
  return dnaBlockingKeys(profile).map((key) => boundedKey("dna:", key)).filter(defined);
}

export function referenceKey(reference: string): string | undefined {
  return boundedKey("ref:", reference);
}

/** Every index key of a record, without duplicates. */
export function recordIndexKeys(record: NativeRecord, reference: string, options: { defaultRegion?: string } = {}): string[] {
  const keys = new Set<string>();
  if (record.kind === "person") {
    for (const name of record.names) for (const key of nameKeys(name)) keys.add(key);
    for (const document of record.documents ?? []) {
      for (const key of documentKeys(document.number, document.country)) keys.add(key);
      for (const key of documentNumberKeys(document.number)) keys.add(key);
    }
    if (record.dna !== undefined) for (const key of dnaKeys(parseDnaProfile(record.dna))) keys.add(key);
  } else {
    for (const key of entityKeys(record.type, record.value, options)) keys.add(key);
  }
  const ref = referenceKey(reference);
  if (ref !== undefined) keys.add(ref);
  return [...keys];
}
