import { ACTION_LABELS, api, el, errorBox, initPage, showUnavailable, STATUS_LABELS, statusBadge } from "/console.js";

const form = document.getElementById("check-form");
const result = document.getElementById("result");
const resultBody = document.getElementById("result-body");
const resultHeading = document.getElementById("result-heading");
const formError = document.getElementById("form-error");
const checkButton = document.getElementById("check-button");
const fields = ["name", "dob", "nationality", "sex", "doc-number", "doc-country", "doc-type", "mrz"];
const value = (id) => document.getElementById(id).value.trim();

/** Query fields named in the server's messages, mapped to the inputs to mark. */
const FIELD_INPUTS = { name: "name", names: "name", dob: "dob", nationality: "nationality", sex: "sex", "document.number": "doc-number", "document.country": "doc-country", "document.type": "doc-type", mrz: "mrz" };

/** The traveller as the documented JSON query format; empty fields are left out. */
function travellerQuery() {
  const query = {};
  if (value("name")) query.name = value("name");
  if (value("dob")) query.dob = value("dob");
  if (value("nationality")) query.nationality = value("nationality").toUpperCase();
  if (value("sex")) query.sex = value("sex");
  if (value("doc-number")) {
    query.document = { number: value("doc-number"), type: value("doc-type") };
    if (value("doc-country")) query.document.country = value("doc-country").toUpperCase();
  } else if (value("doc-country")) {
    query.document = { number: "", country: value("doc-country").toUpperCase() };
  }
  if (value("mrz")) query.mrz = value("mrz");
  return query;
}

function clearInvalid() {
  for (const id of fields) {
    const input = document.getElementById(id);
    input.removeAttribute("aria-invalid");
    const describedBy = (input.getAttribute("aria-describedby") ?? "").split(" ").filter((token) => token && token !== "form-error");
    if (describedBy.length > 0) input.setAttribute("aria-describedby", describedBy.join(" "));
    else input.removeAttribute("aria-describedby");
  }
  formError.replaceChildren();
}

function markInvalid(error) {
  const field = /query field ([\w.]+)/.exec(error.message)?.[1];
  const id = error.code === "INVALID_MRZ" ? "mrz" : FIELD_INPUTS[field ?? ""] ?? FIELD_INPUTS[field?.split(".")[0] ?? ""];
  formError.replaceChildren(errorBox(error));
  if (!id) return false;
  const input = document.getElementById(id);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), "form-error"].filter(Boolean).join(" "));
  input.focus();
  return true;
}

function instruction(text, action) {
  return el("p", { class: `instruction action-${action ?? "info"}`, role: "status" }, text);
}

function actionOf(text) {
  return Object.keys(ACTION_LABELS).find((action) => text.toLowerCase().startsWith(ACTION_LABELS[action].toLowerCase()));
}

function renderMrz(mrz) {
  const rows = [
    ["Document", `${mrz.format} ${mrz.documentCode}, ${mrz.issuingState} ${mrz.documentNumber}`],
    ["Name", `${mrz.surname}${mrz.givenNames ? `, ${mrz.givenNames}` : ""}`],
    ["Born", mrz.dateOfBirth || "unknown"],
    ["Nationality", mrz.nationality],
    ["Sex", mrz.sex || "unknown"],
    ["Expires", mrz.dateOfExpiry || "unknown"],
  ];
  return el("details", {}, el("summary", {}, "Read from the MRZ (check digits verified)"),
    el("dl", {}, rows.flatMap(([term, text]) => [el("dt", {}, term), el("dd", {}, text)])));
}

function renderScreen({ screen, mrz }) {
  const parts = [];
  if (screen.discreet) {
    // What the owner asked for: nothing on screen but what to do (a traveller may see the screen).
    parts.push(...screen.instructions.map((text) => instruction(text, actionOf(text))));
  } else {
    const counts = screen.counts;
    parts.push(el("ul", { class: "summary", "aria-label": "Summary" },
      Object.keys(STATUS_LABELS).map((status) => el("li", {}, statusBadge(counts[status] > 0 ? status : "zero", `${counts[status]} ${STATUS_LABELS[status].toLowerCase()}`)))));
    parts.push(...screen.instructions.map((text) => instruction(text, actionOf(text))));
    const rows = [];
    for (const country of screen.countries) {
      const label = STATUS_LABELS[country.status] + (country.errorCode ? ` (${country.errorCode})` : "");
      const hits = country.hits.length > 0 ? country.hits : [undefined];
      for (const hit of hits) {
        rows.push(el("tr", {},
          el("th", { scope: "row" }, country.country),
          el("td", {}, statusBadge(country.status, label)),
          el("td", {}, hit ? ACTION_LABELS[hit.action] ?? hit.action : ""),
          el("td", { class: "num" }, hit ? hit.score.toFixed(2) : ""),
          el("td", { class: "mono" }, hit ? hit.reference : ""),
          el("td", {}, hit ? hit.matchedFeatures.join(", ") : ""),
          el("td", { class: "num" }, String(country.ms))));
      }
    }
    parts.push(el("table", {},
      el("caption", {}, "Results per country"),
      el("thead", {}, el("tr", {}, ["Country", "Result", "Requested action", "Score", "Reference", "Matched", "ms"].map((title) =>
        el("th", { scope: "col", class: title === "Score" || title === "ms" ? "num" : undefined }, title)))),
      el("tbody", {}, rows)));
  }
  parts.push(el("p", { class: "meta" }, `Query ${screen.queryId}`));
  if (mrz) parts.push(renderMrz(mrz));
  return parts;
}

const views = await initPage("officer").catch((error) => {
  document.getElementById("officer-view").replaceChildren(errorBox(error));
  return undefined;
});
if (views && !views.officer.available) {
  showUnavailable(document.getElementById("officer-view"), "The border check", views.officer.reason);
} else if (views) {
  const info = views.officer;
  document.getElementById("officer-lead").textContent =
    `Checks are signed as ${info.country} / ${info.agency}${info.location ? ` at ${info.location}` : ""}; every country's answer is verified by this console.`;
  document.getElementById("name").focus();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid();
    checkButton.disabled = true;
    checkButton.textContent = "Checking…";
    result.hidden = false;
    result.setAttribute("aria-busy", "true");
    resultBody.replaceChildren(el("p", {}, "Asking every country …"));
    try {
      const answer = await api("/api/officer/check", { method: "POST", body: travellerQuery() });
      resultBody.replaceChildren(...renderScreen(answer));
      resultHeading.focus();
    } catch (error) {
      result.hidden = true;
      resultBody.replaceChildren();
      markInvalid(error);
    } finally {
      result.removeAttribute("aria-busy");
      checkButton.disabled = false;
      checkButton.textContent = "Check traveller";
    }
  });

  // In the MRZ box Enter starts a new line; Ctrl+Enter checks, as Enter does in the other fields.
  document.getElementById("mrz").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("reset", () => {
    clearInvalid();
    result.hidden = true;
    resultBody.replaceChildren();
    document.getElementById("name").focus();
  });
}
