import { describe, expect, it } from "vitest";
import { seededRandom } from "../../common/seeded-random.ts";
import { AggregateDimension, AggregateMeasure } from "../../common/proto.ts";
import { CellCounts } from "../../node/aggregate-counts.ts";
import { discreteLaplace, releaseCells, releaseCount } from "../../node/disclosure-control.ts";

function countsOf(entries: [month: string, category: string, designation: string, count: number][]): CellCounts {
  const counts = new CellCounts({
    fromMonth: "2026-01",
    toMonth: "2026-03",
    groupBy: [AggregateDimension.Month, AggregateDimension.Category, AggregateDimension.Designation],
    categories: [],
  });
  for (const [month, category, designation, count] of entries) for (let i = 0; i < count; i++) counts.add(AggregateMeasure.Records, month, category, designation);
  return counts;
}

/** A uniform source in (0, 1) from a seed, never exactly 0. */
function uniform(seed: number): () => number {
  const next = seededRandom(seed);
  return () => Math.max(Number.EPSILON, next());
}

describe("disclosure control", () => {
  it("releases counts of at least k, suppresses 1..k-1 and sends no zero cells", () => {
    const counts = countsOf([
      ["2026-01", "person", "", 7],
      ["2026-02", "person", "", 4],
      ["2026-02", "precursor", "ammonium_nitrate", 5],
      ["2026-03", "precursor", "acetone", 1],
    ]);
    const released = releaseCells(counts, { minCellCount: 5, epsilon: 0 });
    expect(released.suppressedCells).toBe(2);
    expect(released.cells).toEqual([
      { measure: AggregateMeasure.Records, month: "2026-01", category: "person", designation: "", count: 7, suppressed: false },
      { measure: AggregateMeasure.Records, month: "2026-02", category: "person", designation: "", count: 0, suppressed: true },
      { measure: AggregateMeasure.Records, month: "2026-02", category: "precursor", designation: "ammonium_nitrate", count: 5, suppressed: false },
      { measure: AggregateMeasure.Records, month: "2026-03", category: "precursor", designation: "acetone", count: 0, suppressed: true },
    ]);
    expect(releaseCount(4, { minCellCount: 5, epsilon: 0 })).toBe(0);
    expect(releaseCount(5, { minCellCount: 5, epsilon: 0 })).toBe(5);
  });

  it("noises every cell of the domain, so cells with no records can be released and none below k is", () => {
    const counts = countsOf([["2026-01", "person", "", 50]]);
    const released = releaseCells(counts, { minCellCount: 3, epsilon: 0.05, random: uniform(7) });
    // With epsilon 0.05 the noise is wide: cells nobody counted come out above k too.
    expect(released.cells.some((cell) => cell.category !== "person" && !cell.suppressed)).toBe(true);
    for (const cell of released.cells) expect(cell.suppressed ? cell.count === 0 : cell.count >= 3).toBe(true);
    // The domain: each measure, month, category and (for precursors and device components) designation, once.
    const domain = [...counts.domain()];
    expect(new Set(domain.map((key) => `${key.measure}/${key.month}/${key.category}/${key.designation}`)).size).toBe(domain.length);
    expect(domain).toContainEqual({ measure: AggregateMeasure.Hits, month: "2026-03", category: "precursor", designation: "other" });
  });

  it("draws discrete Laplace noise with the documented spread", () => {
    const epsilon = 0.5;
    const random = uniform(20261203);
    const draws = Array.from({ length: 40_000 }, () => discreteLaplace(epsilon, random));
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    const variance = draws.reduce((sum, x) => sum + (x - mean) ** 2, 0) / draws.length;
    const alpha = Math.exp(-epsilon);
    const expected = (2 * alpha) / (1 - alpha) ** 2;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(variance / expected).toBeGreaterThan(0.95);
    expect(variance / expected).toBeLessThan(1.05);
    // P(0) = (1 - α) / (1 + α).
    const zeros = draws.filter((x) => x === 0).length / draws.length;
    expect(zeros).toBeCloseTo((1 - alpha) / (1 + alpha), 1);
    expect(draws.every((x) => Number.isInteger(x))).toBe(true);
  });

  it("merges what is not grouped by", () => {
    const counts = new CellCounts({ fromMonth: "2026-01", toMonth: "2026-02", groupBy: [AggregateDimension.Category], categories: ["precursor"] });
    expect(counts.counts("2026-01", "precursor")).toBe(true);
    expect(counts.counts("2026-03", "precursor")).toBe(false);
    expect(counts.counts("2026-01", "person")).toBe(false);
    for (const month of ["2026-01", "2026-02"]) for (let i = 0; i < 3; i++) counts.add(AggregateMeasure.Records, month, "precursor", "acetone");
    expect(releaseCells(counts, { minCellCount: 5, epsilon: 0 }).cells).toEqual([
      { measure: AggregateMeasure.Records, month: "", category: "precursor", designation: "", count: 6, suppressed: false },
    ]);
    expect([...counts.domain()]).toHaveLength(2);
  });
});
