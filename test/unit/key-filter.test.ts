import { describe, expect, it } from "vitest";
import { KeyFilter } from "../../node/matching/key-filter.ts";

/** Keys shaped like the store's name keys: code pairs and dates. */
const key = (i: number, salt: string) => `pd:${(i * 7919).toString(36)}|${salt}${(i % 977).toString(36)}:19${String(i % 100).padStart(2, "0")}-0${(i % 9) + 1}-1${i % 10}`;

describe("KeyFilter", () => {
  it("never rules out a key it was given", () => {
    const filter = new KeyFilter(50_000);
    const added = Array.from({ length: 50_000 }, (_, i) => key(i, "a"));
    for (const each of added) filter.add(each);
    expect(added.filter((each) => !filter.mayHold(each))).toEqual([]);
  });

  it("rules out nearly every key it was not given, at the size it was made for", () => {
    const filter = new KeyFilter(50_000);
    for (let i = 0; i < 50_000; i++) filter.add(key(i, "a"));
    const absent = Array.from({ length: 50_000 }, (_, i) => key(i, "b"));
    const falseMaybes = absent.filter((each) => filter.mayHold(each)).length;
    expect(falseMaybes / absent.length).toBeLessThan(0.02);
  });

  it("holds at least 12 bits per expected key, and an empty one rules out everything", () => {
    const filter = new KeyFilter(1_000_000);
    expect(filter.bytes * 8).toBeGreaterThanOrEqual(12 * 1_000_000);
    expect(filter.mayHold("pd:k|n:1970-01-01")).toBe(false);
    expect(new KeyFilter(0).mayHold("")).toBe(false);
  });

  it("tells apart keys that differ in one character or in other scripts", () => {
    const filter = new KeyFilter(10);
    filter.add("sd:мр:1980-05-01");
    expect(filter.mayHold("sd:мр:1980-05-01")).toBe(true);
    expect(filter.mayHold("sd:мр:1980-05-02")).toBe(false);
  });
});
