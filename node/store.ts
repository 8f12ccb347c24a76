/**
 * The node's record store: one LMDB environment (a directory) with named databases, and the face
 * index files beside them.
 *
 *   records      id → record (JSON, canonical: defaults applied, keys sorted)
 *   record-keys  id → the index keys written for that record, so an update or delete removes exactly
 *                those, even after the normalisation code has changed
 *   index        dupSort: index key → record id; keys are defined in matching/index-keys.ts
 *                  nm:<name blocking key>  doc:<ISSUER>:<reading>  docnum:<reading>  ent:<type>:<key>
 *                  dna:<locus-pair genotype key>  ref:<reference>  exp:<YYYY-MM-DD> (review/expiry date)
 *   nonces       <until, 15 digits>/<signer key id>:<nonce hex> → until: the time (ms) until which a
 *                replay must be refused. Keys begin with it so that new nonces are appended to the
 *                B-tree and expired ones are one range at its start (stores written before kept
 *                `<signer key id>:<nonce hex>` alone; those are rewritten on open)
 *   quotas       <UTC day>|<requesting country>/<agency> → queries counted against the sharing policy
 *   face-keys    the numeric key of each person that has (or had) a face template, for the face index:
 *                  fk:<id> → key   fkr:<key> → id
 *                keys come from the counter meta.nextFaceKey and are never reused; a delete drops both
 *   name-terms   the name vocabulary: every term of a stored name (matching/names/vocabulary.ts) →
 *                the generation that first wrote it; terms are never removed (a term no record holds
 *                any more costs a search nothing but a key read that finds nobody)
 *   name-term-log [generation, term] for every term a generation added: a matcher that holds the
 *                vocabulary reads only what the generations since its last read added
 *   meta         formatVersion, referenceSecret (32 random bytes, hex), persons, entities, generation,
 *                nextFaceKey, nameTerms (1 once the name vocabulary holds every stored record's terms;
 *                a store written before it had one is brought up to date on open)
 *
 * Every change (record, its index entries, face key, counters) is one LMDB transaction, so a crash
 * leaves either the old or the new state. Matching reads only `index`, `face-keys` and the candidate
 * records: never a scan. The purge of expired records reads the `exp:` keys below today as one range.
 * Aggregate queries (federated analysis) do scan every record, in slices (`records()`).
 *
 * Face templates are also held in a `FaceIndex` (matching/face-index.ts), files `face-<model>.usearch`
 * in the same directory. It follows LMDB after each commit (add / remove by face key) and is written
 * to disk on `flush()` (the importer calls it at the end) and `close()`, not per batch. It is a cache
 * of LMDB: its dirty marker is written before any commit that may touch a face, so after a crash
 * `open()` rebuilds it from the records.
 *
 * One process at a time owns the face index: a node serving queries does not see faces imported by
 * another process into the same directory until it restarts.
 */
import { randomBytes } from "node:crypto";
import { setImmediate } from "node:timers/promises";
import { asBinary, open, type Database, type RootDatabase, type Transaction } from "lmdb";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import {
  FaceIndex,
  type FaceIndexEntry,
  type FaceModelOverrides,
  type FaceModelRegistry,
  type FaceTemplate,
} from "./matching/face-index.ts";
import { parseDob } from "./matching/dates.ts";
import { EXPIRY_KEY_PREFIX, isPrefixKey, PREFIX_KEY_MARK, referenceKey } from "./matching/index-keys.ts";
import { writeOrder } from "./key-order.ts";
import { nameTermKeys } from "./matching/names/vocabulary.ts";
import { prepareLine, recordReference, storedRecordKeys, type PreparationContext, type PreparedLine } from "./record-preparation.ts";
import { isDeleteOp, isExpired, isValidCalendarDay, validateRecordLine, type NativeRecord, type PersonRecord, type RecordLine } from "./record-schema.ts";

/**
 * Bumped whenever stored records or index keys change shape; a store of another version is refused.
 * 6: records with a review/expiry date carry an `exp:<YYYY-MM-DD>` index key.
 * 7: year-only records carry term-pair keys (`pyt:`) instead of code-pair keys (`pyo:`). A store of
 *    format 6 is migrated when this version first opens it (migrateFromFormat6).
 */
export const STORE_FORMAT_VERSION = 7;

/** Digits of the time that begins a stored nonce key: milliseconds up to the year 33658. */
const NONCE_TIME_DIGITS = 15;
const STORED_NONCE_KEY = new RegExp(`^\\d{${NONCE_TIME_DIGITS}}/`);
/** Expired nonces one group commit removes at most (the rest go with the next groups). */
const NONCE_PURGE_MAX = 10_000;

/** `<until, zero-padded>/<key>`: stored nonce keys sort by the time until which they are kept. */
function storedNonceKey(key: string, untilMs: number): string {
  const time = Math.min(Math.max(0, Math.floor(untilMs)), 10 ** NONCE_TIME_DIGITS - 1);
  return `${String(time).padStart(NONCE_TIME_DIGITS, "0")}/${key}`;
}

/**
 * Records one purge transaction deletes at most. The purge runs while the node answers queries, and a
 * write transaction is synchronous (it holds the event loop), so a large backlog goes in several.
 */
export const PURGE_MAX_RECORDS = 10_000;

export interface PurgeOptions {
  /** At most this many records in this call, earliest expiry first (default PURGE_MAX_RECORDS). */
  maxRecords?: number;
}

export type UpsertOutcome = "inserted" | "updated" | "unchanged";

/** What an import line can come to; the store keeps running totals (see recordImportOutcomes). */
export const IMPORT_OUTCOMES = ["inserted", "updated", "unchanged", "deleted", "not_found", "rejected"] as const;
export type ImportOutcome = (typeof IMPORT_OUTCOMES)[number];
export type ApplyOutcome = UpsertOutcome | "deleted" | "not_found";

export interface RecordStoreOptions {
  /** Directory of the LMDB environment; created when missing. */
  path: string;
  /** Initial LMDB map size; lmdb-js grows the map when it fills up. */
  mapSizeBytes?: number;
  /** Region (ISO alpha-3) for national phone numbers in records, usually the node's country. */
  defaultRegion?: string;
  /** Per-node face model changes (thresholds, extra models); see `FaceIndexOptions.models`. */
  faceModels?: FaceModelOverrides;
}

export interface FaceSearchResult {
  id: string;
  /** Cosine similarity, at least the model's threshold. */
  similarity: number;
}

export interface StoreStats {
  persons: number;
  entities: number;
  /** Incremented by every transaction that changed something; equal before and after means no write. */
  generation: number;
}


/**
 * A line as the store applies it: a prepared line, or a purge's delete, which is re-checked inside the
 * write transaction (`expiredBefore`) so that a record renewed since the purge read it is kept.
 */
type StoreLine = Exclude<PreparedLine, { op: "delete" }> | { op: "delete"; id: string; expiredBefore?: string };

/** A record whose face key a transaction touched; the face index is brought in line after commit. */
interface FaceChange {
  id: string;
  key: number;
}

/** Index entries to add or remove, collected during a transaction and written together at its end. */
class IndexChanges {
  readonly keys: string[] = [];
  readonly ids: string[] = [];
  readonly adds: boolean[] = [];

  push(key: string, id: string, add: boolean): void {
    this.keys.push(key);
    this.ids.push(id);
    this.adds.push(add);
  }

  /** What takes record `id` from `oldKeys` to `newKeys`: the keys it leaves, and those it joins. */
  pushDifference(id: string, oldKeys: readonly string[], newKeys: readonly string[]): void {
    const keep = new Set(newKeys);
    const had = new Set(oldKeys);
    for (const key of oldKeys) if (!keep.has(key)) this.push(key, id, false);
    for (const key of newKeys) if (!had.has(key)) this.push(key, id, true);
  }
}

/** What a transaction collects besides its direct writes. */
interface TransactionWork {
  faceChanges: FaceChange[];
  indexChanges: IndexChanges;
}

const faceKeyOf = (id: string): string => `fk:${id}`;
const faceRecordOf = (key: number | bigint): string => `fkr:${key}`;

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
  faceKeys: Database<number | string, string>;
  nameTerms: Database<number, string>;
  nameTermLog: Database<true, [number, string]>;
  nonces: Database<number, string>;
  quotas: Database<number, string>;
  meta: Database<unknown, string>;
}

/** The key range a prefix key stands for (index keys are ASCII or UTF-8, all below U+FFFF's encoding). */
function prefixRange(indexKey: string): { start: string; end: string } | undefined {
  if (!isPrefixKey(indexKey)) return undefined;
  const prefix = indexKey.slice(0, -PREFIX_KEY_MARK.length);
  return { start: prefix, end: `${prefix}\uffff` };
}

/** Whether stored record bytes are exactly the canonical JSON `json`. */
function storedAs(stored: Buffer, json: string): boolean {
  return stored.length === Buffer.byteLength(json, "utf8") && stored.toString("utf8") === json;
}

function openDatabases(root: RootDatabase): Databases {
  return {
    // JSON rather than lmdb-js's msgpack default: plain, inspectable values with no hidden structure keys.
    records: root.openDB<NativeRecord, string>("records", { encoding: "json" }),
    recordKeys: root.openDB<string[], string>("record-keys", { encoding: "json" }),
    index: root.openDB<string, string>("index", { dupSort: true, encoding: "ordered-binary" }),
    faceKeys: root.openDB<number | string, string>("face-keys", { encoding: "json" }),
    nameTerms: root.openDB<number, string>("name-terms", { encoding: "json" }),
    nameTermLog: root.openDB<true, [number, string]>("name-term-log", { encoding: "json" }),
    nonces: root.openDB<number, string>("nonces", { encoding: "json" }),
    quotas: root.openDB<number, string>("quotas", { encoding: "json" }),
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
  readonly #faceIndex: FaceIndex;
  /** Write transactions queued but not yet committed; while any exist, committed reads may be stale. */
  #pendingWrites = 0;
  /** Batches not yet finished (including their face index updates); `close()` waits for them. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Index key scans (scanIndexKeys) under way: close() lets them stop first. */
  readonly #scans = new Set<Promise<unknown>>();
  #closed: Promise<void> | undefined;

  private constructor(parts: { path: string; root: RootDatabase; db: Databases; secret: Buffer; defaultRegion: string | undefined; faceIndex: FaceIndex }) {
    this.path = parts.path;
    this.#root = parts.root;
    this.#db = parts.db;
    this.#secret = parts.secret;
    this.#defaultRegion = parts.defaultRegion;
    this.#faceIndex = parts.faceIndex;
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
        maxDbs: 10,
        // Pages are changed in the map itself: no dirty-page list to keep sorted, which made imports into
        // a large store quadratic in the pages a batch touches (LMDB's list is limited and sorted).
        useWritemap: true,
        ...(options.mapSizeBytes === undefined ? {} : { mapSize: options.mapSizeBytes }),
      });
    } catch (error) {
      throw new WatchmeshError(ErrorCode.Unavailable, `cannot open the record store at ${options.path}`, { cause: error });
    }
    let faceIndex: FaceIndex | undefined;
    try {
      const db = openDatabases(root);
      if (db.meta.get("formatVersion") === undefined) {
        // Checked again inside the transaction: another process may have created the store meanwhile.
        root.transactionSync(() => {
          if (db.meta.get("formatVersion") !== undefined) return;
          db.meta.putSync("formatVersion", STORE_FORMAT_VERSION);
          db.meta.putSync("referenceSecret", randomBytes(32).toString("hex"));
          db.meta.putSync("persons", 0);
          db.meta.putSync("entities", 0);
          db.meta.putSync("generation", 0);
          db.meta.putSync("nextFaceKey", 0);
          db.meta.putSync("nameTerms", NAME_TERMS_VERSION);
        });
      }
      if (db.meta.get("formatVersion") === 6) root.transactionSync(() => migrateFromFormat6(db));
      const secret = checkFormat(db.meta);
      if (db.meta.get("nameTerms") !== NAME_TERMS_VERSION) root.transactionSync(() => addNameTermsOfStoredRecords(db));
      faceIndex = await FaceIndex.open({ dir: options.path, ...(options.faceModels === undefined ? {} : { models: options.faceModels }) });
      // After a crash with unflushed face changes: the one full scan of the records (see the header).
      if (faceIndex.needsRebuild) await faceIndex.rebuild(storedFaces(db, faceIndex));
      return new RecordStore({ path: options.path, root, db, secret: Buffer.from(secret, "hex"), defaultRegion: options.defaultRegion, faceIndex });
    } catch (error) {
      await faceIndex?.close().catch(() => undefined);
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
    const context = this.preparationContext();
    // Keys are derived before the write transaction, so a derivation error fails before any write.
    return this.applyPrepared(lines.map((line) => prepareLine(line, context)));
  }

  /** What `prepareLine` needs to prepare lines for this store (an import may prepare in a worker). */
  preparationContext(): PreparationContext {
    return { referenceSecret: this.#secret, ...(this.#defaultRegion === undefined ? {} : { defaultRegion: this.#defaultRegion }) };
  }

  /** `applyBatch` for lines already prepared with this store's `preparationContext()`. */
  async applyPrepared(prepared: readonly PreparedLine[]): Promise<ApplyOutcome[]> {
    this.#assertOpen();
    return await this.#tracked(this.#applyPrepared(prepared));
  }

  /**
   * Deletes the records whose review/expiry date is before `today` (a UTC day "YYYY-MM-DD"; a record is
   * still valid on its own `expiresAt` day), each exactly as `remove` does — record, every index entry,
   * face key — in one transaction, and returns how many it deleted. The expired records are read as the
   * range of `exp:` keys below today's, never by a scan. Deletes at most `maxRecords`, earliest expiry
   * first: call again while it returns that many.
   */
  async purgeExpired(today: string, options: PurgeOptions = {}): Promise<number> {
    this.#assertOpen();
    if (!isValidCalendarDay(today)) throw new WatchmeshError(ErrorCode.InvalidArgument, "purge day must be YYYY-MM-DD, a real calendar date");
    const maxRecords = options.maxRecords ?? PURGE_MAX_RECORDS;
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) throw new WatchmeshError(ErrorCode.InvalidArgument, "purge maxRecords must be a positive integer");
    const ids = new Set<string>();
    // The end is exclusive: "exp:<today>" itself (records valid through today) is not read.
    for (const { value: id } of this.#db.index.getRange({ start: EXPIRY_KEY_PREFIX, end: EXPIRY_KEY_PREFIX + today })) {
      ids.add(id);
      if (ids.size >= maxRecords) break;
    }
    if (ids.size === 0) return 0;
    const lines: StoreLine[] = [...ids].map((id) => ({ op: "delete", id, expiredBefore: today }));
    const outcomes = await this.#tracked(this.#applyPrepared(lines));
    return outcomes.filter((outcome) => outcome === "deleted").length;
  }

  /** Keeps a write in `#inFlight` until it settles, so that `close()` and `flush()` wait for it. */
  async #tracked<T>(writing: Promise<T>): Promise<T> {
    this.#inFlight.add(writing);
    try {
      return await writing;
    } finally {
      this.#inFlight.delete(writing);
    }
  }

  // Synchronous inside (see the transaction below) but asynchronous to callers, as all writes are.
  // eslint-disable-next-line @typescript-eslint/require-await
  async #applyPrepared(prepared: readonly StoreLine[]): Promise<ApplyOutcome[]> {
    if (prepared.length === 0) return [];
    // Checked against this node's face models now, so that the face index cannot refuse it after commit.
    for (const item of prepared) if (item.op === "upsert" && item.hasFace) this.#faceIndex.parse((JSON.parse(item.json) as PersonRecord).face);
    if (this.#pendingWrites === 0) {
      // Stops at the first line that changes something: a batch of new records costs one read here.
      const noOps: ApplyOutcome[] = [];
      for (const item of prepared) {
        const outcome = this.#noOpOutcome(item);
        if (outcome === undefined) break;
        noOps.push(outcome);
      }
      if (noOps.length === prepared.length) return noOps;
    }
    // Once the store has ever held a face, any change may touch one: mark the face index dirty before
    // committing, so that a crash between the commit and the index update leads to a rebuild.
    if (prepared.some((item) => item.op === "upsert" && item.hasFace) || this.#nextFaceKey() > 0) this.#faceIndex.markDirty();
    let work: TransactionWork = { faceChanges: [], indexChanges: new IndexChanges() };
    let outcomes: ApplyOutcome[];
    this.#pendingWrites++;
    try {
      // A synchronous transaction is aborted when its callback throws (an asynchronous `transaction`
      // would commit whatever had been written before the throw). Synchronous also because the store
      // uses a write map, which LMDB does not combine with child transactions.
      outcomes = this.#root.transactionSync(() => {
        work = { faceChanges: [], indexChanges: new IndexChanges() };
        return this.#applyInTransaction(prepared, work);
      });
    } catch (error) {
      throw WatchmeshError.from(error);
    } finally {
      this.#pendingWrites--;
    }
    this.#syncFaces(work.faceChanges);
    return outcomes;
  }

  get(id: string): NativeRecord | undefined {
    this.#assertOpen();
    return this.#db.records.get(id);
  }

  /** Every stored record, read lazily in id order (for aggregate counts). */
  records(): Iterable<NativeRecord> {
    this.#assertOpen();
    return this.#db.records.getRange().map(({ value }) => value);
  }

  /** Record ids stored under an index key, or under every key of a prefix key (see matching/index-keys.ts). */
  lookup(indexKey: string): string[] {
    this.#assertOpen();
    const range = prefixRange(indexKey);
    if (range === undefined) return Array.from(this.#db.index.getValues(indexKey));
    return Array.from(this.#db.index.getRange(range), ({ value }) => value);
  }

  /**
   * At most `limit` of the record ids under an index key or prefix key (as `lookup`): asking for one
   * more than a key may usefully hold tells a key too common to use without counting it first. Most
   * keys a query asks for hold nobody, and a plain get says so for half the cost of a range read.
   */
  lookupUpTo(indexKey: string, limit: number): string[] {
    this.#assertOpen();
    const range = prefixRange(indexKey);
    if (range === undefined) {
      if (!this.#db.index.doesExist(indexKey)) return [];
      return Array.from(this.#db.index.getValues(indexKey, { limit }));
    }
    return Array.from(this.#db.index.getRange({ ...range, limit }), ({ value }) => value);
  }

  /**
   * Terms of the name vocabulary (see matching/names/vocabulary.ts) that generations after
   * `generation` added; every term with -1. A term may come again in a later call.
   */
  nameTermsSince(generation: number): string[] {
    this.#assertOpen();
    return Array.from(this.#db.nameTermLog.getKeys({ start: [generation + 1, ""] }), ([, term]) => term);
  }

  /**
   * Every distinct index key, read from one snapshot, `keysPerTurn` at a time with the event loop getting
   * a turn in between (a million persons have about seven million keys); resolves with the generation of
   * that snapshot. Stops with UNAVAILABLE when the store is closed meanwhile.
   */
  async scanIndexKeys(onKey: (key: string) => void, options: { keysPerTurn?: number } = {}): Promise<{ generation: number; keys: number }> {
    this.#assertOpen();
    const keysPerTurn = options.keysPerTurn ?? 10_000;
    const scan = async () => {
      // Not in the caller's turn (a query's): the first slice waits like the others.
      await setImmediate();
      this.#assertOpen();
      const transaction = this.#root.useReadTransaction();
      try {
        const generation = this.#readCounter("generation", transaction);
        let keys = 0;
        for (const key of this.#db.index.getKeys({ transaction })) {
          onKey(key);
          if (++keys % keysPerTurn === 0) {
            await setImmediate();
            this.#assertOpen();
          }
        }
        return { generation, keys };
      } finally {
        transaction.done();
      }
    };
    // close() waits for a scan to stop (at its next slice); flush(), which waits for writes, does not.
    const scanning = scan();
    this.#scans.add(scanning);
    try {
      return await scanning;
    } finally {
      this.#scans.delete(scanning);
    }
  }

  /** At least as many as the distinct index keys (LMDB counts each id under a key): to size a filter of them. */
  indexEntryCount(): number {
    this.#assertOpen();
    const { entryCount } = this.#db.index.getStats() as { entryCount?: number };
    return entryCount ?? 0;
  }

  /** How many records an index key (or prefix key) holds, without reading them: lets matching skip very common keys. */
  keyCount(indexKey: string): number {
    this.#assertOpen();
    const range = prefixRange(indexKey);
    return range === undefined ? this.#db.index.getValuesCount(indexKey) : this.#db.index.getCount(range);
  }

  /**
   * The opaque reference of a record, the only thing about it that leaves the node:
   * `<country of the id, or REF>-R-<20 base32 characters of HMAC-SHA256(secret, id)>`. Stable for the
   * life of the store; without the secret it reveals nothing of the id beyond its country prefix.
   */
  referenceFor(id: string): string {
    return recordReference(this.#secret, id);
  }

  /** The record id behind a reference this store handed out, if the record still exists. */
  idForReference(reference: string): string | undefined {
    const key = referenceKey(reference);
    if (key === undefined) return undefined;
    return this.lookup(key).find((id) => this.referenceFor(id) === reference);
  }

  /** The face model registry in force (defaults with this node's overrides). */
  get faceModels(): FaceModelRegistry {
    return this.#faceIndex.models;
  }

  /**
   * Person records whose face template reaches the model's threshold against `template` (parse it
   * with `parseFaceTemplate(input, field, store.faceModels)`), at most k, most similar first.
   */
  faceSearch(template: FaceTemplate, k: number): FaceSearchResult[] {
    this.#assertOpen();
    const results: FaceSearchResult[] = [];
    for (const { key, similarity } of this.#faceIndex.search(template, k)) {
      const id = this.#db.faceKeys.get(faceRecordOf(key));
      // A key whose record was deleted or re-keyed meanwhile is skipped.
      if (typeof id !== "string" || this.#db.faceKeys.get(faceKeyOf(id)) !== Number(key)) continue;
      results.push({ id, similarity });
    }
    return results;
  }

  /** Writes the face index to disk (LMDB commits are durable already); call after a bulk import. */
  async flush(): Promise<void> {
    this.#assertOpen();
    await Promise.allSettled([...this.#inFlight]);
    await this.#faceIndex.flush();
  }

  /**
   * Remembers query nonces (each until its time), and forgets those expired at `nowMs`, in one
   * transaction: the caller keeps its own in-memory copy for immediate checks and writes them here in
   * groups (see replay-guard.ts).
   */
  async rememberNonces(nonces: readonly (readonly [key: string, untilMs: number])[], nowMs: number): Promise<void> {
    this.#assertOpen();
    await this.#db.nonces.transaction(() => {
      for (const [key, untilMs] of nonces) this.#db.nonces.putSync(storedNonceKey(key, untilMs), untilMs);
      // Expired nonces are the start of the key order; a bounded share per group keeps commits short.
      // Read before removing: the keys are not deleted from under the cursor that reads them.
      const expired = [...this.#db.nonces.getKeys({ end: storedNonceKey("", nowMs + 1), limit: NONCE_PURGE_MAX })];
      for (const key of expired) this.#db.nonces.removeSync(key);
    });
  }

  /**
   * Persists a requester's query count for a day (sharing-policy quotas), without waiting for the disk:
   * the policy keeps the live counts in memory and reads them back from here after a restart.
   */
  recordQuotaUse(day: string, requester: string, count: number): void {
    this.#assertOpen();
    this.#db.quotas.put(`${day}|${requester}`, count).catch(() => undefined);
  }

  /** Query counts per requester recorded for `day`; counts of earlier days are removed on the way. */
  quotaUses(day: string): Map<string, number> {
    this.#assertOpen();
    const uses = new Map<string, number>();
    for (const { key, value } of this.#db.quotas.getRange()) {
      const [keyDay = "", requester = ""] = key.split("|");
      if (keyDay === day && typeof value === "number") uses.set(requester, value);
      else if (keyDay < day) this.#db.quotas.remove(key).catch(() => undefined);
    }
    return uses;
  }

  /**
   * Adds an import's outcome counts to the store's running totals, so that a serving node reports
   * imports run by another process (`watchmesh node import`) in its metrics.
   */
  async recordImportOutcomes(counts: Readonly<Record<ImportOutcome, number>>): Promise<void> {
    this.#assertOpen();
    await this.#db.meta.transaction(() => {
      const totals = this.importOutcomes();
      for (const outcome of IMPORT_OUTCOMES) totals[outcome] += counts[outcome];
      this.#db.meta.put("importOutcomes", totals).catch(() => undefined);
    });
  }

  /** Running totals of import outcomes since the store was created. */
  importOutcomes(): Record<ImportOutcome, number> {
    this.#assertOpen();
    const stored = this.#db.meta.get("importOutcomes") as Partial<Record<ImportOutcome, number>> | undefined;
    return Object.fromEntries(IMPORT_OUTCOMES.map((outcome) => [outcome, stored?.[outcome] ?? 0])) as Record<ImportOutcome, number>;
  }

  /**
   * Remembered nonces still in force at `nowMs`, by `<signer key id>:<nonce hex>`. Nonces kept by an
   * earlier version under that key alone are rewritten with their time first, or removed when expired.
   */
  liveNonces(nowMs: number): Map<string, number> {
    this.#assertOpen();
    const live = new Map<string, number>();
    for (const { key, value } of this.#db.nonces.getRange({ start: storedNonceKey("", nowMs + 1) })) {
      if (typeof value !== "number") continue;
      const legacy = !STORED_NONCE_KEY.test(key);
      const nonceKey = legacy ? key : key.slice(NONCE_TIME_DIGITS + 1);
      if (legacy) {
        this.#db.nonces.remove(key).catch(() => undefined);
        if (value <= nowMs) continue;
        this.#db.nonces.put(storedNonceKey(nonceKey, value), value).catch(() => undefined);
      }
      live.set(nonceKey, Math.max(value, live.get(nonceKey) ?? 0));
    }
    return live;
  }

  stats(): StoreStats {
    this.#assertOpen();
    return this.#readCounters();
  }

  /**
   * A number that changes with every transaction that changed a record, made by this process or by
   * another one sharing the store (StoreStats.generation, read alone): what was read from the store
   * under one generation still holds while it stays the same.
   */
  generation(): number {
    this.#assertOpen();
    return this.#readCounter("generation");
  }

  /**
   * Waits for pending writes, flushes the face index, then closes the environment. Idempotent: every
   * call gets the same promise.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#inFlight, ...this.#scans]);
      try {
        await this.#faceIndex.close();
      } finally {
        await this.#root.close();
      }
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new WatchmeshError(ErrorCode.Unavailable, "record store is closed");
  }

  #noOpOutcome(item: StoreLine): ApplyOutcome | undefined {
    const stored = this.#db.records.getBinary(item.id);
    if (item.op === "delete") return stored === undefined ? "not_found" : undefined;
    return stored !== undefined && storedAs(stored, item.json) ? "unchanged" : undefined;
  }

  #nextFaceKey(): number {
    const value = this.#db.meta.get("nextFaceKey");
    return typeof value === "number" ? value : 0;
  }

  /**
   * Brings the face index in line with what LMDB now holds for each changed record. It reads the
   * committed state rather than replaying the batch, so batches finishing in any order converge.
   */
  #syncFaces(changes: readonly FaceChange[]): void {
    for (const { id, key } of changes) {
      const record = this.#db.records.get(id);
      if (record?.kind === "person" && record.face !== undefined && this.#db.faceKeys.get(faceKeyOf(id)) === key) {
        this.#faceIndex.add(key, this.#faceIndex.parse(record.face));
      } else {
        this.#faceIndex.remove(key);
      }
    }
  }

  /** Runs inside the write transaction: the record's face key, assigned on its first face. */
  #faceKeyFor(id: string, hasFace: boolean): number | undefined {
    const existing = this.#db.faceKeys.get(faceKeyOf(id));
    if (typeof existing === "number" || !hasFace) return typeof existing === "number" ? existing : undefined;
    const key = this.#nextFaceKey();
    this.#db.meta.putSync("nextFaceKey", key + 1);
    this.#db.faceKeys.putSync(faceKeyOf(id), key);
    this.#db.faceKeys.putSync(faceRecordOf(key), id);
    return key;
  }

  /** A counter of meta, read in `transaction` when given (else in the current read snapshot). */
  #readCounter(key: keyof Counters, transaction?: Transaction): number {
    const value = this.#db.meta.get(key, transaction ? { transaction } : undefined);
    return typeof value === "number" ? value : 0;
  }

  #readCounters(): Counters {
    return { persons: this.#readCounter("persons"), entities: this.#readCounter("entities"), generation: this.#readCounter("generation") };
  }

  /** Runs inside the write transaction: reads here see this transaction's own writes. */
  #applyInTransaction(prepared: readonly StoreLine[], work: TransactionWork): ApplyOutcome[] {
    const counters = this.#readCounters();
    const outcomes = prepared.map((item) =>
      item.op === "delete" ? this.#deleteOne(item, counters, work) : this.#upsertOne(item, counters, work),
    );
    writeIndexChanges(this.#db, work.indexChanges);
    if (outcomes.some((outcome) => outcome !== "unchanged" && outcome !== "not_found")) {
      counters.generation += 1;
      prepared.forEach((item, i) => {
        const outcome = outcomes[i];
        if (item.op === "upsert" && (outcome === "inserted" || outcome === "updated")) addNameTerms(this.#db, item.terms, counters.generation);
      });
      this.#db.meta.putSync("persons", counters.persons);
      this.#db.meta.putSync("entities", counters.entities);
      this.#db.meta.putSync("generation", counters.generation);
    }
    return outcomes;
  }

  #storedKeys(old: NativeRecord): string[] {
    return this.#db.recordKeys.get(old.id) ?? storedRecordKeys(old, this.preparationContext());
  }

  #upsertOne(item: Extract<StoreLine, { op: "upsert" }>, counters: Counters, work: TransactionWork): ApplyOutcome {
    const { id } = item;
    const stored = this.#db.records.getBinary(id);
    if (stored !== undefined && storedAs(stored, item.json)) return "unchanged";
    const old = stored === undefined ? undefined : (JSON.parse(stored.toString("utf8")) as NativeRecord);
    const newKeys = item.keys;
    work.indexChanges.pushDifference(id, old === undefined ? [] : this.#storedKeys(old), newKeys);
    // The canonical JSON is stored as is: the bytes the "json" encoding would have written for it.
    this.#db.records.putSync(id, asBinary(Buffer.from(item.json, "utf8")) as unknown as NativeRecord);
    this.#db.recordKeys.putSync(id, newKeys);
    const faceKey = this.#faceKeyFor(id, item.hasFace);
    if (faceKey !== undefined) work.faceChanges.push({ id, key: faceKey });
    if (old !== undefined) counters[counterOf(old.kind)] -= 1;
    counters[counterOf(item.kind)] += 1;
    return old === undefined ? "inserted" : "updated";
  }

  #deleteOne({ id, expiredBefore }: Extract<StoreLine, { op: "delete" }>, counters: Counters, work: TransactionWork): ApplyOutcome {
    const old = this.#db.records.get(id);
    if (old === undefined) return "not_found";
    // A purge's delete: another process may have renewed the record since the purge read its key.
    if (expiredBefore !== undefined && !isExpired(old, expiredBefore)) return "unchanged";
    const faceKey = this.#db.faceKeys.get(faceKeyOf(id));
    if (typeof faceKey === "number") {
      this.#db.faceKeys.removeSync(faceKeyOf(id));
      this.#db.faceKeys.removeSync(faceRecordOf(faceKey));
      work.faceChanges.push({ id, key: faceKey });
    }
    for (const key of this.#storedKeys(old)) work.indexChanges.push(key, id, false);
    this.#db.records.removeSync(id);
    this.#db.recordKeys.removeSync(id);
    counters[counterOf(old.kind)] -= 1;
    return "deleted";
  }
}

/** Index changes are written last, in an order that visits B-tree pages in sequence (key-order.ts). */
function writeIndexChanges(db: Databases, { keys, ids, adds }: IndexChanges): void {
  for (const i of writeOrder(keys)) {
    const key = keys[i] as string;
    const id = ids[i] as string;
    if (adds[i]) db.index.putSync(key, id);
    else db.index.removeSync(key, id);
  }
}

/** meta.nameTerms of a store whose name vocabulary holds the terms of every stored record. */
const NAME_TERMS_VERSION = 1;

/**
 * Adds terms (nameTermKeys) to the vocabulary inside a write transaction, each new one logged under
 * `generation`; terms it holds already change nothing.
 */
function addNameTerms(db: Databases, terms: readonly string[], generation: number): void {
  for (const term of terms) {
    if (db.nameTerms.doesExist(term)) continue;
    db.nameTerms.putSync(term, generation);
    db.nameTermLog.putSync([generation, term], true);
  }
}

/**
 * The vocabulary of a store written before it had one: the terms of every stored person, read in one
 * scan when the store is first opened by this version (again inside the transaction, in case another
 * process did it meanwhile).
 */
function addNameTermsOfStoredRecords(db: Databases): void {
  if (db.meta.get("nameTerms") === NAME_TERMS_VERSION) return;
  const generation = Number(db.meta.get("generation") ?? 0);
  for (const { value: record } of db.records.getRange()) {
    if (record.kind === "person") addNameTerms(db, nameTermKeys(record.names), generation);
  }
  db.meta.putSync("nameTerms", NAME_TERMS_VERSION);
}

/**
 * Format 6 → 7, in one transaction (checked again inside it, in case another process did it meanwhile):
 * the index keys of every person whose date of birth is only a year are worked out again and the index
 * follows (`pyo:` code pairs → `pyt:` term pairs; format 7 changed no other key). The generation moves,
 * so that matchers drop what they remember of the store. All or nothing: a crash leaves format 6.
 */
function migrateFromFormat6(db: Databases): void {
  if (db.meta.get("formatVersion") !== 6) return;
  const secret = db.meta.get("referenceSecret");
  if (typeof secret !== "string") throw new WatchmeshError(ErrorCode.ConfigInvalid, "record store metadata is damaged: reference secret missing");
  // The region only reads entities' national phone numbers: a person's keys need none.
  const context: PreparationContext = { referenceSecret: Buffer.from(secret, "hex") };
  const changes = new IndexChanges();
  for (const { key: id, value: record } of db.records.getRange()) {
    if (record.kind !== "person") continue;
    const dob = parseDob(record.dob);
    if (dob === undefined || dob.month !== undefined) continue;
    const oldKeys = db.recordKeys.get(id);
    if (oldKeys === undefined) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, "record store metadata is damaged: a record has no index keys", { context: { recordId: id } });
    }
    const newKeys = storedRecordKeys(record, context);
    changes.pushDifference(id, oldKeys, newKeys);
    db.recordKeys.putSync(id, newKeys);
  }
  writeIndexChanges(db, changes);
  db.meta.putSync("generation", Number(db.meta.get("generation") ?? 0) + 1);
  db.meta.putSync("formatVersion", STORE_FORMAT_VERSION);
}

/**
 * Every face template in the store with its face key, for `FaceIndex.rebuild`: a scan of all records,
 * run only when the face index was left incomplete by a crash.
 */
function* storedFaces(db: Databases, faceIndex: FaceIndex): Generator<FaceIndexEntry> {
  for (const { key: id, value: record } of db.records.getRange()) {
    if (record.kind !== "person" || record.face === undefined) continue;
    const faceKey = db.faceKeys.get(faceKeyOf(id));
    if (typeof faceKey !== "number") {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, "record store metadata is damaged: a face template has no face key", { context: { recordId: id } });
    }
    yield { key: faceKey, template: faceIndex.parse(record.face) };
  }
}
