import { describe, expect, it } from "vitest";
import { writeOrder } from "../../node/key-order.ts";

describe("writeOrder", () => {
  it("is a permutation that sorts keys by their first six characters", () => {
    const keys = ["sd:nbl:1994", "p:bln|lln", "doc:BEN:X1", "py:bln|lln:1998", "ref:BEN-R-A", "p:abc|def", "docnum:X1"];
    const order = Array.from(writeOrder(keys));
    expect([...order].sort((a, b) => a - b)).toEqual(keys.map((_, i) => i));
    const prefixes = order.map((i) => (keys[i] ?? "").slice(0, 6));
    expect(prefixes).toEqual([...prefixes].sort());
  });

  it("keeps changes to one key (and to keys sharing the prefix) in their original order", () => {
    const keys = ["pd:abc|x:1", "sd:zz", "pd:abc|x:1", "pd:abc|y:2", "pd:abc|x:1"];
    const order = Array.from(writeOrder(keys));
    expect(order).toEqual([0, 2, 3, 4, 1]);
  });

  it("puts non-ASCII keys after ASCII ones, as LMDB's byte order does", () => {
    const order = Array.from(writeOrder(["s:é", "s:z", "s:a"]));
    expect(order).toEqual([2, 1, 0]);
  });

  it("handles an empty list and short keys", () => {
    expect(Array.from(writeOrder([]))).toEqual([]);
    expect(Array.from(writeOrder(["b", "a", "ab"]))).toEqual([1, 2, 0]);
  });
});
