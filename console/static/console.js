// Shared by the console's pages: API calls, the header, small DOM helpers. No framework, no inline scripts.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the console's JSON API. Traveller data only ever goes in a POST body. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    signal,
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401 && path !== "/api/login") {
    window.location.assign("/login.html");
    throw new ApiError(401, "UNAUTHENTICATED", "log in first");
  }
  if (!response.ok) {
    throw new ApiError(response.status, data?.error?.code ?? "INTERNAL", data?.error?.message ?? `the console answered HTTP ${response.status}`);
  }
  return data;
}

/** Creates an element; strings and nodes become children (as text, never as HTML). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function errorBox(error) {
  const code = error instanceof ApiError ? error.code : "INTERNAL";
  const message = error instanceof Error ? error.message : String(error);
  return el("div", { class: "error", role: "alert" }, message, " ", el("span", { class: "meta" }, `[${code}]`));
}

export const STATUS_LABELS = { hit: "HIT", no_hit: "No hit", refused: "Refused", unavailable: "Unavailable", error: "Error", aggregate: "Counts released" };
export const ACTION_LABELS = { discreet_check: "Discreet check", specific_check: "Specific check", arrest: "Arrest", inform_owner: "Inform owner" };

export function statusBadge(status, text = STATUS_LABELS[status] ?? status) {
  return el("span", { class: `status status-${status}` }, text);
}

/**
 * Marks the current view in the header, labels views this console cannot offer, wires "Log out", and
 * returns the session's view information (the page is redirected to the login page without a session).
 */
export async function initPage(current) {
  const session = await api("/api/session");
  const views = session.views;
  for (const link of document.querySelectorAll("nav a[data-view]")) {
    const view = link.dataset.view;
    if (view === current) link.setAttribute("aria-current", "page");
    if (views[view] && !views[view].available) {
      link.classList.add("unavailable");
      link.append(el("span", { class: "visually-hidden" }, " (unavailable)"));
      link.title = "Unavailable on this console";
    }
  }
  const who = document.getElementById("who");
  if (who && views.officer?.available) who.textContent = `${views.officer.country} / ${views.officer.agency}`;
  document.getElementById("logout")?.addEventListener("click", async () => {
    await api("/api/logout", { method: "POST", body: {} });
    window.location.assign("/login.html");
  });
  return views;
}

/** Replaces a view's form with the reason it is unavailable. */
export function showUnavailable(container, title, reason) {
  container.replaceChildren(
    el("section", { class: "panel unavailable-view", "aria-labelledby": "unavailable-heading" },
      el("h2", { id: "unavailable-heading" }, `${title} is unavailable`),
      el("p", {}, `This console cannot offer it: ${reason}.`)),
  );
}

export function formatMs(ms) {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}
