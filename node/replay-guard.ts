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
  readonly #store: RecordStore;
  readonly #skewMs: number;
  readonly #seen: Map<string, number>;
  readonly #unwritten: WriteBehind<readonly [string, number]>;
  #sinceSweep = 0;

  private constructor(store: RecordStore, skewMs: number, seen: Map<string, number>, onError: (error: unknown) => void) {
    this.#store = store;
    this.#skewMs = skewMs;
    this.#seen = seen;
    this.#unwritten = new WriteBehind({ write: (nonces) => store.rememberNonces(nonces), onError });
  }

  /** `onWriteError`: told when a group of nonces could not be written (the in-memory checks go on). */
  static open(store: RecordStore, options: { clockSkewMs?: number; nowMs?: number; onWriteError?: (error: unknown) => void } = {}): ReplayGuard {
    return new ReplayGuard(store, options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS, store.liveNonces(options.nowMs ?? Date.now()), options.onWriteError ?? (() => undefined));
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
    const keepUntil = expiresAtMs + this.#skewMs;
    this.#seen.set(key, keepUntil);
    this.#unwritten.add([key, keepUntil]);
    if (++this.#sinceSweep >= SWEEP_EVERY) this.#sweep(nowMs);
  }

  get size(): number {
    return this.#seen.size;
  }

  #sweep(nowMs: number): void {
    this.#sinceSweep = 0;
    for (const [key, until] of this.#seen) {
      if (until <= nowMs) {
        this.#seen.delete(key);
        this.#store.forgetNonce(key);
      }
    }
  }
}
