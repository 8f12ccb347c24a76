import { describe, expect, it } from "vitest";
import { ScoreMemo } from "../../node/matching/names/score-memo.ts";

describe("ScoreMemo", () => {
  it("computes a key once and returns the remembered score after", () => {
    const memo = new ScoreMemo(4);
    let computed = 0;
    const score = () => {
      computed++;
      return 0.5;
    };
    expect(memo.getOrCompute(1, 2, -1, -1, score)).toBe(0.5);
    expect(memo.getOrCompute(1, 2, -1, -1, score)).toBe(0.5);
    expect(computed).toBe(1);
  });

  it("never returns another key's score, however many keys share its few slots", () => {
    // 16 slots for 2,000 keys: almost every store replaces another key's entry.
    const memo = new ScoreMemo(4);
    const expected = (a: number, b: number, c: number, d: number) => a * 1e-3 + b * 1e-6 + c * 1e-9 + d * 1e-12;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2000; i++) {
        const [a, b, c, d] = [i % 7, (i * 13) % 11, i % 3 === 0 ? -1 : i % 5, 2 ** 40 + (i % 17)];
        expect(memo.getOrCompute(a, b, c, d, () => expected(a, b, c, d))).toBe(expected(a, b, c, d));
      }
    }
  });

  it("tells apart keys that differ only above 32 bits or only in an unused part", () => {
    const memo = new ScoreMemo(2);
    // The same low 32 bits: the same slot, so each store replaces the other, and neither is mistaken for the other.
    expect(memo.getOrCompute(2 ** 33, 0, -1, -1, () => 1)).toBe(1);
    expect(memo.getOrCompute(0, 0, -1, -1, () => 2)).toBe(2);
    expect(memo.getOrCompute(2 ** 33, 0, -1, -1, () => 3)).toBe(3);
    expect(memo.getOrCompute(0, 0, 0, -1, () => 4)).toBe(4);
    expect(memo.getOrCompute(0, 0, -1, 0, () => 5)).toBe(5);
  });
});
