/**
 * The regional report: what `watchmesh report` renders as HTML, prints with --json, and the console's
 * analyst view shows. Built from an AggregateResult whose every count was verified against its country's
 * signature; it holds counts only, never a record. The JSON shape (format "watchmesh-report/v1") is a
 * documented contract: fields are only added.
 *
 * Suppressed cells: a region's sum leaves them out, so it is a lower bound wherever a country suppressed
 * a cell; each series and item says how many cells it lacks. The trend test (trends.ts) is conservative
 * about them: a suppressed previous-month cell counts as k-1 (its largest possible value) and a
 * suppressed latest-month cell as 0, so suppression never makes an item look emerging.
 */
import { monthsBetween, previousMonth } from "../../common/aggregate-query.ts";
import type { AggregateMeasureName, AggregateResult, CountryAggregateStatus } from "../analyst-client.ts";
import { testRise } from "./trends.ts";

export const REPORT_FORMAT = "watchmesh-report/v1";

export interface ReportOptions {
  /** Only countries of this region (as in `regionOf`); default all. */
  region?: string;
  /** Only these record categories; default all in the result. */
  categories?: string[];
  /** Significance level of the trend test (default 0.05). */
  alpha?: number;
  now?: Date;
}

export interface ReportCountry {
  country: string;
  region: string;
  status: CountryAggregateStatus;
  errorCode?: string;
  suppressedCells: number;
  minCellCount: number;
}

/** Monthly totals of one measure in one region. */
export interface ReportSeries {
  region: string;
  measure: AggregateMeasureName;
  /** One per `period.months`. */
  counts: number[];
  /** Cells left out of these sums because a country suppressed them. */
  suppressedCells: number;
}

/** One item (category and designation) of one region and measure: monthly counts and its trend. */
export interface ReportItem {
  region: string;
  measure: AggregateMeasureName;
  category: string;
  /** "" for categories without designations. */
  designation: string;
  total: number;
  counts: number[];
  suppressedCells: number;
  /** Per month: cells of this item some country suppressed (their counts, 1 to k-1 each, are not in `counts`). */
  suppressedByMonth: number[];
  /** Latest month against the one before (the last two months of the period). */
  trend: { previous: number; latest: number; change: number | null; pValue: number; emerging: boolean };
}

export interface ReportModel {
  format: typeof REPORT_FORMAT;
  generatedAt: string;
  queryId: string;
  traceId: string;
  period: { from: string; to: string; months: string[] };
  filter: { region: string | null; categories: string[] };
  privacy: {
    /** Epsilon of the noise the countries added (0: exact counts). */
    epsilon: number;
    /** The countries' small-cell thresholds k, lowest and highest. */
    minCellCount: { lowest: number; highest: number };
    suppressedCells: number;
  };
  alpha: number;
  countries: ReportCountry[];
  /** Regions with at least one answering country, in name order. */
  regions: string[];
  series: ReportSeries[];
  items: ReportItem[];
  /** Items flagged by the trend test, strongest evidence first. */
  emerging: ReportItem[];
  /** The categories present in the counts, for filters. */
  categories: string[];
}

/** Builds the report; the result must be grouped by month (the report's unit of time). */
export function buildReport(result: AggregateResult, options: ReportOptions = {}): ReportModel {
  const months = monthsBetween(result.fromMonth, result.toMonth);
  const monthIndex = new Map(months.map((month, index) => [month, index]));
  const alpha = options.alpha ?? 0.05;
  const countries = result.countries.filter((line) => options.region === undefined || line.region === options.region);
  const answered = countries.filter((line) => line.status === "answered");
  const wanted = (category: string) => options.categories === undefined || options.categories.length === 0 || options.categories.includes(category);
  const seriesByKey = new Map<string, ReportSeries>();
  const itemsByKey = new Map<string, ReportItem & { previousSuppressed: number }>();
  const categories = new Set<string>();
  for (const line of answered) {
    for (const cell of line.cells) {
      categories.add(cell.category);
      const index = monthIndex.get(cell.month);
      if (index === undefined || !wanted(cell.category)) continue;
      const seriesKey = `${line.region}\u0000${cell.measure}`;
      const series = seriesByKey.get(seriesKey) ?? { region: line.region, measure: cell.measure, counts: months.map(() => 0), suppressedCells: 0 };
      seriesByKey.set(seriesKey, series);
      const itemKey = `${line.region}\u0000${cell.measure}\u0000${cell.category}\u0000${cell.designation}`;
      const item = itemsByKey.get(itemKey) ?? {
        region: line.region,
        measure: cell.measure,
        category: cell.category,
        designation: cell.designation,
        total: 0,
        counts: months.map(() => 0),
        suppressedCells: 0,
        suppressedByMonth: months.map(() => 0),
        previousSuppressed: 0,
        trend: { previous: 0, latest: 0, change: null, pValue: 1, emerging: false },
      };
      itemsByKey.set(itemKey, item);
      if (cell.suppressed) {
        series.suppressedCells += 1;
        item.suppressedCells += 1;
        item.suppressedByMonth[index] = (item.suppressedByMonth[index] ?? 0) + 1;
        // At most k-1 hides in a suppressed cell: the trend test assumes the most for the month before.
        if (months.length >= 2 && cell.month === previousMonth(result.toMonth)) item.previousSuppressed += Math.max(0, line.minCellCount - 1);
        continue;
      }
      series.counts[index] = (series.counts[index] ?? 0) + cell.count;
      item.counts[index] = (item.counts[index] ?? 0) + cell.count;
      item.total += cell.count;
    }
  }
  const minCellCounts = answered.map((line) => line.minCellCount);
  const items = [...itemsByKey.values()].map(({ previousSuppressed, ...item }): ReportItem => {
    if (months.length < 2) return item;
    const latest = item.counts[months.length - 1] ?? 0;
    const previous = (item.counts[months.length - 2] ?? 0) + previousSuppressed;
    return { ...item, trend: testRise(previous, latest, { alpha, minLatest: Math.max(1, ...minCellCounts) }) };
  });
  items.sort((a, b) => a.region.localeCompare(b.region) || a.measure.localeCompare(b.measure) || b.total - a.total || a.category.localeCompare(b.category) || a.designation.localeCompare(b.designation));
  return {
    format: REPORT_FORMAT,
    generatedAt: (options.now ?? new Date()).toISOString(),
    queryId: result.queryId,
    traceId: result.traceId,
    period: { from: result.fromMonth, to: result.toMonth, months },
    filter: { region: options.region ?? null, categories: options.categories ?? [] },
    privacy: {
      epsilon: result.epsilon,
      minCellCount: { lowest: minCellCounts.length ? Math.min(...minCellCounts) : 0, highest: minCellCounts.length ? Math.max(...minCellCounts) : 0 },
      suppressedCells: answered.reduce((sum, line) => sum + line.suppressedCells, 0),
    },
    alpha,
    countries: countries.map(({ country, region, status, errorCode, suppressedCells, minCellCount }) => ({
      country,
      region,
      status,
      ...(errorCode ? { errorCode } : {}),
      suppressedCells,
      minCellCount,
    })),
    regions: [...new Set(answered.map((line) => line.region))].sort(),
    series: [...seriesByKey.values()].sort((a, b) => a.region.localeCompare(b.region) || a.measure.localeCompare(b.measure)),
    items,
    emerging: items.filter((item) => item.trend.emerging).sort((a, b) => a.trend.pValue - b.trend.pValue),
    categories: [...categories].sort(),
  };
}
