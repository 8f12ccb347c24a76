/**
 * Renders a ReportModel as one self-contained HTML file: the charting library (Chart.js, MIT, embedded
 * from node_modules with its licence header), the report's data and the script drawing the charts are
 * all inline, so the file opens offline and can be mailed or archived as is. Tables are plain HTML, so
 * every figure is readable without JavaScript and by screen readers.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { ReportItem, ReportModel } from "./report-model.ts";

const require = createRequire(import.meta.url);

/** Chart.js's UMD build (defines `window.Chart`); the console serves the same file. */
export function chartLibraryPath(): string {
  return path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js");
}

let chartLibrarySource: string | undefined;
function chartLibrary(): string {
  chartLibrarySource ??= readFileSync(chartLibraryPath(), "utf8");
  return chartLibrarySource;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no "</script", no "<!--". */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** Inline script text: no "</script" can end the element early. */
function scriptText(source: string): string {
  return source.replace(/<\/script/gi, "<\\/script");
}

const label = (item: Pick<ReportItem, "category" | "designation">) => (item.designation ? `${item.category}: ${item.designation.replace(/_/g, " ")}` : item.category);
const regionLabel = (region: string) => region || "All regions";
const percent = (change: number | null) => (change === null ? "new" : `${change >= 0 ? "+" : ""}${Math.round(change * 100)}%`);

function emergingTable(model: ReportModel): string {
  if (model.emerging.length === 0) return `<p>No item rose significantly from ${escapeHtml(model.period.months.at(-2) ?? "")} to ${escapeHtml(model.period.to)}.</p>`;
  const rows = model.emerging
    .map(
      (item) =>
        `<tr><td>${escapeHtml(regionLabel(item.region))}</td><td>${escapeHtml(item.measure)}</td><td>${escapeHtml(label(item))}</td><td class="n">${item.trend.previous}</td><td class="n">${item.trend.latest}</td><td class="n">${percent(item.trend.change)}</td><td class="n">${item.trend.pValue.toPrecision(2)}</td></tr>`,
    )
    .join("\n");
  return `<table><caption>Emerging items: ${escapeHtml(model.period.to)} against the month before (one-sided binomial test, p &lt; ${model.alpha})</caption>
<thead><tr><th scope="col">Region</th><th scope="col">Measure</th><th scope="col">Item</th><th scope="col">Previous</th><th scope="col">Latest</th><th scope="col">Change</th><th scope="col">p</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/** A released sum, marked when some country suppressed its cell: "<k" alone, or "12+" beside released counts. */
function countText(count: number, suppressed: number): string {
  if (suppressed === 0) return String(count);
  return count === 0 ? `<abbr title="suppressed: between 1 and k-1 at ${suppressed} ${suppressed === 1 ? "country" : "countries"}">&lt;k</abbr>` : `<abbr title="plus suppressed cells at ${suppressed} ${suppressed === 1 ? "country" : "countries"}">${count}+</abbr>`;
}

function itemsTable(model: ReportModel): string {
  const head = model.period.months.map((month) => `<th scope="col">${escapeHtml(month)}</th>`).join("");
  const rows = model.items
    .map(
      (item) =>
        `<tr><td>${escapeHtml(regionLabel(item.region))}</td><td>${escapeHtml(item.measure)}</td><td>${escapeHtml(label(item))}</td>${item.counts.map((count, index) => `<td class="n">${countText(count, item.suppressedByMonth[index] ?? 0)}</td>`).join("")}<td class="n">${item.total}</td><td class="n">${item.suppressedCells}</td></tr>`,
    )
    .join("\n");
  return `<table><caption>Counts per region, item and month (&lt;k: suppressed at every country that has it; 12+: more in cells some country suppressed)</caption>
<thead><tr><th scope="col">Region</th><th scope="col">Measure</th><th scope="col">Item</th>${head}<th scope="col">Total</th><th scope="col">Suppressed cells</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function countriesTable(model: ReportModel): string {
  const rows = model.countries
    .map(
      (line) =>
        `<tr><td>${escapeHtml(line.country)}</td><td>${escapeHtml(line.region)}</td><td>${escapeHtml(line.status)}${line.errorCode ? ` (${escapeHtml(line.errorCode)})` : ""}</td><td class="n">${line.status === "answered" ? line.minCellCount : ""}</td><td class="n">${line.suppressedCells}</td></tr>`,
    )
    .join("\n");
  return `<table><caption>Countries asked</caption>
<thead><tr><th scope="col">Country</th><th scope="col">Region</th><th scope="col">Answer</th><th scope="col">k</th><th scope="col">Suppressed cells</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/** Draws the charts from the embedded data once Chart.js is loaded. */
const CHART_SCRIPT = `
(function () {
  var model = JSON.parse(document.getElementById("report-data").textContent);
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  function lineChart(id, measure) {
    var series = model.series.filter(function (s) { return s.measure === measure; });
    new Chart(document.getElementById(id), {
      type: "line",
      data: { labels: model.period.months, datasets: series.map(function (s, i) {
        return { label: s.region, data: s.counts, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], tension: 0.2 };
      }) },
      options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  lineChart("chart-records", "records");
  lineChart("chart-hits", "hits");
  var designated = model.items.filter(function (item) { return item.measure === "records" && item.designation !== ""; });
  var totals = {};
  designated.forEach(function (item) { var key = item.category + ": " + item.designation.replace(/_/g, " "); totals[key] = (totals[key] || 0) + item.total; });
  var top = Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a]; }).slice(0, 12);
  new Chart(document.getElementById("chart-designations"), {
    type: "bar",
    data: { labels: top, datasets: model.regions.map(function (region, i) {
      return { label: region, backgroundColor: palette[i % palette.length], data: top.map(function (key) {
        return designated.filter(function (item) { return item.region === region && item.category + ": " + item.designation.replace(/_/g, " ") === key; })
          .reduce(function (sum, item) { return sum + item.total; }, 0);
      }) };
    }) },
    options: { animation: false, indexAxis: "y", responsive: true, scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } }
  });
})();
`;

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.facts { display: flex; flex-wrap: wrap; gap: 0.5rem 2rem; padding: 0; list-style: none; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1.5rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 0.5rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; } caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; } th { background: #f2f2f2; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #444; font-size: 0.9rem; }
`;

export function renderReportHtml(model: ReportModel): string {
  const scope = model.filter.region ? `region ${model.filter.region}` : "all regions";
  const privacy = model.privacy.epsilon > 0
    ? `Each country added discrete Laplace noise (epsilon ${model.privacy.epsilon} per country and query) before suppressing small cells.`
    : "Counts are exact; each country suppressed small cells before they left its node.";
  const answered = model.countries.filter((line) => line.status === "answered").length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Watchmesh regional report ${escapeHtml(model.period.from)} to ${escapeHtml(model.period.to)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Regional report: ${escapeHtml(scope)}, ${escapeHtml(model.period.from)} to ${escapeHtml(model.period.to)}</h1>
<ul class="facts">
<li>Countries answering: ${answered} of ${model.countries.length}</li>
<li>Small-cell threshold k: ${model.privacy.minCellCount.lowest === model.privacy.minCellCount.highest ? model.privacy.minCellCount.lowest : `${model.privacy.minCellCount.lowest}–${model.privacy.minCellCount.highest}`}</li>
<li>Suppressed cells: ${model.privacy.suppressedCells}</li>
<li>Generated ${escapeHtml(model.generatedAt)}</li>
<li>Query ${escapeHtml(model.queryId)}</li>
</ul>
<p class="note">${privacy} No record left any country: every number is a count computed and signed by the country that holds the records, and verified against its key.</p>
<h2>Emerging items</h2>
${emergingTable(model)}
<h2>Charts</h2>
<div class="charts">
<figure><figcaption id="cap-records">Records per month by region</figcaption><canvas id="chart-records" role="img" aria-labelledby="cap-records"></canvas></figure>
<figure><figcaption id="cap-hits">Hits per month by region</figcaption><canvas id="chart-hits" role="img" aria-labelledby="cap-hits"></canvas></figure>
<figure><figcaption id="cap-designations">Precursors and device components recorded in the period (top 12)</figcaption><canvas id="chart-designations" role="img" aria-labelledby="cap-designations"></canvas></figure>
</div>
<h2>Counts</h2>
${itemsTable(model)}
<h2>Countries</h2>
${countriesTable(model)}
</main>
<script type="application/json" id="report-data">${scriptJson(model)}</script>
<script>${scriptText(chartLibrary())}</script>
<script>${scriptText(CHART_SCRIPT)}</script>
</body>
</html>
`;
}
