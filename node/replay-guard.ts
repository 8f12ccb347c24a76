import { DEFAULT_CLOCK_SKEW_MS } from "../common/limits.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { RecordStore } from "./store.ts";

/** Sweep the in-memory set after this many new nonces. */
const SWEEP_EVERY = 1024;

/**
 * Refuses a query whose (signer key, nonce) pair was already answered, until the query could no longer
 * be accepted anyway (its expiry plus the tolerated clock skew). Checks run against an in-memory map,
 * so answering stays fast; every nonce is also written to the node's LMDB store, so a restarted node
 * still refuses replays of queries it answered before. Replicas of a country keep separate caches (a
 * queue group sends a query to one of them): put replicas on a shared data directory to share it.
 */
export class ReplayGuard {
  readonly #store: RecordStore;
  readonly #skewMs: number;
  readonly #seen: Map<string, number>;
  #sinceSweep = 0;

  private constructor(store: RecordStore, skewMs: number, seen: Map<string, number>) {
    this.#store = store;
    this.#skewMs = skewMs;
    this.#seen = seen;
  }

  static open(store: RecordStore, options: { clockSkewMs?: number; nowMs?: number } = {}): ReplayGuard {
    return new ReplayGuard(store, options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS, store.liveNonces(options.nowMs ?? Date.now()));
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
    this.#store.rememberNonce(key, keepUntil);
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
