import { api, el, errorBox, initPage, showUnavailable } from "/console.js";

const form = document.getElementById("report-form");
const report = document.getElementById("report");
const reportBody = document.getElementById("report-body");
const reportHeading = document.getElementById("report-heading");
const filterError = document.getElementById("filter-error");
const reportButton = document.getElementById("report-button");
const PALETTE = ["#1f5fa0", "#b3261e", "#2e7d32", "#7b3fa0", "#c16900", "#6d4c41", "#ad1457", "#00838f"];
/** Charts on screen, destroyed before the next report is drawn. */
let charts = [];

const CATEGORY_LABELS = {
  person: "Persons",
  organisation: "Organisations",
  phone: "Phones",
  vehicle: "Vehicles",
  device_component: "Device components",
  precursor: "Precursors",
  email: "E-mail addresses",
};
const itemLabel = (item) => (item.designation ? `${item.category}: ${item.designation.replaceAll("_", " ")}` : item.category);
const regionLabel = (region) => region || "All regions";
const percent = (change) => (change === null ? "new" : `${change >= 0 ? "+" : ""}${Math.round(change * 100)}%`);

function params() {
  const query = new URLSearchParams();
  for (const name of ["region", "from", "to"]) {
    const value = document.getElementById(name).value.trim();
    if (value) query.set(name, value);
  }
  const categories = [...document.querySelectorAll('#categories input[type="checkbox"]:checked')].map((box) => box.value);
  if (categories.length > 0) query.set("categories", categories.join(","));
  return query;
}

function table(caption, headers, rows, numeric = new Set()) {
  return el("table", {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, headers.map((title, index) => el("th", { scope: "col", class: numeric.has(index) ? "num" : undefined }, title)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell, index) =>
      index === 0 ? el("th", { scope: "row" }, cell) : el("td", { class: numeric.has(index) ? "num" : undefined }, cell))))));
}

function scrollable(label, child) {
  // Wide tables scroll sideways; the region takes keyboard focus so the arrow keys scroll it.
  return el("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: "0" }, child);
}

function chartFigure(id, caption, summary, empty) {
  return el("figure", { class: "chart" },
    el("figcaption", { id: `${id}-caption` }, caption),
    summary
      ? [el("div", { class: "chart-box" }, el("canvas", { id, role: "img", "aria-labelledby": `${id}-caption`, "aria-describedby": `${id}-summary` })),
         el("p", { class: "visually-hidden", id: `${id}-summary` }, summary)]
      : el("p", { class: "notice" }, empty));
}

function lineChart(model, id, measure) {
  const series = model.series.filter((line) => line.measure === measure);
  return new window.Chart(document.getElementById(id), {
    type: "line",
    data: {
      labels: model.period.months,
      datasets: series.map((line, index) => ({ label: regionLabel(line.region), data: line.counts, borderColor: PALETTE[index % PALETTE.length], backgroundColor: PALETTE[index % PALETTE.length], tension: 0.2 })),
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function designationChart(model, id, top) {
  return new window.Chart(document.getElementById(id), {
    type: "bar",
    data: {
      labels: top.map(([label]) => label),
      datasets: model.regions.map((region, index) => ({
        label: regionLabel(region),
        backgroundColor: PALETTE[index % PALETTE.length],
        data: top.map(([label]) => model.items.filter((item) => item.measure === "records" && item.region === region && itemLabel(item) === label).reduce((sum, item) => sum + item.total, 0)),
      })),
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false, indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } },
  });
}

function seriesSummary(model, measure) {
  return model.series.filter((line) => line.measure === measure)
    .map((line) => `${regionLabel(line.region)}: ${line.counts.map((count, index) => `${model.period.months[index]} ${count}`).join(", ")}`).join(". ");
}

function renderReport(model) {
  for (const chart of charts) chart.destroy();
  charts = [];
  const answered = model.countries.filter((line) => line.status === "answered").length;
  const k = model.privacy.minCellCount;
  const designated = new Map();
  for (const item of model.items) {
    if (item.measure === "records" && item.designation) designated.set(itemLabel(item), (designated.get(itemLabel(item)) ?? 0) + item.total);
  }
  const top = [...designated].sort((a, b) => b[1] - a[1]).slice(0, 12);
  reportHeading.textContent = `Regional report: ${model.filter.region ?? "all regions"}, ${model.period.from} to ${model.period.to}`;
  const parts = [
    el("ul", { class: "facts", "aria-label": "About this report" },
      el("li", {}, `Countries answering: ${answered} of ${model.countries.length}`),
      el("li", {}, `Small-cell threshold k: ${k.lowest === k.highest ? k.lowest : `${k.lowest}–${k.highest}`}`),
      el("li", {}, `Suppressed cells: ${model.privacy.suppressedCells}`),
      el("li", { class: "mono" }, `Query ${model.queryId}`)),
    el("p", { class: "meta" }, model.privacy.epsilon > 0
      ? `Each country added noise (epsilon ${model.privacy.epsilon}) and suppressed small cells before its counts left its node.`
      : "Counts are exact; each country suppressed small cells before its counts left its node. No record left any country."),
    el("h3", {}, "Emerging items"),
    model.emerging.length === 0
      ? el("p", {}, `No item rose significantly from ${model.period.months.at(-2) ?? model.period.from} to ${model.period.to}.`)
      : table(`${model.period.to} against the month before (one-sided binomial test, p < ${model.alpha})`, ["Item", "Region", "Measure", "Previous", "Latest", "Change", "p"],
          model.emerging.map((item) => [itemLabel(item), regionLabel(item.region), item.measure, String(item.trend.previous), String(item.trend.latest), percent(item.trend.change), item.trend.pValue.toPrecision(2)]),
          new Set([3, 4, 5, 6])),
    el("div", { class: "charts" },
      chartFigure("chart-records", "Records per month by region", seriesSummary(model, "records"), "No records released for these filters."),
      chartFigure("chart-hits", "Hits per month by region", seriesSummary(model, "hits"), "No hits released for these filters in this period."),
      top.length > 0 ? chartFigure("chart-designations", "Precursors and device components recorded in the period (top 12)", top.map(([label, total]) => `${label} ${total}`).join(", ")) : null),
    el("h3", {}, "Counts"),
    model.items.length === 0
      ? el("p", {}, "No count was released for these filters (cells below a country's threshold are suppressed).")
      : el("details", { open: model.items.length <= 12 }, el("summary", {}, `Counts per region, item and month (${model.items.length} rows)`), scrollable("Counts per item and month", table("Counts per region, item and month (suppressed cells are not in the sums)",
          ["Item", "Region", "Measure", ...model.period.months, "Total", "Suppressed cells"],
          model.items.map((item) => [itemLabel(item), regionLabel(item.region), item.measure, ...item.counts.map(String), String(item.total), String(item.suppressedCells)]),
          new Set(Array.from({ length: model.period.months.length + 2 }, (_, index) => index + 3))))),
    el("h3", {}, "Countries asked"),
    table("Countries asked", ["Country", "Region", "Answer", "k", "Suppressed cells"],
      model.countries.map((line) => [line.country, line.region, `${line.status}${line.errorCode ? ` (${line.errorCode})` : ""}`, line.status === "answered" ? String(line.minCellCount) : "", String(line.suppressedCells)]),
      new Set([3, 4])),
  ];
  reportBody.replaceChildren(...parts);
  if (window.Chart) {
    for (const measure of ["records", "hits"]) {
      if (document.getElementById(`chart-${measure}`)) charts.push(lineChart(model, `chart-${measure}`, measure));
    }
    if (top.length > 0) charts.push(designationChart(model, "chart-designations", top));
  }
}

const container = document.getElementById("analyst-view");
const views = await initPage("analyst").catch((error) => {
  container.replaceChildren(errorBox(error));
  return undefined;
});
if (views && !views.analyst.available) {
  showUnavailable(container, "The regional report", views.analyst.reason);
} else if (views) {
  const info = views.analyst;
  document.getElementById("analyst-lead").textContent =
    `Reports are asked for as ${info.country} / ${info.agency}. Every country computes its own counts, suppresses small ones and signs them; this console verifies each signature.`;
  const region = document.getElementById("region");
  region.append(...info.regions.map((name) => el("option", { value: name }, name)));
  document.getElementById("from").value = info.from;
  document.getElementById("to").value = info.to;
  document.getElementById("categories").append(...info.categories.map((category) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "categories", value: category }), ` ${CATEGORY_LABELS[category] ?? category}`)));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    filterError.replaceChildren();
    reportButton.disabled = true;
    reportButton.textContent = "Asking every country …";
    report.setAttribute("aria-busy", "true");
    try {
      const model = await api(`/api/analyst/report?${params()}`);
      report.hidden = false;
      renderReport(model);
      reportHeading.focus();
    } catch (error) {
      filterError.replaceChildren(errorBox(error));
    } finally {
      report.removeAttribute("aria-busy");
      reportButton.disabled = false;
      reportButton.textContent = "Show report";
    }
  });
}
