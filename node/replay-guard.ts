import { DEFAULT_CLOCK_SKEW_MS } from "../common/limits.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { RecordStore } from "./store.ts";
import { WriteBehind } from "./write-behind.ts";

/** Sweep the in-memory set after this many new nonces. */
const SWEEP_EVERY = 1024;

/**
 * Refuses a query whose (signer key, nonce) pair was already answered, until the query could no longer
 * be accepted anyway (its expiry plus the tolerated clock skew). Checks run against an in-memory map,
 * so answering stays fast; every nonce is also written to the node's LMDB store, in groups at most
 * 100 ms after the answer (node/write-behind.ts) and on stop, so a restarted node still refuses replays
 * of queries it answered before (after a crash, all but those of its last 100 ms). Replicas of a country keep separate caches (a
 * queue group sends a query to one of them): put replicas on a shared data directory to share it.
 */
export class ReplayGuard {
  readonly #skewMs: number;
  readonly #seen: Map<string, number>;
  readonly #unwritten: WriteBehind<readonly [string, number]>;
  /**
   * The same keys by the second their time runs out in, so that a sweep visits only the expired ones:
   * walking the whole map cost more than the rest of the check at thousands of queries a second.
   */
  readonly #expiring = new Map<number, string[]>();
  #sinceSweep = 0;
  /** The latest time a check was made at: the store forgets nonces expired by then. */
  #nowMs: number;

  private constructor(store: RecordStore, skewMs: number, seen: Map<string, number>, nowMs: number, onError: (error: unknown) => void) {
    this.#skewMs = skewMs;
    this.#seen = seen;
    for (const [key, until] of seen) this.#expireAt(key, until);
    this.#nowMs = nowMs;
    this.#unwritten = new WriteBehind({ write: (nonces) => store.rememberNonces(nonces, this.#nowMs), onError });
  }

  /** `onWriteError`: told when a group of nonces could not be written (the in-memory checks go on). */
  static open(store: RecordStore, options: { clockSkewMs?: number; nowMs?: number; onWriteError?: (error: unknown) => void } = {}): ReplayGuard {
    const nowMs = options.nowMs ?? Date.now();
    return new ReplayGuard(store, options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS, store.liveNonces(nowMs), nowMs, options.onWriteError ?? (() => undefined));
  }

  /** Writes the nonces not written yet; resolves once committed. Call before closing the store. */
  flush(): Promise<void> {
    return this.#unwritten.flush();
  }

  /** Throws QUERY_REPLAYED when the pair was seen; otherwise remembers it. */
  check(keyId: string, nonce: Uint8Array, expiresAtMs: number, nowMs: number): void {
    const key = `${keyId}:${Buffer.from(nonce).toString("hex")}`;
    const until = this.#seen.get(key);
    if (until !== undefined && until > nowMs) {
      throw new WatchmeshError(ErrorCode.QueryReplayed, "query was already answered (replayed nonce)", { context: { keyId } });
    }
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    const keepUntil = expiresAtMs + this.#skewMs;
    this.#seen.set(key, keepUntil);
    this.#expireAt(key, keepUntil);
    this.#unwritten.add([key, keepUntil]);
    if (++this.#sinceSweep >= SWEEP_EVERY) this.#sweep(nowMs);
  }

  get size(): number {
    return this.#seen.size;
  }

  #expireAt(key: string, untilMs: number): void {
    const second = Math.ceil(untilMs / 1000);
    const keys = this.#expiring.get(second);
    if (keys) keys.push(key);
    else this.#expiring.set(second, [key]);
  }

  /** Drops expired nonces from memory; the store drops its copies with each group it writes. */
  #sweep(nowMs: number): void {
    this.#sinceSweep = 0;
    for (const [second, keys] of this.#expiring) {
      if (second * 1000 > nowMs) continue;
      // A key seen again since (a new query after the old one expired) is kept until its new time.
      for (const key of keys) if ((this.#seen.get(key) ?? Infinity) <= nowMs) this.#seen.delete(key);
      this.#expiring.delete(second);
    }
  }
}
