/**
 * The analyst view's server side: the regional report (aggregate counts per region, country, month,
 * category), filtered by region, period and category. The console calls the analyst client with its
 * analyst key; until the aggregate report protocol is part of Watchmesh, no desk exists and the view
 * is shown as unavailable.
 */
export interface AnalystDesk {
  /** What the page shows about the desk (who the reports are requested as). */
  readonly info: Readonly<Record<string, unknown>>;
  /** The report for the filters of `GET /api/analyst/report?…`, as JSON. */
  report(params: URLSearchParams): Promise<unknown>;
}
