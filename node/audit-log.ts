/**
 * A node's tamper-evident audit log: one entry per answered query, in its own LMDB environment beside the
 * records (`<dataDir>/audit`). Entries are hash-chained and, every `sealEvery` entries and on close, sealed
 * with the node's signature, so an auditor holding only the trust registry can tell that an entry was
 * altered, removed or moved (`verifyAuditLog`, `watchmesh audit verify`). No personal data is logged:
 * ids, country/agency codes, purpose, status, error code, opaque hit references and the query digest.
 *
 * Exact encoding, for an auditor re-implementing the check:
 * - entry hash = lowercase hex SHA-256 of the UTF-8 bytes of
 *   `JSON.stringify(["watchmesh-audit-entry/v1", seq, time, queryId, requesterCountry, requesterAgency,
 *   purpose, status, errorCode, hitReferences, queryDigest, prevHash])` — a JSON array, no spaces, numbers
 *   as JSON numbers, `hitReferences` an array of strings, `time` an ISO-8601 UTC string. The first entry
 *   (seq 1) has `prevHash` = 64 zeros; every later one the `hash` of entry seq-1.
 * - seal signature = Ed25519 (common/signing.ts, domain "watchmesh/v1/audit-seal\0") over the UTF-8 bytes of
 *   `JSON.stringify(["watchmesh-audit-seal/v1", upToSeq, hash, signedAt, keyId])`.
 * - checkpoint signature (after a purge) = the same domain over
 *   `JSON.stringify(["watchmesh-audit-checkpoint/v1", seq, hash, purgedAt, keyId])`.
 *
 * What a hash chain cannot show: entries appended after the last seal can be cut off without trace (the
 * verifier reports that unsealed tail as a warning), and a purge is only as legitimate as the node's key.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { open, type Database, type RootDatabase } from "lmdb";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import type { Logger } from "../common/logger.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { SignatureDomain, sha256Hex, signDetached, verifyDetached } from "../common/signing.ts";
import { WriteBehind } from "./write-behind.ts";

export const DEFAULT_SEAL_EVERY = 100;
const DEFAULT_AUDIT_PURGE_INTERVAL_MS = 60 * 60 * 1000;
const GENESIS_HASH = "0".repeat(64);
const SEQ_DIGITS = 12;
const CHECKPOINT_KEY = "checkpoint";

/** "aggregate": an aggregate query answered with counts (proto/watchmesh/v1/aggregate.proto). */
export type AuditStatus = "hit" | "no_hit" | "refused" | "error" | "aggregate";

/** What MatchService reports per answered query: only safe, non-personal fields. */
export interface AuditEntryInput {
  atMs: number;
  /** Empty when the query could not be opened (garbage, bad signature). */
  queryId: string;
  /** Verified requester; empty when the query could not be opened. */
  requesterCountry: string;
  requesterAgency: string;
  purpose: string;
  status: AuditStatus;
  errorCode: string;
  /** Opaque references of the records hit, never record content. */
  hitReferences: string[];
  /** Hex SHA-256 of the signed query payload (or of the raw bytes when there was no envelope). */
  queryDigest: string;
}

/** An entry as stored (JSON) under its zero-padded sequence number. */
export type AuditEntry = Omit<AuditEntryInput, "atMs"> & {
  seq: number;
  /** ISO time of `atMs`. */
  time: string;
  prevHash: string;
  hash: string;
};

export interface AuditSeal {
  upToSeq: number;
  /** The hash of entry `upToSeq`. */
  hash: string;
  signedAt: string;
  keyId: string;
  /** Base64 Ed25519 signature. */
  signature: string;
}

/** Where verification starts once old entries were purged: the last purged entry and the seal covering it. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  purgedAt: string;
  keyId: string;
  signature: string;
  seal: AuditSeal;
}

export type AuditProblemKind = "altered" | "missing" | "reordered" | "bad_seal" | "unsealed_tail";

export interface AuditProblem {
  seq: number;
  kind: AuditProblemKind;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries checked (after any checkpoint). */
  entries: number;
  /** Seals whose signature and hash checked out. */
  seals: number;
  checkpointSeq?: number;
  firstProblem?: AuditProblem;
  /** Entries appended since the last seal: not a failure, but not yet protected by a signature. */
  warning?: AuditProblem;
}

/** The raw content of an audit environment, in key order, as the verifier takes it. */
export interface AuditSnapshot {
  entries: { key: string; value: unknown }[];
  seals: unknown[];
  checkpoint?: unknown;
}

/** The audit log's LMDB environment inside a node's data directory. */
export function auditPath(dataDir: string): string {
  return path.join(dataDir, "audit");
}

/**
 * Writes `value` under `key` unless the key is taken (LMDB's MDB_NOOVERWRITE): one B-tree descent, where
 * a check and a put took two. lmdb-js documents putSync's result (false when the key was taken); its
 * type declarations say void.
 */
function putIfAbsent<V>(db: Database<V, string>, key: string, value: V): boolean {
  const documented = db as unknown as { putSync(key: string, value: V, options: { noOverwrite: true }): boolean };
  return documented.putSync(key, value, { noOverwrite: true });
}

export function seqKey(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, "0");
}

/** The entry hash; see the encoding in the file comment. */
export function entryHash(entry: Omit<AuditEntry, "hash">): string {
  return sha256Hex(
    JSON.stringify([
      "watchmesh-audit-entry/v1",
      entry.seq,
      entry.time,
      entry.queryId,
      entry.requesterCountry,
      entry.requesterAgency,
      entry.purpose,
      entry.status,
      entry.errorCode,
      entry.hitReferences,
      entry.queryDigest,
      entry.prevHash,
    ]),
  );
}

function sealBytes(upToSeq: number, hash: string, signedAt: string, keyId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(["watchmesh-audit-seal/v1", upToSeq, hash, signedAt, keyId]));
}

function checkpointBytes(seq: number, hash: string, purgedAt: string, keyId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(["watchmesh-audit-checkpoint/v1", seq, hash, purgedAt, keyId]));
}

export function signSeal(upToSeq: number, hash: string, identity: SigningIdentity, signedAtMs: number): AuditSeal {
  const signedAt = new Date(signedAtMs).toISOString();
  const signature = signDetached(SignatureDomain.AuditSeal, sealBytes(upToSeq, hash, signedAt, identity.keyId), identity.secretKey);
  return { upToSeq, hash, signedAt, keyId: identity.keyId, signature: Buffer.from(signature).toString("base64") };
}

// ---- verification (pure) ----

const isString = (value: unknown): value is string => typeof value === "string";
const isSeq = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value > 0;

function asEntry(value: unknown): AuditEntry | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const strings = ["time", "queryId", "requesterCountry", "requesterAgency", "purpose", "status", "errorCode", "queryDigest", "prevHash", "hash"];
  if (!isSeq(v["seq"]) || !strings.every((field) => isString(v[field]))) return undefined;
  if (!Array.isArray(v["hitReferences"]) || !v["hitReferences"].every(isString)) return undefined;
  return v as unknown as AuditEntry;
}

function asSeal(value: unknown): AuditSeal | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isSeq(v["upToSeq"]) || !["hash", "signedAt", "keyId", "signature"].every((field) => isString(v[field]))) return undefined;
  return v as unknown as AuditSeal;
}

function asCheckpoint(value: unknown): AuditCheckpoint | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isSeq(v["seq"]) || !["hash", "purgedAt", "keyId", "signature"].every((field) => isString(v[field]))) return undefined;
  return asSeal(v["seal"]) ? (v as unknown as AuditCheckpoint) : undefined;
}

/** Checks a signature by a registered node key valid at `atIso`; the signer's country, or an error text. */
function checkSigner(
  registry: TrustRegistry,
  bytes: Uint8Array,
  keyId: string,
  signatureB64: string,
  atIso: string,
): { country: string } | { error: string } {
  try {
    const signer = registry.resolveSigner(keyId, Date.parse(atIso), ["node"]);
    const signature = new Uint8Array(Buffer.from(signatureB64, "base64"));
    if (!verifyDetached(SignatureDomain.AuditSeal, bytes, signature, signer.publicKey)) return { error: "signature does not verify" };
    return { country: signer.country };
  } catch (error) {
    return { error: `signer not acceptable (${WatchmeshError.from(error).code})` };
  }
}

export interface VerifyAuditOptions {
  /** The country whose node wrote the log; without it, all seals must merely share one country. */
  expectedCountry?: string;
  /**
   * The node's sealing interval. A node seals as soon as `sealEvery` entries are unsealed (a crash may
   * leave exactly that many), so a longer unsealed tail does not come from normal operation (e.g. the
   * seals were deleted): it is a failure rather than a warning. Without it any unsealed tail is a warning.
   */
  sealEvery?: number;
}

/**
 * Walks the entries in key order from the checkpoint (or seq 1), recomputing every hash and link and
 * checking every seal, and stops at the first problem. Never throws.
 */
export function verifyAuditLog(snapshot: AuditSnapshot, registry: TrustRegistry, options: VerifyAuditOptions = {}): AuditVerification {
  const checkpoint = snapshot.checkpoint === undefined ? undefined : asCheckpoint(snapshot.checkpoint);
  let entries = 0;
  let sealsOk = 0;
  let country = options.expectedCountry;
  const fail = (seq: number, kind: AuditProblemKind, message: string): AuditVerification => ({
    ok: false,
    entries,
    seals: sealsOk,
    ...(checkpoint ? { checkpointSeq: checkpoint.seq } : {}),
    firstProblem: { seq, kind, message },
  });
  // Seals by the entry they cover; their signatures are checked when the walk reaches that entry.
  const seals = new Map<number, AuditSeal>();
  const checkSeal = (seal: AuditSeal): string | undefined => {
    const signer = checkSigner(registry, sealBytes(seal.upToSeq, seal.hash, seal.signedAt, seal.keyId), seal.keyId, seal.signature, seal.signedAt);
    if ("error" in signer) return signer.error;
    country ??= signer.country;
    if (signer.country !== country) return `signed by a ${signer.country} key, not by ${country}`;
    return undefined;
  };

  if (snapshot.checkpoint !== undefined && !checkpoint) return fail(1, "altered", "the purge checkpoint is not well-formed");
  let prev = { seq: 0, hash: GENESIS_HASH };
  if (checkpoint) {
    const signer = checkSigner(registry, checkpointBytes(checkpoint.seq, checkpoint.hash, checkpoint.purgedAt, checkpoint.keyId), checkpoint.keyId, checkpoint.signature, checkpoint.purgedAt);
    if ("error" in signer) return fail(checkpoint.seq, "bad_seal", `purge checkpoint at ${checkpoint.seq}: ${signer.error}`);
    country ??= signer.country;
    if (signer.country !== country) return fail(checkpoint.seq, "bad_seal", `purge checkpoint signed by a ${signer.country} key, not by ${country}`);
    if (checkpoint.seal.upToSeq < checkpoint.seq) return fail(checkpoint.seq, "bad_seal", "the purge checkpoint's seal does not cover it");
    const sealError = checkSeal(checkpoint.seal);
    if (sealError) return fail(checkpoint.seal.upToSeq, "bad_seal", `seal over ${checkpoint.seal.upToSeq} (kept by the checkpoint): ${sealError}`);
    if (checkpoint.seal.upToSeq === checkpoint.seq) {
      if (checkpoint.seal.hash !== checkpoint.hash) return fail(checkpoint.seq, "altered", "the purge checkpoint's hash does not match its seal");
      sealsOk += 1;
    } else {
      // Checked again (and counted) when the walk reaches the entry it covers.
      seals.set(checkpoint.seal.upToSeq, checkpoint.seal);
    }
    prev = { seq: checkpoint.seq, hash: checkpoint.hash };
  }
  for (const raw of snapshot.seals) {
    const seal = asSeal(raw);
    if (!seal) return fail(prev.seq + 1, "bad_seal", "a seal record is not well-formed");
    if (seal.upToSeq <= prev.seq && checkpoint) continue; // Covers purged entries only: nothing left to check.
    const known = seals.get(seal.upToSeq);
    if (known && (known.hash !== seal.hash || known.signature !== seal.signature)) {
      return fail(seal.upToSeq, "bad_seal", `two different seals over entry ${seal.upToSeq}`);
    }
    seals.set(seal.upToSeq, seal);
  }

  let lastSealed = prev.seq;
  for (const { key, value } of snapshot.entries) {
    const keySeq = Number(key);
    const entry = asEntry(value);
    if (!entry || entryHash(entry) !== entry.hash) return fail(keySeq, "altered", `entry ${keySeq} does not match its own hash: its content was changed`);
    if (entry.seq !== keySeq) return fail(keySeq, "reordered", `entry stored at ${keySeq} is entry ${entry.seq}: entries were moved`);
    if (keySeq <= prev.seq) return fail(keySeq, "altered", `entry ${keySeq} should have been purged with the entries before checkpoint ${prev.seq}`);
    if (keySeq > prev.seq + 1) return fail(prev.seq + 1, "missing", `entry ${prev.seq + 1} is missing (the next entry is ${keySeq})`);
    if (entry.prevHash !== prev.hash) {
      // The predecessor is self-consistent but not the one this entry was chained to: it was rewritten
      // together with its hash (or this link was). At the checkpoint, only this entry can be at fault.
      const at = prev.seq > (checkpoint?.seq ?? 0) ? prev.seq : keySeq;
      return fail(at, "altered", `entry ${keySeq} is not chained to entry ${prev.seq}: entry ${at} was rewritten`);
    }
    const seal = seals.get(keySeq);
    if (seal) {
      const sealError = checkSeal(seal);
      if (sealError) return fail(keySeq, "bad_seal", `seal over entry ${keySeq}: ${sealError}`);
      if (seal.hash !== entry.hash) {
        // The chain is intact but not the one that was signed: rewritten somewhere since the last good seal.
        return fail(lastSealed + 1, "altered", `entries ${lastSealed + 1}..${keySeq} do not match the seal over ${keySeq}: rewritten with recomputed hashes`);
      }
      sealsOk += 1;
      lastSealed = keySeq;
    }
    entries += 1;
    prev = { seq: keySeq, hash: entry.hash };
  }
  const lastSealSeq = Math.max(0, ...seals.keys());
  if (lastSealSeq > prev.seq) return fail(prev.seq + 1, "missing", `entries ${prev.seq + 1}..${lastSealSeq} are sealed but missing`);
  const result: AuditVerification = { ok: true, entries, seals: sealsOk, ...(checkpoint ? { checkpointSeq: checkpoint.seq } : {}) };
  const unsealed = prev.seq - lastSealed;
  if (options.sealEvery !== undefined && unsealed > options.sealEvery) {
    return fail(lastSealed + 1, "unsealed_tail", `entries ${lastSealed + 1}..${prev.seq} are unsealed, more than a node sealing every ${options.sealEvery} leaves: seals were removed`);
  }
  if (unsealed > 0) {
    result.warning = { seq: lastSealed + 1, kind: "unsealed_tail", message: `entries ${lastSealed + 1}..${prev.seq} are not sealed yet` };
  }
  return result;
}

// ---- storage ----

interface AuditDatabases {
  root: RootDatabase;
  entries: Database<AuditEntry, string>;
  seals: Database<AuditSeal, string>;
  meta: Database<AuditCheckpoint, string>;
}

function openDatabases(dataDir: string): AuditDatabases {
  const root = open({ path: auditPath(dataDir), noSubdir: false });
  return {
    root,
    entries: root.openDB<AuditEntry, string>("entries", { encoding: "json" }),
    seals: root.openDB<AuditSeal, string>("seals", { encoding: "json" }),
    meta: root.openDB<AuditCheckpoint, string>("meta", { encoding: "json" }),
  };
}

/** Reads a node's audit environment for verification (another process may be appending meanwhile). */
export async function readAuditSnapshot(dataDir: string): Promise<AuditSnapshot> {
  // Opening would create an empty log, which verifies: a wrong directory must not pass as a clean audit.
  if (!existsSync(auditPath(dataDir))) throw new WatchmeshError(ErrorCode.NotFound, `no audit log in ${dataDir}`);
  const dbs = openDatabases(dataDir);
  try {
    return snapshotOf(dbs);
  } finally {
    await dbs.root.close();
  }
}

function snapshotOf(dbs: AuditDatabases): AuditSnapshot {
  // One read transaction, so entries, seals and checkpoint are from the same moment.
  return dbs.root.transactionSync(() => {
    const checkpoint = dbs.meta.get(CHECKPOINT_KEY);
    return {
      entries: Array.from(dbs.entries.getRange(), ({ key, value }) => ({ key, value })),
      seals: Array.from(dbs.seals.getRange(), ({ value }) => value as unknown),
      ...(checkpoint === undefined ? {} : { checkpoint }),
    };
  });
}

export interface AuditLogOptions {
  dataDir: string;
  /** The node's key: seals and checkpoints are signed with it. */
  identity: SigningIdentity;
  logger: Logger;
  /** Seal after every this many entries (and on close). Default 100. */
  sealEvery?: number;
  /** Entries older than this are purged (whole sealed entries only); unset keeps everything. */
  retentionMs?: number;
  /** How often retention is applied while open. Default one hour. */
  purgeIntervalMs?: number;
  /** Entries and seals are written together at most this long after they are made (group commit; node/write-behind.ts). */
  commitIntervalMs?: number;
  now?: () => number;
}

type AuditWrite = { kind: "entry"; entry: AuditEntry } | { kind: "seal"; seal: AuditSeal };

interface QueuedWrite {
  write: AuditWrite;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface AuditPurgeResult {
  purged: number;
  checkpointSeq?: number;
}

/**
 * The appending side. `record()` never throws and never blocks the caller (MatchService stays
 * synchronous): the entry is chained in memory at once, so the order of entries is the order of answers,
 * and written in that order with the seals, one transaction per commit interval (at most 100 ms later;
 * a crash loses at most that tail, which the verifier reports as unsealed); a failed write is logged.
 */
const noop = (): void => undefined;

/** A callback that passes on only its first call. */
function firstOnly(callback: (error: unknown) => void): (error: unknown) => void {
  let called = false;
  return (error) => {
    if (!called) callback(error);
    called = true;
  };
}

export class AuditLog implements AsyncDisposable {
  readonly #dbs: AuditDatabases;
  readonly #options: AuditLogOptions;
  readonly #sealEvery: number;
  readonly #now: () => number;
  #head: { seq: number; hash: string };
  #lastSealSeq: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #writes: WriteBehind<QueuedWrite>;
  #purging: Promise<unknown> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(dbs: AuditDatabases, options: AuditLogOptions) {
    this.#dbs = dbs;
    this.#writes = new WriteBehind<QueuedWrite>({
      write: (batch) => this.#commit(batch),
      ...(options.commitIntervalMs === undefined ? {} : { intervalMs: options.commitIntervalMs }),
      // #commit settles every queued write itself; nothing reaches here.
      onError: () => undefined,
    });
    this.#options = options;
    this.#sealEvery = options.sealEvery ?? DEFAULT_SEAL_EVERY;
    this.#now = options.now ?? Date.now;
    const checkpoint = dbs.meta.get(CHECKPOINT_KEY);
    const last = Array.from(dbs.entries.getRange({ reverse: true, limit: 1 }), ({ value }) => value)[0];
    this.#head = last ? { seq: last.seq, hash: last.hash } : checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : { seq: 0, hash: GENESIS_HASH };
    const lastSeal = Array.from(dbs.seals.getRange({ reverse: true, limit: 1 }), ({ value }) => value)[0];
    this.#lastSealSeq = Math.max(lastSeal?.upToSeq ?? 0, checkpoint?.seal.upToSeq ?? 0);
  }

  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const sealEvery = options.sealEvery ?? DEFAULT_SEAL_EVERY;
    if (!Number.isInteger(sealEvery) || sealEvery <= 0) throw new WatchmeshError(ErrorCode.ConfigInvalid, "audit sealEvery must be a positive whole number");
    if (options.retentionMs !== undefined && !(options.retentionMs > 0)) throw new WatchmeshError(ErrorCode.ConfigInvalid, "audit retentionMs must be positive");
    const log = new AuditLog(openDatabases(options.dataDir), options);
    if (options.retentionMs !== undefined) {
      await log.purgeBefore(log.#now() - options.retentionMs);
      const retentionMs = options.retentionMs;
      log.#timer = setInterval(() => log.#purgeInBackground(retentionMs), options.purgeIntervalMs ?? DEFAULT_AUDIT_PURGE_INTERVAL_MS);
      log.#timer.unref();
    }
    return log;
  }

  /** The last appended entry's sequence number (0 when empty). */
  get lastSeq(): number {
    return this.#head.seq;
  }

  /** What is committed so far, for verification while the log stays open. */
  snapshot(): AuditSnapshot {
    return snapshotOf(this.#dbs);
  }

  /** Commits the entries queued so far (they are otherwise committed within the group-commit interval). */
  flush(): Promise<void> {
    return this.#writes.flush();
  }

  /** Committed entries in sequence order, read lazily (for counting hits in aggregate answers); see `flush`. */
  entries(): Iterable<AuditEntry> {
    return this.#dbs.entries.getRange().map(({ value }) => value);
  }

  /**
   * Queues one entry; for MatchService's `audit` option. Failures are logged, never thrown. Unlike
   * `append` it makes no promise: a node records every answer, and nobody waits for these.
   */
  record(input: AuditEntryInput): void {
    if (this.#closing) {
      this.#notWritten(new WatchmeshError(ErrorCode.Unavailable, "audit log is closed"));
      return;
    }
    const entry = this.#chain(input);
    // One failed batch rejects the entry and the seal it triggered: logged once, as for one append.
    const reject = firstOnly((error) => this.#notWritten(error));
    this.#writes.add({ write: { kind: "entry", entry }, resolve: noop, reject });
    if (entry.seq - this.#lastSealSeq >= this.#sealEvery) this.#writes.add({ write: this.#nextSeal(), resolve: noop, reject });
  }

  #notWritten(error: unknown): void {
    this.#options.logger.error({ code: WatchmeshError.from(error).code }, "audit entry not written");
  }

  /** Appends one entry; resolves once it (and any seal it triggered) is committed to disk. */
  append(input: AuditEntryInput): Promise<AuditEntry> {
    if (this.#closing) return Promise.reject(new WatchmeshError(ErrorCode.Unavailable, "audit log is closed"));
    const entry = this.#chain(input);
    const written = this.#queue({ kind: "entry", entry });
    const sealed = entry.seq - this.#lastSealSeq >= this.#sealEvery ? this.#queue(this.#nextSeal()) : Promise.resolve();
    return Promise.all([written, sealed]).then(() => entry);
  }

  /** The next entry of the chain for `input`, made the head (in memory; written by the next commit). */
  #chain(input: AuditEntryInput): AuditEntry {
    const unhashed: Omit<AuditEntry, "hash"> = {
      seq: this.#head.seq + 1,
      time: new Date(input.atMs).toISOString(),
      queryId: input.queryId,
      requesterCountry: input.requesterCountry,
      requesterAgency: input.requesterAgency,
      purpose: input.purpose,
      status: input.status,
      errorCode: input.errorCode,
      hitReferences: [...input.hitReferences],
      queryDigest: input.queryDigest,
      prevHash: this.#head.hash,
    };
    const entry: AuditEntry = { ...unhashed, hash: entryHash(unhashed) };
    this.#head = { seq: entry.seq, hash: entry.hash };
    return entry;
  }

  /** Seals the last entry now (if not sealed yet); resolves once written. */
  seal(): Promise<void> {
    if (this.#head.seq === this.#lastSealSeq) return Promise.resolve();
    const sealed = this.#queue(this.#nextSeal());
    void this.#writes.flush();
    return sealed;
  }

  #nextSeal(): AuditWrite {
    const seal = signSeal(this.#head.seq, this.#head.hash, this.#options.identity, this.#now());
    this.#lastSealSeq = seal.upToSeq;
    return { kind: "seal", seal };
  }

  /** Queues a write for the next group commit; resolves once it is committed. */
  #queue(write: AuditWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#writes.add({ write, resolve, reject }));
  }

  /**
   * Writes queued entries and seals in one transaction, in the order they were made, so a seal never
   * reaches the disk before the entries it covers. An entry is never overwritten: a taken sequence
   * number means a second writer on this environment, and that entry's append fails.
   */
  async #commit(batch: QueuedWrite[]): Promise<void> {
    const taken = new Set<QueuedWrite>();
    const { entries, seals, root } = this.#dbs;
    try {
      await root.transaction(() => {
        for (const queued of batch) {
          const { write } = queued;
          if (write.kind === "seal") {
            seals.putSync(seqKey(write.seal.upToSeq), write.seal);
          } else if (!putIfAbsent(entries, seqKey(write.entry.seq), write.entry)) {
            taken.add(queued);
          }
        }
      });
    } catch (error) {
      for (const queued of batch) queued.reject(error);
      return;
    }
    for (const queued of batch) {
      if (!taken.has(queued)) queued.resolve();
      else if (queued.write.kind === "entry") {
        queued.reject(new WatchmeshError(ErrorCode.Internal, "audit sequence number already taken: one writer per audit log", { context: { seq: queued.write.entry.seq } }));
      }
    }
  }

  /**
   * Deletes the entries older than `timeMs`, oldest first and no further than the last seal, and keeps a
   * signed checkpoint (the last purged entry's seq and hash, and the seal covering it) from which the
   * rest of the chain still verifies.
   */
  async purgeBefore(timeMs: number): Promise<AuditPurgeResult> {
    if (this.#closing) throw new WatchmeshError(ErrorCode.Unavailable, "audit log is closed");
    await this.#writes.flush();
    const { entries, seals, meta, root } = this.#dbs;
    const lastSeal = Array.from(seals.getRange({ reverse: true, limit: 1 }), ({ value }) => value)[0];
    if (!lastSeal) return { purged: 0 };
    let last: AuditEntry | undefined;
    let purged = 0;
    for (const { value } of entries.getRange({ end: seqKey(lastSeal.upToSeq + 1) })) {
      if (Date.parse(value.time) >= timeMs) break;
      last = value;
      purged += 1;
    }
    if (!last) return { purged: 0 };
    const lastPurged = last;
    const covering = Array.from(seals.getRange({ start: seqKey(lastPurged.seq), limit: 1 }), ({ value }) => value)[0];
    if (!covering) throw new WatchmeshError(ErrorCode.Internal, "no seal covers the entries to purge");
    const purgedAt = new Date(this.#now()).toISOString();
    const { keyId, secretKey } = this.#options.identity;
    const signature = signDetached(SignatureDomain.AuditSeal, checkpointBytes(lastPurged.seq, lastPurged.hash, purgedAt, keyId), secretKey);
    const checkpoint: AuditCheckpoint = { seq: lastPurged.seq, hash: lastPurged.hash, purgedAt, keyId, signature: Buffer.from(signature).toString("base64"), seal: covering };
    // One transaction: a crash leaves either the old log or the purged one with its checkpoint.
    await root.transaction(() => {
      for (const key of Array.from(entries.getKeys({ end: seqKey(lastPurged.seq + 1) }))) entries.removeSync(key);
      for (const key of Array.from(seals.getKeys({ end: seqKey(lastPurged.seq) }))) seals.removeSync(key);
      meta.putSync(CHECKPOINT_KEY, checkpoint);
    });
    this.#options.logger.info({ purged, checkpointSeq: lastPurged.seq }, "audit entries purged");
    return { purged, checkpointSeq: lastPurged.seq };
  }

  #purgeInBackground(retentionMs: number): void {
    if (this.#purging || this.#closing) return;
    this.#purging = this.purgeBefore(this.#now() - retentionMs)
      .catch((error: unknown) => this.#options.logger.error({ code: WatchmeshError.from(error).code }, "audit purge failed"))
      .finally(() => (this.#purging = undefined));
  }

  /** Waits for queued entries, writes a final seal and closes the environment. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      await this.#purging;
      if (this.#head.seq > this.#lastSealSeq) {
        this.#queue(this.#nextSeal()).catch((error: unknown) => {
          this.#options.logger.error({ code: WatchmeshError.from(error).code }, "final audit seal not written");
        });
      }
      await this.#writes.flush();
      await this.#dbs.root.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
