import { describe, expect, it } from "vitest";
import { compareDob } from "../../node/matching/dates.ts";

describe("compareDob", () => {
  it.each([
    ["1980-05-01", "1980-05-01", "exact"],
    ["1980-05-01", "1980-05-02", "disjoint"],
    ["1980-05-01", "1980-05", "compatible"],
    ["1980", "1980-05-01", "compatible"],
    ["1980-05", "1980-06", "disjoint"],
    ["1980-05-03", "1980-03-05", "weak"],
    ["1980-05-05", "1980-06-05", "disjoint"],
    ["1980", "1981-02-03", "weak"],
    ["1979", "1981", "disjoint"],
    ["1980-05-01", "1981-05-01", "disjoint"],
    ["", "1980", "missing"],
    ["1980", undefined, "missing"],
    ["garbage", "1980", "missing"],
  ] as const)("%s vs %s is %s", (query, record, expected) => {
    expect(compareDob(query, record)).toBe(expected);
  });
});
