import { describe, expect, it } from "vitest";
import { binomialUpperTail, testRise } from "../../client/report/trends.ts";

describe("month-over-month trend test", () => {
  it("computes the exact binomial upper tail", () => {
    // P(X >= 8), X ~ Bin(10, 1/2) = (45 + 10 + 1) / 1024.
    expect(binomialUpperTail(8, 10)).toBeCloseTo(56 / 1024, 12);
    expect(binomialUpperTail(0, 10)).toBe(1);
    expect(binomialUpperTail(11, 10)).toBe(0);
    expect(binomialUpperTail(5, 10) + binomialUpperTail(6, 10)).toBeCloseTo(1, 12); // symmetry around n/2
    // Large n (Stirling branch) against the normal approximation: z = (1100 - 1000) / sqrt(500) ≈ 4.47.
    expect(binomialUpperTail(1100, 2000)).toBeGreaterThan(2e-6);
    expect(binomialUpperTail(1100, 2000)).toBeLessThan(8e-6);
  });

  it("flags a significant rise only", () => {
    expect(testRise(41, 75)).toMatchObject({ emerging: true, change: 75 / 41 - 1 });
    expect(testRise(47, 69).pValue).toBeLessThan(0.05);
    expect(testRise(10, 13).emerging).toBe(false);
    expect(testRise(75, 41).emerging).toBe(false);
    expect(testRise(0, 3, { minLatest: 5 })).toMatchObject({ emerging: false, change: null });
    expect(testRise(0, 12, { minLatest: 5 }).emerging).toBe(true);
    expect(testRise(41, 75, { alpha: 0.0001 }).emerging).toBe(false);
  });
});
