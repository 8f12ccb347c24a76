import { describe, expect, it } from "vitest";
import { BoundedCache } from "../../node/matching/names/bounded-cache.ts";

describe("BoundedCache", () => {
  it("computes a value once and caches undefined too", () => {
    const cache = new BoundedCache<string, number | undefined>(10);
    const computed: string[] = [];
    const compute = (key: string) => {
      computed.push(key);
      return key === "none" ? undefined : key.length;
    };
    expect(cache.getOrCompute("abc", compute)).toBe(3);
    expect(cache.getOrCompute("abc", compute)).toBe(3);
    expect(cache.getOrCompute("none", compute)).toBeUndefined();
    expect(cache.getOrCompute("none", compute)).toBeUndefined();
    expect(computed).toEqual(["abc", "none"]);
  });

  it("keeps entries in use and forgets the others once full, never everything at once", () => {
    const cache = new BoundedCache<number, number>(2);
    const computed: number[] = [];
    const get = (key: number) =>
      cache.getOrCompute(key, (k) => {
        computed.push(k);
        return k * 10;
      });
    get(1);
    get(2);
    get(3); // the generation {1, 2} becomes the previous one
    get(1); // found there: moves back, not recomputed
    get(4); // {3, 1} becomes the previous one; {2} is forgotten
    get(2);
    get(1);
    expect(computed).toEqual([1, 2, 3, 4, 2]);
    expect(cache.size).toBeLessThanOrEqual(4);
  });
});
