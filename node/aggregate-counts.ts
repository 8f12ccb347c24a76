/**
 * The true counts behind an aggregate answer, computed inside the node: live records by the month of
 * their `recordedAt`, and hits by the month of the answer (from the audit log), each by category and
 * designation. Only these numbers, after disclosure control (disclosure-control.ts), leave the node.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { countedDesignation, designationsOf, RECORD_CATEGORIES } from "../common/designations.ts";
import { AggregateDimension, AggregateMeasure, type AggregateQuery } from "../common/proto.ts";
import { cellId, monthsBetween } from "../common/aggregate-query.ts";
import { isExpired, type NativeRecord } from "./record-schema.ts";

/** A cell's coordinates: "" for a dimension not grouped by. */
export interface CellKey {
  measure: AggregateMeasure;
  month: string;
  category: string;
  designation: string;
}

/** Records or audit entries handled between two yields to the event loop, so queries keep being answered. */
const SCAN_SLICE = 5000;

/** Counts per cell key, for one query's grouping and filters. */
export class CellCounts {
  readonly #counts = new Map<string, { key: CellKey; count: number }>();
  readonly #groupBy: ReadonlySet<AggregateDimension>;
  readonly #categories: ReadonlySet<string>;
  readonly #months: ReadonlySet<string>;
  readonly query: Pick<AggregateQuery, "fromMonth" | "toMonth" | "groupBy" | "categories">;

  constructor(query: Pick<AggregateQuery, "fromMonth" | "toMonth" | "groupBy" | "categories">) {
    this.query = query;
    this.#groupBy = new Set(query.groupBy);
    this.#categories = new Set(query.categories.length > 0 ? query.categories : RECORD_CATEGORIES);
    this.#months = new Set(monthsBetween(query.fromMonth, query.toMonth));
  }

  /** Whether a record or hit of this month and category is counted at all. */
  counts(month: string, category: string): boolean {
    return this.#months.has(month) && this.#categories.has(category);
  }

  /** Whether records of this category are counted (in some month). */
  countsCategory(category: string): boolean {
    return this.#categories.has(category);
  }

  /** Adds one to the cell of a record or hit (which `counts` accepted). Allocates only for a new cell. */
  add(measure: AggregateMeasure, month: string, category: string, designation: string): void {
    const id = cellId({
      measure,
      month: this.#groupBy.has(AggregateDimension.Month) ? month : "",
      category: this.#groupBy.has(AggregateDimension.Category) ? category : "",
      designation: this.#groupBy.has(AggregateDimension.Designation) ? designation : "",
    });
    const entry = this.#counts.get(id);
    if (entry) entry.count += 1;
    else this.#counts.set(id, { key: this.keyFor(measure, month, category, designation), count: 1 });
  }

  /** The count of a cell (0 when nothing fell in it). */
  get(key: CellKey): number {
    return this.#counts.get(cellId(key))?.count ?? 0;
  }

  /** Cells with a count, in no particular order. */
  entries(): Iterable<{ key: CellKey; count: number }> {
    return this.#counts.values();
  }

  keyFor(measure: AggregateMeasure, month: string, category: string, designation: string): CellKey {
    return {
      measure,
      month: this.#groupBy.has(AggregateDimension.Month) ? month : "",
      category: this.#groupBy.has(AggregateDimension.Category) ? category : "",
      designation: this.#groupBy.has(AggregateDimension.Designation) ? designation : "",
    };
  }

  /**
   * Every cell this query could have, counted or not: the domain over which noise is added, so that a
   * released cell says nothing by being present. Designations are a fixed vocabulary for that reason.
   */
  *domain(): Generator<CellKey> {
    const seen = new Set<string>();
    for (const measure of [AggregateMeasure.Records, AggregateMeasure.Hits]) {
      for (const month of this.#months) {
        for (const category of this.#categories) {
          for (const designation of designationsOf(category)) {
            const key = this.keyFor(measure, month, category, designation);
            const id = cellId(key);
            if (seen.has(id)) continue;
            seen.add(id);
            yield key;
          }
        }
      }
    }
  }
}

/** The category and designation a record is counted under. */
export function classify(record: NativeRecord): { category: string; designation: string } {
  if (record.kind === "person") return { category: "person", designation: "" };
  return { category: record.type, designation: countedDesignation(record.type, record.designation) };
}

/**
 * Counts live records into `counts` by their recordedAt month; returns how many live records of the
 * counted categories have no recordedAt (no month can hold them). Yields to the event loop every
 * SCAN_SLICE records.
 */
export async function countRecords(records: Iterable<NativeRecord>, counts: CellCounts, today: string, signal?: AbortSignal): Promise<number> {
  let undated = 0;
  let sinceYield = 0;
  for (const record of records) {
    if (++sinceYield >= SCAN_SLICE) {
      sinceYield = 0;
      await yieldToEventLoop();
      signal?.throwIfAborted();
    }
    if (isExpired(record, today)) continue;
    const { category, designation } = classify(record);
    if (record.recordedAt === undefined) {
      if (counts.countsCategory(category)) undated += 1;
      continue;
    }
    const month = record.recordedAt.slice(0, 7);
    if (counts.counts(month, category)) counts.add(AggregateMeasure.Records, month, category, designation);
  }
  return undated;
}

/** The audit facts hit counting needs: when, what status, which records. */
export interface HitEvent {
  /** ISO time of the answer. */
  time: string;
  status: string;
  hitReferences: readonly string[];
}

/**
 * Counts hit answers into `counts` by the month of the answer and the hit record's category and
 * designation. A reference whose record is gone (deleted or purged since) cannot be classified and is
 * not counted.
 */
export async function countHits(
  events: Iterable<HitEvent>,
  counts: CellCounts,
  recordFor: (reference: string) => NativeRecord | undefined,
  signal?: AbortSignal,
): Promise<void> {
  let sinceYield = 0;
  for (const event of events) {
    if (++sinceYield >= SCAN_SLICE) {
      sinceYield = 0;
      await yieldToEventLoop();
      signal?.throwIfAborted();
    }
    if (event.status !== "hit") continue;
    const month = event.time.slice(0, 7);
    for (const reference of event.hitReferences) {
      const record = recordFor(reference);
      if (!record) continue;
      const { category, designation } = classify(record);
      if (counts.counts(month, category)) counts.add(AggregateMeasure.Hits, month, category, designation);
    }
  }
}
