/**
 * Sums of the countries' released aggregate cells per region, and for all regions together (region
 * ""). The coordinator returns them with the answers; the analyst client computes them again from the
 * answers it verified, so neither has to trust the other's arithmetic. Suppressed cells are not summed:
 * a sum is a lower bound wherever some country suppressed the same cell, and `suppressedCells` says so.
 */
import { cellId } from "./aggregate-query.ts";
import { AggregateStatus, type AggregateAnswer, type AggregateCell } from "./proto.ts";
import { regionOf } from "./regions.ts";

export interface RegionTotal {
  /** Region name, or "" for all regions together. */
  region: string;
  cells: AggregateCell[];
  /** Countries that answered and are summed here. */
  countries: number;
  /** Cells those countries suppressed. */
  suppressedCells: number;
}

/** Totals of the answers given (answered ones only), one per region in name order, then the overall one. */
export function sumByRegion(allAnswers: readonly AggregateAnswer[]): RegionTotal[] {
  const answers = allAnswers.filter((answer) => answer.status === AggregateStatus.Answered);
  const byRegion = new Map<string, AggregateAnswer[]>();
  for (const answer of answers) {
    const region = regionOf(answer.respondingCountry);
    byRegion.set(region, [...(byRegion.get(region) ?? []), answer]);
  }
  const regions = [...byRegion.keys()].sort();
  return [...regions.map((region) => sumAnswers(region, byRegion.get(region) ?? [])), sumAnswers("", answers)];
}

function sumAnswers(region: string, answers: readonly AggregateAnswer[]): RegionTotal {
  const sums = new Map<string, AggregateCell>();
  let suppressedCells = 0;
  for (const answer of answers) {
    for (const cell of answer.cells) {
      if (cell.suppressed) {
        suppressedCells += 1;
        continue;
      }
      const id = cellId(cell);
      const sum = sums.get(id);
      if (sum) sum.count += cell.count;
      else sums.set(id, { ...cell });
    }
  }
  return { region, cells: [...sums.values()], countries: answers.length, suppressedCells };
}
