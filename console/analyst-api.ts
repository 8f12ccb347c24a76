import type { AnalystClient } from "../client/analyst-client.ts";
import { buildReport, type ReportModel } from "../client/report/report-model.ts";
import { AGGREGATE_LIMITS, DEFAULT_REPORT_MONTHS, firstOfMonths, isMonth, lastCompleteMonth, monthsBetween } from "../common/aggregate-query.ts";
import { RECORD_CATEGORIES } from "../common/designations.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { findRegion, regionOf } from "../common/regions.ts";

/**
 * The analyst view's server side, as the server sees it: the regional report for the filters of
 * `GET /api/analyst/report?…`. ReportDesk is the implementation over the analyst client.
 */
export interface AnalystDesk {
  /** What the page shows about the desk: who asks, and the choices its filters offer. */
  readonly info: AnalystInfo;
  report(params: URLSearchParams, options?: { signal?: AbortSignal }): Promise<ReportModel>;
}

export interface AnalystInfo {
  country: string;
  agency: string;
  /** Regions with member countries, in name order. */
  regions: string[];
  categories: string[];
  /** The default period ("YYYY-MM"). */
  from: string;
  to: string;
}

export interface ReportFilter {
  region?: string;
  fromMonth: string;
  toMonth: string;
  categories?: string[];
}

function invalid(message: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.InvalidArgument, message);
}

/** Validates the report filters: region (one of `regions`, any case), period, categories; empty values are ignored. */
export function parseReportFilter(params: URLSearchParams, regions: readonly string[], now = new Date()): ReportFilter {
  const known = new Set(["region", "from", "to", "categories"]);
  for (const key of params.keys()) if (!known.has(key)) throw invalid(`unknown report parameter ${key}`);
  const get = (key: string): string | undefined => params.get(key)?.trim() || undefined;
  const filter: ReportFilter = { fromMonth: "", toMonth: get("to") ?? lastCompleteMonth(now) };
  const region = get("region");
  if (region !== undefined) {
    const found = findRegion(region, regions);
    if (!found) throw invalid(`region must be one of ${regions.join(", ")}`);
    filter.region = found;
  }
  if (!isMonth(filter.toMonth)) throw invalid("to must be a month, YYYY-MM");
  filter.fromMonth = get("from") ?? firstOfMonths(filter.toMonth, DEFAULT_REPORT_MONTHS);
  if (!isMonth(filter.fromMonth)) throw invalid("from must be a month, YYYY-MM");
  if (filter.fromMonth > filter.toMonth) throw invalid("from is after to");
  if (monthsBetween(filter.fromMonth, filter.toMonth).length > AGGREGATE_LIMITS.maxMonths) throw invalid(`a report covers at most ${AGGREGATE_LIMITS.maxMonths} months`);
  const categories = get("categories")?.split(",").map((part) => part.trim()).filter(Boolean);
  if (categories !== undefined && categories.length > 0) {
    const bad = categories.find((category) => !(RECORD_CATEGORIES as readonly string[]).includes(category));
    if (bad !== undefined) throw invalid(`categories must be among ${RECORD_CATEGORIES.join(", ")}`);
    filter.categories = [...new Set(categories)];
  }
  return filter;
}

export interface ReportDeskOptions {
  /** The analyst client: it signs each aggregate query with the analyst key and verifies every country's counts. */
  client: AnalystClient;
  country: string;
  agency: string;
  /** The registry's node countries (the report's regions are theirs). */
  countries: readonly string[];
  /** Noise (differential privacy) asked of every country; 0 (the default) for exact, k-suppressed counts. */
  epsilon?: number;
  deadlineMs?: number;
  now?: () => Date;
}

/** The regional report over the aggregate protocol, as `watchmesh report --json` builds it. */
export class ReportDesk implements AnalystDesk {
  readonly #options: ReportDeskOptions;
  readonly #regions: string[];

  constructor(options: ReportDeskOptions) {
    this.#options = options;
    this.#regions = [...new Set(options.countries.map(regionOf))].sort();
  }

  get info(): AnalystInfo {
    const to = lastCompleteMonth(this.#options.now?.() ?? new Date());
    return {
      country: this.#options.country,
      agency: this.#options.agency,
      regions: [...this.#regions],
      categories: [...RECORD_CATEGORIES],
      from: firstOfMonths(to, DEFAULT_REPORT_MONTHS),
      to,
    };
  }

  async report(params: URLSearchParams, options: { signal?: AbortSignal } = {}): Promise<ReportModel> {
    const now = this.#options.now?.() ?? new Date();
    const filter = parseReportFilter(params, this.#regions, now);
    // Only the region's countries are asked: the others' counts are not needed.
    const countries = filter.region === undefined ? undefined : this.#options.countries.filter((country) => regionOf(country) === filter.region);
    const result = await this.#options.client.aggregate({
      fromMonth: filter.fromMonth,
      toMonth: filter.toMonth,
      epsilon: this.#options.epsilon ?? 0,
      ...(filter.categories ? { categories: filter.categories } : {}),
      ...(countries ? { countries } : {}),
      ...(this.#options.deadlineMs ? { deadlineMs: this.#options.deadlineMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return buildReport(result, { ...(filter.region ? { region: filter.region } : {}), ...(filter.categories ? { categories: filter.categories } : {}), now });
  }
}
