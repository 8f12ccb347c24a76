import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { RateLimiter } from "../../common/rate-limiter.ts";

function refused(action: () => void): string {
  try {
    action();
  } catch (error) {
    return WatchmeshError.from(error).code;
  }
  return "taken";
}

describe("RateLimiter", () => {
  it("lets a burst through, refuses beyond it, and refills at the rate", () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 3 });
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) limiter.take("FRA/border-police", t0);
    expect(refused(() => limiter.take("FRA/border-police", t0))).toBe(ErrorCode.RateLimited);
    // Another requester has its own bucket.
    expect(refused(() => limiter.take("DEU/bpol", t0))).toBe("taken");
    // 100 ms at 10/s gives back one token, not two.
    expect(refused(() => limiter.take("FRA/border-police", t0 + 100))).toBe("taken");
    expect(refused(() => limiter.take("FRA/border-police", t0 + 100))).toBe(ErrorCode.RateLimited);
    // Never more than the burst after a long pause.
    for (let i = 0; i < 3; i++) limiter.take("FRA/border-police", t0 + 60_000);
    expect(refused(() => limiter.take("FRA/border-police", t0 + 60_000))).toBe(ErrorCode.RateLimited);
  });

  it("takes a batch's tokens all at once or none", () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 5 });
    expect(refused(() => limiter.take("FRA/border-police", 0, 6))).toBe(ErrorCode.RateLimited);
    limiter.take("FRA/border-police", 0, 5);
    expect(refused(() => limiter.take("FRA/border-police", 0))).toBe(ErrorCode.RateLimited);
  });

  it("keeps a bounded number of requesters, dropping the idlest", () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, { maxRequesters: 2 });
    limiter.take("a", 0);
    limiter.take("b", 0);
    limiter.take("c", 0); // "a" is forgotten: it gets a fresh bucket.
    expect(refused(() => limiter.take("a", 0))).toBe("taken");
    expect(refused(() => limiter.take("c", 0))).toBe(ErrorCode.RateLimited);
  });

  it("refuses a nonsensical limit", () => {
    expect(() => new RateLimiter({ perSecond: 0, burst: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.ConfigInvalid }));
  });
});
