/**
 * The node's record store: one LMDB environment (a directory) with four named databases.
 *
 *   records      id → record (JSON, canonical: defaults applied, keys sorted)
 *   record-keys  id → the index keys written for that record, so an update or delete removes exactly
 *                those, even after the normalisation code has changed
 *   index        dupSort: index key → record id; keys are defined in matching/index-keys.ts
 *                  nm:<name blocking key>  doc:<ISSUER>:<reading>  docnum:<reading>  ent:<type>:<key>
 *                  dna:<locus-pair genotype key>  ref:<reference>
 *   meta         formatVersion, referenceSecret (32 random bytes, hex), persons, entities, generation
 *
 * Every change (record, its index entries, counters) is one LMDB transaction, so a crash leaves either
 * the old or the new state. Matching reads only `index` and the candidate records: never a scan.
 */
import { createHmac, randomBytes } from "node:crypto";
import { open, type Database, type RootDatabase } from "lmdb";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { recordIndexKeys, referenceKey } from "./matching/index-keys.ts";
import {
  DEFAULT_RECORD_ACTION,
  isDeleteOp,
  validateRecordLine,
  type EntityRecord,
  type NativeRecord,
  type PersonRecord,
  type RecordLine,
} from "./record-schema.ts";

/** Bumped whenever stored records or index keys change shape; a store of another version is refused. */
export const STORE_FORMAT_VERSION = 2;

export type UpsertOutcome = "inserted" | "updated" | "unchanged";
export type ApplyOutcome = UpsertOutcome | "deleted" | "not_found";

export interface RecordStoreOptions {
  /** Directory of the LMDB environment; created when missing. */
  path: string;
  /** Initial LMDB map size; lmdb-js grows the map when it fills up. */
  mapSizeBytes?: number;
  /** Region (ISO alpha-3) for national phone numbers in records, usually the node's country. */
  defaultRegion?: string;
}

export interface StoreStats {
  persons: number;
  entities: number;
  /** Incremented by every transaction that changed something; equal before and after means no write. */
  generation: number;
}

const REFERENCE_DOMAIN = "watchmesh/record-reference/v1\0";

/** JSON with object keys sorted and undefined members dropped: equal records give equal text. */
function stableStringify(value: unknown): string {
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

type Prepared = { op: "delete"; id: string } | { op: "upsert"; record: NativeRecord; json: string; keys: string[] };

interface Counters {
  persons: number;
  entities: number;
  generation: number;
}

const counterOf = (kind: NativeRecord["kind"]): "persons" | "entities" => (kind === "person" ? "persons" : "entities");

interface Databases {
  records: Database<NativeRecord, string>;
  recordKeys: Database<string[], string>;
  index: Database<string, string>;
  meta: Database<unknown, string>;
}

function openDatabases(root: RootDatabase): Databases {
  return {
    // JSON rather than lmdb-js's msgpack default: plain, inspectable values with no hidden structure keys.
    records: root.openDB<NativeRecord, string>("records", { encoding: "json" }),
    recordKeys: root.openDB<string[], string>("record-keys", { encoding: "json" }),
    index: root.openDB<string, string>("index", { dupSort: true, encoding: "ordered-binary" }),
    meta: root.openDB<unknown, string>("meta", { encoding: "json" }),
  };
}

function checkFormat(meta: Database<unknown, string>): string {
  const version = meta.get("formatVersion");
  if (version !== STORE_FORMAT_VERSION) {
    throw new WatchmeshError(
      ErrorCode.ConfigInvalid,
      `record store has format version ${String(version)}; this version of Watchmesh reads version ${STORE_FORMAT_VERSION}`,
    );
  }
  const secret = meta.get("referenceSecret");
  if (typeof secret !== "string" || !/^[0-9a-f]{64}$/.test(secret)) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, "record store metadata is damaged: reference secret missing");
  }
  return secret;
}

/**
 * The store of one country node. Reads (`get`, `lookup`, `stats`, `referenceFor`) are synchronous;
 * writes are asynchronous and resolve once committed.
 */
export class RecordStore implements AsyncDisposable {
  readonly path: string;
  readonly #root: RootDatabase;
  readonly #db: Databases;
  readonly #secret: Buffer;
  readonly #defaultRegion: string | undefined;
  /** Write transactions queued but not yet committed; while any exist, committed reads may be stale. */
  #pendingWrites = 0;
  #closed: Promise<void> | undefined;

  private constructor(path: string, root: RootDatabase, db: Databases, secret: Buffer, defaultRegion: string | undefined) {
    this.path = path;
    this.#root = root;
    this.#db = db;
    this.#secret = secret;
    this.#defaultRegion = defaultRegion;
  }

  /**
   * Opens (creating when missing) the store in directory `path`. Asynchronous because a new store
   * writes its metadata (format version, reference secret) in a first transaction.
   */
  static async open(options: RecordStoreOptions): Promise<RecordStore> {
    let root: RootDatabase;
    try {
      root = open({
        path: options.path,
        // Always a directory, even when its name contains a dot.
        noSubdir: false,
        maxDbs: 8,
        ...(options.mapSizeBytes === undefined ? {} : { mapSize: options.mapSizeBytes }),
      });
    } catch (error) {
      throw new WatchmeshError(ErrorCode.Unavailable, `cannot open the record store at ${options.path}`, { cause: error });
    }
    try {
      const db = openDatabases(root);
      if (db.meta.get("formatVersion") === undefined) {
        // Checked again inside the transaction: another process may have created the store meanwhile.
        await root.childTransaction(() => {
          if (db.meta.get("formatVersion") !== undefined) return;
          db.meta.putSync("formatVersion", STORE_FORMAT_VERSION);
          db.meta.putSync("referenceSecret", randomBytes(32).toString("hex"));
          db.meta.putSync("persons", 0);
          db.meta.putSync("entities", 0);
          db.meta.putSync("generation", 0);
        });
      }
      const secret = checkFormat(db.meta);
      return new RecordStore(options.path, root, db, Buffer.from(secret, "hex"), options.defaultRegion);
    } catch (error) {
      await root.close();
      throw error instanceof WatchmeshError
        ? error
        : new WatchmeshError(ErrorCode.Unavailable, `cannot open the record store at ${options.path}`, { cause: error });
    }
  }

  /** Validates and stores one record; "unchanged" (and no write at all) when it is already stored as is. */
  async upsert(record: NativeRecord): Promise<UpsertOutcome> {
    const line = validateRecordLine(record);
    if (isDeleteOp(line)) throw new WatchmeshError(ErrorCode.InvalidArgument, "upsert takes a record, not a delete operation");
    const [outcome] = await this.applyBatch([line]);
    return outcome as UpsertOutcome;
  }

  /** Deletes a record and its index entries; false when there was none. */
  async remove(id: string): Promise<boolean> {
    const [outcome] = await this.applyBatch([{ op: "delete", id }]);
    return outcome === "deleted";
  }

  /**
   * Applies lines in order in ONE write transaction (all or nothing) and returns one outcome per line.
   * Lines must already be valid (`parseRecordLine`); defaults are filled in here. When every line is a
   * no-op (unchanged record, delete of a missing id) nothing is written at all.
   */
  async applyBatch(lines: readonly RecordLine[]): Promise<ApplyOutcome[]> {
    this.#assertOpen();
    if (lines.length === 0) return [];
    const prepared = lines.map((line): Prepared => {
      if (isDeleteOp(line)) return { op: "delete", id: line.id };
      const record = withDefaults(line);
      const json = stableStringify(record);
      // Stored in canonical form (sorted keys, no undefined), exactly what `json` describes. Index keys
      // are derived here, outside the write transaction, so a derivation error fails before any write.
      return { op: "upsert", record: JSON.parse(json) as NativeRecord, json, keys: this.#indexKeys(record) };
    });
    if (this.#pendingWrites === 0) {
      const noOps = prepared.map((item) => this.#noOpOutcome(item));
      if (noOps.every((outcome) => outcome !== undefined)) return noOps;
    }
    this.#pendingWrites++;
    try {
      // A child transaction is rolled back when its callback throws; a plain `transaction` would commit
      // whatever had been written before the throw.
      return await this.#root.childTransaction(() => this.#applyInTransaction(prepared));
    } catch (error) {
      throw WatchmeshError.from(error);
    } finally {
      this.#pendingWrites--;
    }
  }

  get(id: string): NativeRecord | undefined {
    this.#assertOpen();
    return this.#db.records.get(id);
  }

  /** Record ids stored under an index key (see matching/index-keys.ts). */
  lookup(indexKey: string): string[] {
    this.#assertOpen();
    return Array.from(this.#db.index.getValues(indexKey));
  }

  /** How many records an index key holds, without reading them: lets matching skip very common keys. */
  keyCount(indexKey: string): number {
    this.#assertOpen();
    return this.#db.index.getValuesCount(indexKey);
  }

  /**
   * The opaque reference of a record, the only thing about it that leaves the node:
   * `<country of the id, or REF>-R-<20 base32 characters of HMAC-SHA256(secret, id)>`. Stable for the
   * life of the store; without the secret it reveals nothing of the id beyond its country prefix.
   */
  referenceFor(id: string): string {
    const mac = createHmac("sha256", this.#secret).update(REFERENCE_DOMAIN).update(id, "utf8").digest();
    const prefix = /^([A-Z]{3})-/.exec(id)?.[1] ?? "REF";
    return `${prefix}-R-${base32(mac).slice(0, 20)}`;
  }

  /** The record id behind a reference this store handed out, if the record still exists. */
  idForReference(reference: string): string | undefined {
    const key = referenceKey(reference);
    if (key === undefined) return undefined;
    return this.lookup(key).find((id) => this.referenceFor(id) === reference);
  }

  stats(): StoreStats {
    this.#assertOpen();
    return this.#readCounters();
  }

  /** Waits for pending writes, then closes the environment. Idempotent: every call gets the same promise. */
  close(): Promise<void> {
    this.#closed ??= this.#root.close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new WatchmeshError(ErrorCode.Unavailable, "record store is closed");
  }

  #noOpOutcome(item: Prepared): ApplyOutcome | undefined {
    const stored = this.#db.records.get(item.op === "delete" ? item.id : item.record.id);
    if (item.op === "delete") return stored === undefined ? "not_found" : undefined;
    return stored !== undefined && stableStringify(stored) === item.json ? "unchanged" : undefined;
  }

  #readCounters(): Counters {
    const read = (key: string): number => {
      const value = this.#db.meta.get(key);
      return typeof value === "number" ? value : 0;
    };
    return { persons: read("persons"), entities: read("entities"), generation: read("generation") };
  }

  /** Runs inside the write transaction: reads here see this transaction's own writes. */
  #applyInTransaction(prepared: readonly Prepared[]): ApplyOutcome[] {
    const counters = this.#readCounters();
    const outcomes = prepared.map((item) => (item.op === "delete" ? this.#deleteOne(item.id, counters) : this.#upsertOne(item, counters)));
    if (outcomes.some((outcome) => outcome !== "unchanged" && outcome !== "not_found")) {
      counters.generation += 1;
      this.#db.meta.putSync("persons", counters.persons);
      this.#db.meta.putSync("entities", counters.entities);
      this.#db.meta.putSync("generation", counters.generation);
    }
    return outcomes;
  }

  #indexKeys(record: NativeRecord): string[] {
    return recordIndexKeys(record, this.referenceFor(record.id), this.#defaultRegion === undefined ? {} : { defaultRegion: this.#defaultRegion });
  }

  #storedKeys(old: NativeRecord): string[] {
    return this.#db.recordKeys.get(old.id) ?? this.#indexKeys(old);
  }

  #upsertOne(item: { record: NativeRecord; json: string; keys: string[] }, counters: Counters): ApplyOutcome {
    const { record } = item;
    const old = this.#db.records.get(record.id);
    if (old !== undefined && stableStringify(old) === item.json) return "unchanged";
    const newKeys = item.keys;
    const oldKeys = old === undefined ? [] : this.#storedKeys(old);
    const keep = new Set(newKeys);
    const had = new Set(oldKeys);
    for (const key of oldKeys) if (!keep.has(key)) this.#db.index.removeSync(key, record.id);
    for (const key of newKeys) if (!had.has(key)) this.#db.index.putSync(key, record.id);
    this.#db.records.putSync(record.id, record);
    this.#db.recordKeys.putSync(record.id, newKeys);
    if (old !== undefined) counters[counterOf(old.kind)] -= 1;
    counters[counterOf(record.kind)] += 1;
    return old === undefined ? "inserted" : "updated";
  }

  #deleteOne(id: string, counters: Counters): ApplyOutcome {
    const old = this.#db.records.get(id);
    if (old === undefined) return "not_found";
    for (const key of this.#storedKeys(old)) this.#db.index.removeSync(key, id);
    this.#db.records.removeSync(id);
    this.#db.recordKeys.removeSync(id);
    counters[counterOf(old.kind)] -= 1;
    return "deleted";
  }
}
