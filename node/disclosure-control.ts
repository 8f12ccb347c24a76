/**
 * Disclosure control of aggregate answers, applied inside the node before any count leaves it:
 *
 * - Small cells: a count between 1 and k-1 (k = the policy's minCellCount, default 5) is suppressed —
 *   sent as "suppressed" without its value — because a count of 1 or 2 can point at a person.
 * - Noise (when the query asks for epsilon > 0): every cell of the query's whole domain, counted or
 *   not, gets discrete Laplace noise (the two-sided geometric mechanism: P(z) ∝ exp(-ε|z|)) before the
 *   small-cell rule. One record or one hit event changes one cell by one, so each answer is ε-
 *   differentially private for a record (records) and for a hit event (hits); a person hit n times is
 *   protected at n·ε. Noisy counts of 0 or less are not sent; repeated queries add up their epsilons,
 *   which the node's daily quota bounds (quota × maxEpsilon a day per requester).
 */
import { randomInt } from "node:crypto";
import type { AggregateCell } from "../common/proto.ts";
import type { CellCounts, CellKey } from "./aggregate-counts.ts";

export interface DisclosureOptions {
  /** k: the smallest count released. */
  minCellCount: number;
  /** 0: exact counts; > 0: discrete Laplace noise with parameter epsilon. */
  epsilon: number;
  /** Uniform random number in (0, 1); crypto-grade by default, seeded in tests. */
  random?: () => number;
}

export interface ReleasedCells {
  cells: AggregateCell[];
  suppressedCells: number;
}

/** 2^-53 … 1 - 2^-53 from the operating system's CSPRNG (never exactly 0 or 1). */
export function secureUniform(): number {
  const high = randomInt(0, 2 ** 26);
  const low = randomInt(0, 2 ** 27);
  return (high * 2 ** 27 + low + 0.5) / 2 ** 53;
}

/**
 * A draw of the discrete Laplace distribution with P(z) ∝ exp(-epsilon·|z|): the difference of two
 * geometric variables with success probability 1 - exp(-epsilon) (Ghosh, Roughgarden & Sundararajan, 2009).
 */
export function discreteLaplace(epsilon: number, random: () => number = secureUniform): number {
  const logAlpha = -epsilon;
  const geometric = () => Math.floor(Math.log(random()) / logAlpha);
  return geometric() - geometric();
}

/** Applies the small-cell rule, after noise when asked, and returns the cells to send in a stable order. */
export function releaseCells(counts: CellCounts, options: DisclosureOptions): ReleasedCells {
  const cells: AggregateCell[] = [];
  let suppressedCells = 0;
  const release = (key: CellKey, value: number) => {
    if (value <= 0) return;
    if (value < options.minCellCount) {
      suppressedCells += 1;
      cells.push({ ...key, count: 0, suppressed: true });
    } else {
      cells.push({ ...key, count: value, suppressed: false });
    }
  };
  if (options.epsilon > 0) {
    for (const key of counts.domain()) release(key, counts.get(key) + discreteLaplace(options.epsilon, options.random));
  } else {
    for (const { key, count } of counts.entries()) release(key, count);
  }
  cells.sort(compareCells);
  return { cells, suppressedCells };
}

/** A single count (such as undated records) under the same rules: 0 when suppressed or noised to 0 or less. */
export function releaseCount(count: number, options: DisclosureOptions): number {
  const value = options.epsilon > 0 ? count + discreteLaplace(options.epsilon, options.random) : count;
  return value >= options.minCellCount ? value : 0;
}

function compareCells(a: AggregateCell, b: AggregateCell): number {
  return a.measure.localeCompare(b.measure) || a.month.localeCompare(b.month) || a.category.localeCompare(b.category) || a.designation.localeCompare(b.designation);
}
