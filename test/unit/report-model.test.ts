import { describe, expect, it } from "vitest";
import type { AggregateResult, CountryAggregate, ReleasedCell } from "../../client/analyst-client.ts";
import { renderReportHtml } from "../../client/report/report-html.ts";
import { buildReport, REPORT_FORMAT } from "../../client/report/report-model.ts";

const cell = (month: string, category: string, designation: string, count: number, suppressed = false, measure: "records" | "hits" = "records"): ReleasedCell => ({
  measure,
  month,
  category,
  designation,
  count: suppressed ? 0 : count,
  suppressed,
});

function country(code: string, region: string, cells: ReleasedCell[], status: CountryAggregate["status"] = "answered"): CountryAggregate {
  return { country: code, region, status, cells, suppressedCells: cells.filter((c) => c.suppressed).length, minCellCount: 5, epsilon: 0, undatedRecords: 0, ms: 3 };
}

const result: AggregateResult = {
  queryId: "q-1",
  traceId: "t-1",
  fromMonth: "2026-09",
  toMonth: "2026-11",
  groupBy: ["month", "category", "designation"],
  categories: [],
  epsilon: 0,
  countries: [
    country("DEU", "Europe", [cell("2026-10", "precursor", "acetone", 10), cell("2026-11", "precursor", "acetone", 30), cell("2026-11", "person", "", 8), cell("2026-11", "person", "", 5, false, "hits")]),
    country("ESP", "Europe", [cell("2026-10", "precursor", "acetone", 0, true), cell("2026-11", "precursor", "acetone", 9), cell("2026-10", "person", "", 6)]),
    country("NGA", "Africa", [cell("2026-10", "device_component", "timer", 0, true), cell("2026-11", "device_component", "timer", 7)]),
    { ...country("FRA", "Europe", []), status: "refused", errorCode: "POLICY_CATEGORY_DENIED" },
  ],
  totals: [],
};

describe("regional report model", () => {
  it("sums released counts per region, month and item, and counts suppressed cells apart", () => {
    const model = buildReport(result, { now: new Date("2026-12-03T00:00:00Z") });
    expect(model.format).toBe(REPORT_FORMAT);
    expect(model.period.months).toEqual(["2026-09", "2026-10", "2026-11"]);
    expect(model.regions).toEqual(["Africa", "Europe"]);
    const acetone = model.items.find((item) => item.region === "Europe" && item.designation === "acetone");
    expect(acetone).toMatchObject({ counts: [0, 10, 39], total: 49, suppressedCells: 1, suppressedByMonth: [0, 1, 0] });
    expect(model.series.find((s) => s.region === "Europe" && s.measure === "records")).toMatchObject({ counts: [0, 16, 47], suppressedCells: 1 });
    expect(model.series.find((s) => s.region === "Europe" && s.measure === "hits")).toMatchObject({ counts: [0, 0, 5], suppressedCells: 0 });
    expect(model.privacy).toEqual({ epsilon: 0, minCellCount: { lowest: 5, highest: 5 }, suppressedCells: 2 });
    expect(model.countries.find((line) => line.country === "FRA")).toMatchObject({ status: "refused", errorCode: "POLICY_CATEGORY_DENIED" });
  });

  it("tests the last month against the one before, counting a suppressed previous cell as k-1", () => {
    const model = buildReport(result);
    const acetone = model.items.find((item) => item.region === "Europe" && item.designation === "acetone");
    // Previous: DEU 10 + ESP suppressed (at most 4) = 14; latest 39.
    expect(acetone?.trend).toMatchObject({ previous: 14, latest: 39, emerging: true });
    const timer = model.items.find((item) => item.designation === "timer");
    // 4 (suppressed) -> 7 is no evidence of a rise.
    expect(timer?.trend).toMatchObject({ previous: 4, latest: 7, emerging: false });
    // Strongest evidence first; person records (6 -> 8) are not a rise, person hits (0 -> 5) are.
    expect(model.emerging.map((item) => `${item.measure}/${item.category}/${item.designation}`)).toEqual(["records/precursor/acetone", "hits/person/"]);
  });

  it("filters by region and category", () => {
    const africa = buildReport(result, { region: "Africa" });
    expect(africa.countries.map((line) => line.country)).toEqual(["NGA"]);
    expect(africa.items.map((item) => item.designation)).toEqual(["timer"]);
    const persons = buildReport(result, { categories: ["person"] });
    expect(new Set(persons.items.map((item) => item.category))).toEqual(new Set(["person"]));
    expect(persons.categories).toEqual(["device_component", "person", "precursor"]);
  });
});

describe("HTML report", () => {
  const html = renderReportHtml(buildReport(result));

  it("is self-contained: the charting library and the data are inline, nothing is fetched", () => {
    expect(html).toContain("Chart.js v4");
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).toContain('<script type="application/json" id="report-data">');
  });

  it("shows the emerging items, suppressed cells and refusals in plain tables", () => {
    expect(html).toContain("precursor: acetone");
    expect(html).toMatch(/<td class="n"><abbr title="suppressed: between 1 and k-1 at 1 country">&lt;k<\/abbr><\/td>/);
    expect(html).toContain("refused (POLICY_CATEGORY_DENIED)");
  });

  it("cannot be broken out of by text in the data", () => {
    const hostile = buildReport({ ...result, queryId: "</script><script>alert(1)</script>" });
    const page = renderReportHtml(hostile);
    expect(page).not.toContain("<script>alert(1)");
    expect(page.match(/<\/script>/g)).toHaveLength(3);
  });
});
