import { ErrorCode, WatchmeshError } from "./errors.ts";

export interface RateLimit {
  /** Sustained rate a requester may keep up, per second. */
  perSecond: number;
  /** Queries a requester may send at once after being idle (the bucket's size). */
  burst: number;
}

/**
 * Token buckets per requester: each requester may send `burst` queries at once and `perSecond` on
 * average. Checked after a query is authenticated, so nobody can spend another requester's tokens.
 * The number of buckets is bounded (idle ones are dropped first), so many requesters cannot grow memory.
 */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();
  readonly #maxRequesters: number;

  constructor(limit: RateLimit, options: { maxRequesters?: number } = {}) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, "a rate limit needs a positive rate and a burst of at least 1");
    }
    this.#limit = limit;
    this.#maxRequesters = options.maxRequesters ?? 10_000;
  }

  get limit(): RateLimit {
    return this.#limit;
  }

  /** Takes `count` tokens of `requester`'s bucket (a batch takes one per traveller), or throws RATE_LIMITED having taken none. */
  take(requester: string, nowMs: number, count = 1): void {
    const bucket = this.#buckets.get(requester);
    const tokens = bucket
      ? Math.min(this.#limit.burst, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.#limit.perSecond)
      : this.#limit.burst;
    if (tokens < count) {
      throw new WatchmeshError(ErrorCode.RateLimited, `more than ${this.#limit.perSecond} queries a second (bursts of ${this.#limit.burst}) from this requester`, {
        context: { requester },
      });
    }
    if (bucket) {
      // Re-inserted so the map's order is least recently used first.
      this.#buckets.delete(requester);
    } else if (this.#buckets.size >= this.#maxRequesters) {
      const idlest = this.#buckets.keys().next().value;
      if (idlest !== undefined) this.#buckets.delete(idlest);
    }
    this.#buckets.set(requester, { tokens: tokens - count, atMs: nowMs });
  }
}
