import { api, el, errorBox, formatMs, initPage, showUnavailable, STATUS_LABELS, statusBadge } from "/console.js";

const verificationBody = document.getElementById("verification-body");
const searchForm = document.getElementById("search-form");
const searchResults = document.getElementById("search-results");
const timeline = document.getElementById("timeline");
const timelineBody = document.getElementById("timeline-body");
const timelineHeading = document.getElementById("timeline-heading");

function verificationStatus(node) {
  if (node.error) return statusBadge("problem", "Unreadable");
  if (!node.ok) return statusBadge("problem", "NOT verified");
  if (node.warning) return statusBadge("warning", "Verified, unsealed tail");
  return statusBadge("ok", "Verified");
}

function verificationDetail(node) {
  if (node.error) return `${node.error.message} [${node.error.code}]`;
  if (node.firstProblem) return `First problem at entry ${node.firstProblem.seq} (${node.firstProblem.kind}): ${node.firstProblem.message}`;
  const parts = [];
  if (node.checkpointSeq !== undefined) parts.push(`after purge checkpoint ${node.checkpointSeq}`);
  if (node.warning) parts.push(`warning: ${node.warning.message}`);
  return parts.join("; ");
}

async function verify() {
  verificationBody.setAttribute("aria-busy", "true");
  try {
    const { nodes } = await api("/api/auditor/verification");
    verificationBody.replaceChildren(nodes.length === 0 ? el("p", {}, "No node audit logs were given to this console.") : el("table", {},
      el("caption", { class: "visually-hidden" }, "Audit log verification per node"),
      el("thead", {}, el("tr", {}, ["Node", "Status", "Entries", "Seals", "Details"].map((title) =>
        el("th", { scope: "col", class: title === "Entries" || title === "Seals" ? "num" : undefined }, title)))),
      el("tbody", {}, nodes.map((node) => el("tr", {},
        el("th", { scope: "row" }, node.country ?? node.dir),
        el("td", {}, verificationStatus(node)),
        el("td", { class: "num" }, String(node.entries)),
        el("td", { class: "num" }, String(node.seals)),
        el("td", {}, verificationDetail(node)))))));
  } catch (error) {
    verificationBody.replaceChildren(errorBox(error));
  } finally {
    verificationBody.removeAttribute("aria-busy");
  }
}

/** "PURPOSE_BORDER_CHECK" → "border check". */
function purposeLabel(purpose) {
  return (purpose ?? "").replace(/^PURPOSE_/, "").replaceAll("_", " ").toLowerCase();
}

function searchParams() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(searchForm)) {
    const text = String(value).trim();
    if (text) params.set(name, text);
  }
  return params;
}

function renderQueries({ queries, truncated }) {
  if (queries.length === 0) return [el("p", { role: "status" }, "No query matches.")];
  return [
    el("p", { class: "meta", role: "status" }, `${queries.length} quer${queries.length === 1 ? "y" : "ies"}${truncated ? " (the most recent; narrow the search for more)" : ""}`),
    el("table", {},
      el("caption", { class: "visually-hidden" }, "Matching queries"),
      el("thead", {}, el("tr", {}, ["Time (UTC)", "Query id", "Requester", "Purpose", "Results", ""].map((title) => el("th", { scope: "col" }, title)))),
      el("tbody", {}, queries.map((query) => el("tr", {},
        el("td", {}, query.time.replace("T", " ").replace("Z", "")),
        el("td", { class: "mono" }, query.queryId || "(unreadable query)"),
        el("td", {}, query.requesterCountry ? `${query.requesterCountry} / ${query.requesterAgency}` : "unknown"),
        el("td", {}, purposeLabel(query.purpose)),
        el("td", {}, el("ul", { class: "chips" }, query.countries.map((country) => el("li", {}, `${country.country} `, statusBadge(country.status, STATUS_LABELS[country.status]))))),
        el("td", {}, query.queryId ? el("button", { type: "button", class: "small", "aria-label": `Show timeline of query ${query.queryId}`, onclick: () => showTimeline(query.queryId) }, "Timeline") : ""))))),
  ];
}

function barRow(bar, totalMs) {
  const scale = totalMs > 0 ? 100 / totalMs : 0;
  const track = el("div", { class: "bar-track", "aria-hidden": "true" });
  const fill = el("div", { class: `bar kind-${bar.kind} status-${bar.status} source-${bar.source}` });
  // CSSOM, which the console's style policy allows (no inline style attributes).
  fill.style.left = `${Math.min(100, bar.offsetMs * scale)}%`;
  if (bar.source === "span") fill.style.width = `${Math.max(0.4, bar.durationMs * scale)}%`;
  track.append(fill);
  const when = bar.source === "span" ? `+${formatMs(bar.offsetMs)}` : `answered at +${formatMs(bar.offsetMs)}`;
  return el("tr", { "data-kind": bar.kind },
    el("th", { scope: "row" }, bar.label),
    el("td", {}, bar.kind === "country" ? statusBadge(bar.status, STATUS_LABELS[bar.status] ?? bar.status) : bar.status),
    el("td", { class: "num" }, when),
    el("td", { class: "num" }, bar.source === "span" ? formatMs(bar.durationMs) : "—"),
    el("td", {}, bar.source === "span" ? "trace" : "audit log"),
    el("td", { class: "bar-cell" }, track));
}

function renderTimeline(data) {
  const parts = [
    el("p", { class: "meta" }, data.traceId ? `Trace ${data.traceId}, from ${data.startTime}` : `No span of this query in the span file; bars from the audit logs, from ${data.startTime}`),
    el("table", { class: "timeline" },
      el("caption", { class: "visually-hidden" }, `Timeline of query ${data.queryId}`),
      el("thead", {}, el("tr", {}, ["Part", "Status", "Start", "Duration", "Source", "Timeline"].map((title) => el("th", { scope: "col" }, title)))),
      el("tbody", {}, data.bars.map((bar) => barRow(bar, data.totalMs)))),
  ];
  const entries = data.nodes.flatMap((node) => node.entries.map((entry) => ({ node: node.country ?? node.dir, entry })));
  if (entries.length > 0) {
    parts.push(el("table", {},
      el("caption", {}, "Audit log entries"),
      el("thead", {}, el("tr", {}, ["Node", "Seq", "Time (UTC)", "Status", "Requester", "Purpose", "Hit references"].map((title) => el("th", { scope: "col" }, title)))),
      el("tbody", {}, entries.map(({ node, entry }) => el("tr", {},
        el("th", { scope: "row" }, node),
        el("td", { class: "num" }, String(entry.seq)),
        el("td", {}, entry.time.replace("T", " ").replace("Z", "")),
        el("td", {}, statusBadge(entry.status, STATUS_LABELS[entry.status] + (entry.errorCode ? ` (${entry.errorCode})` : ""))),
        el("td", {}, entry.requesterCountry ? `${entry.requesterCountry} / ${entry.requesterAgency}` : "unknown"),
        el("td", {}, purposeLabel(entry.purpose)),
        el("td", { class: "mono" }, entry.hitReferences.join(", ")))))));
  }
  return parts;
}

async function showTimeline(queryId) {
  timeline.hidden = false;
  timelineHeading.textContent = `Timeline of query ${queryId}`;
  timelineBody.replaceChildren(el("p", {}, "Loading …"));
  try {
    timelineBody.replaceChildren(...renderTimeline(await api(`/api/auditor/queries/${encodeURIComponent(queryId)}`)));
  } catch (error) {
    timelineBody.replaceChildren(errorBox(error));
  }
  timelineHeading.focus();
}

const views = await initPage("auditor").catch((error) => {
  document.getElementById("auditor-view").replaceChildren(errorBox(error));
  return undefined;
});
if (views && !views.auditor.available) {
  showUnavailable(document.getElementById("auditor-view"), "The audit view", views.auditor.reason);
} else if (views) {
  const info = views.auditor;
  document.getElementById("auditor-lead").textContent =
    `Audit logs of ${info.nodes.length} node${info.nodes.length === 1 ? "" : "s"} (${info.nodes.map((node) => node.country ?? node.dir).join(", ")})` +
    (info.traces ? ", with the mesh's span file for timelines." : "; no span file, so timelines show when each node answered.");
  document.getElementById("verify-button").addEventListener("click", () => void verify());
  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    searchResults.setAttribute("aria-busy", "true");
    try {
      searchResults.replaceChildren(...renderQueries(await api(`/api/auditor/queries?${searchParams()}`)));
    } catch (error) {
      searchResults.replaceChildren(errorBox(error));
    } finally {
      searchResults.removeAttribute("aria-busy");
    }
  });
  await verify();
}
