/**
 * The web console in a real browser: Debian's chromium, headless, driven by playwright-core, against a
 * console served on a real mesh (nats-server, three country nodes, the coordinator) started here, with
 * spans going to a span file as in the demo. Screenshots go to test-artifacts/.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_INSTRUCTIONS } from "../../client/officer-screen.ts";
import { createLogger } from "../../common/logger.ts";
import { ConsoleServer } from "../../console/index.ts";
import { startTelemetry, type RunningTelemetry } from "../../common/telemetry-sdk.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import {
  ARRESTED_TRAVELLER,
  CONSOLE_TEST_COUNTRIES,
  CONSOLE_TEST_RECORDS,
  DISCREET_TRAVELLER,
  memoryLog,
  REPORT_MONTH,
  REPORT_MONTH_BEFORE,
  PERSONAL_STRINGS,
  startTestConsole,
  UNKNOWN_TRAVELLER,
  type TestConsole,
} from "../helpers/console.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");

let telemetry: RunningTelemetry;
let temp: { path: string; remove: () => Promise<void> };
let spanFile: string;
let mesh: TestMesh;
let testConsole: TestConsole;
const meshLog = memoryLog();
let browser: BrowserContext;
let page: Page;
/** Errors the pages reported (script errors, CSP violations, failed loads). */
const pageErrors: string[] = [];
let hitQueryId = "";

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

// Code run in the page is given as text: this project's TypeScript has no DOM types.

/** The id of the element that has the keyboard focus. */
function focusedId(): Promise<string> {
  return page.evaluate<string>('document.activeElement?.id ?? ""');
}

/**
 * Waits until the element with this id has the keyboard focus. Locator waits poll in Playwright's own
 * world; page.waitForFunction would evaluate its predicate with eval, which the console's CSP forbids.
 */
async function focusMovesTo(id: string): Promise<void> {
  await page.locator(`[id=${JSON.stringify(id)}]:focus`).waitFor({ state: "attached" });
}

/** Submits the officer form with Enter from the focused field and waits for the check's answer and its rendering. */
async function submitCheck(): Promise<void> {
  const answered = page.waitForResponse((response) => response.url().endsWith("/api/officer/check"));
  await page.keyboard.press("Enter");
  await answered;
  await page.locator("#result:not([aria-busy])").waitFor({ state: "attached" });
  await page.locator("#check-button:enabled").waitFor({ state: "attached" });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash scripts/setup.sh does)`);
  await mkdir(ARTIFACTS, { recursive: true });
  temp = await makeTempDir("watchmesh-console-browser-");
  spanFile = path.join(temp.path, "traces.ndjson");
  telemetry = startTelemetry({ serviceName: "watchmesh-console-test", spanFile });
  mesh = await startTestMesh({
    countries: CONSOLE_TEST_COUNTRIES,
    records: CONSOLE_TEST_RECORDS,
    logger: createLogger({ component: "mesh", level: "trace", destination: meshLog.destination }),
  });
  testConsole = await startTestConsole(mesh, { spanFile });
  browser = await chromium.launchPersistentContext(path.join(temp.path, "chromium-profile"), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 900 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(message.text());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await testConsole?.stop();
  await mesh?.stop();
  await telemetry?.shutdown();
  await temp?.remove();
});

describe("web console in a browser", () => {
  it("logs in with the printed URL, keeps the token out of the address bar, and lists the views", async () => {
    await page.goto(testConsole.server.loginUrl);
    await page.getByRole("heading", { level: 1, name: "Watchmesh console" }).waitFor();
    expect(page.url()).toBe(testConsole.server.url);
    await page.getByRole("link", { name: "Border check" }).first().waitFor();
    expect(await page.locator("#cards").getByRole("link").allTextContents()).toEqual(["Border check", "Analysis", "Audit"]);
  });

  it("checks a traveller by keyboard; a discreet check shows the instruction and nothing else", async () => {
    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Border check" }).click();
    await focusMovesTo("name");
    // Tab order through the form: every field in reading order, then the two buttons.
    const order: string[] = [];
    for (let i = 0; i < 9; i += 1) {
      await page.keyboard.press("Tab");
      order.push(await focusedId());
    }
    expect(order).toEqual(["dob", "nationality", "sex", "doc-number", "doc-country", "doc-type", "mrz", "check-button", "reset-button"]);

    await page.getByLabel("Name").focus();
    await page.keyboard.type(DISCREET_TRAVELLER.name);
    await page.keyboard.press("Tab");
    expect(await focusedId()).toBe("dob");
    await page.keyboard.type(DISCREET_TRAVELLER.dob);
    await submitCheck();

    const result = page.getByRole("region", { name: "Result" });
    expect(await focusedId()).toBe("result-heading");
    expect((await result.locator(".instruction").allTextContents())).toEqual([ACTION_INSTRUCTIONS.discreet_check]);
    const text = (await result.textContent()) ?? "";
    for (const hidden of ["DEU", "HIT", "R-", "Score", "0."]) expect(text).not.toContain(hidden);
    expect(await result.getByRole("table").count()).toBe(0);
    await screenshot("officer-discreet");
  });

  it("shows a hit with its country, reference, score and requested action, and no-hits for the rest", async () => {
    await page.getByRole("button", { name: "New traveller" }).click();
    await focusMovesTo("name");
    expect(await page.getByLabel("Name").inputValue()).toBe("");
    expect(await page.getByRole("region", { name: "Result" }).isHidden()).toBe(true);

    await page.getByLabel("Document number").fill(ARRESTED_TRAVELLER.passport);
    await page.getByLabel("Issuing state").fill(ARRESTED_TRAVELLER.passportCountry.toLowerCase());
    await page.getByLabel("Name").fill(ARRESTED_TRAVELLER.name);
    await page.getByLabel("Date of birth").focus();
    await page.keyboard.type(ARRESTED_TRAVELLER.dob);
    await submitCheck();

    const table = page.getByRole("table", { name: "Results per country" });
    const rows = table.locator("tbody tr");
    expect(await rows.count()).toBe(3);
    const cells = async (country: string): Promise<string[]> => table.getByRole("row").filter({ has: page.getByRole("rowheader", { name: country }) }).locator("th, td").allTextContents();
    const esp = await cells("ESP");
    expect(esp.slice(0, 3)).toEqual(["ESP", "HIT", "Arrest"]);
    expect(Number(esp[3])).toBeGreaterThan(0.5);
    expect(esp[4]).toMatch(/^ESP-R-[A-Z0-9]+$/);
    expect(esp[5]).toContain("name");
    expect((await cells("DEU")).slice(0, 3)).toEqual(["DEU", "No hit", ""]);
    expect((await cells("FRA")).slice(0, 3)).toEqual(["FRA", "No hit", ""]);
    expect(await page.locator(".instruction").allTextContents()).toEqual([ACTION_INSTRUCTIONS.arrest]);
    expect(await page.getByRole("list", { name: "Summary" }).textContent()).toContain("1 hit");
    hitQueryId = /Query (\S+)/.exec((await page.locator("#result-body > p.meta").textContent()) ?? "")?.[1] ?? "";
    expect(hitQueryId).toMatch(/^[0-9a-f-]{36}$/);
    await screenshot("officer-hit");
  });

  it("shows an unknown traveller as no hit everywhere", async () => {
    await page.getByRole("button", { name: "New traveller" }).click();
    await focusMovesTo("name");
    await page.keyboard.type(UNKNOWN_TRAVELLER.name);
    await page.keyboard.press("Tab");
    await page.keyboard.type(UNKNOWN_TRAVELLER.dob);
    await submitCheck();
    const statuses = await page.getByRole("table", { name: "Results per country" }).locator("tbody tr td:nth-child(2)").allTextContents();
    expect(statuses).toEqual(["No hit", "No hit", "No hit"]);
    expect(await page.getByRole("list", { name: "Summary" }).textContent()).toContain("3 no hit");
    expect(await page.locator(".instruction").count()).toBe(0);
  });

  it("refuses a mistyped MRZ, naming the check digit and marking the field", async () => {
    await page.getByRole("button", { name: "New traveller" }).click();
    await focusMovesTo("name");
    await page.getByLabel("Machine readable zone (MRZ)").fill("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<11");
    // Enter makes a new line in the MRZ box: Tab to the check button, then Enter.
    await page.keyboard.press("Tab");
    expect(await focusedId()).toBe("check-button");
    await submitCheck();
    const alert = page.getByRole("alert");
    expect(await alert.textContent()).toMatch(/check digit for composite is wrong.*\[INVALID_MRZ\]/);
    expect(await page.getByLabel("Machine readable zone (MRZ)").getAttribute("aria-invalid")).toBe("true");
    expect(await focusedId()).toBe("mrz");
  });

  it("finds the query in the audit logs, draws one bar per country from the trace, and shows every log verified", async () => {
    // Audit entries are group-committed (within 100 ms) and spans appended as they end: wait for both.
    await waitFor(async () => {
      const timeline = await testConsole.auditor.timeline(hitQueryId).catch(() => undefined);
      const fromSpans = timeline?.bars.filter((bar) => bar.kind === "country" && bar.source === "span").length ?? 0;
      return fromSpans === 3 && timeline?.nodes.every((node) => node.entries.length === 1);
    }, { what: "the query's spans and audit entries" });

    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Audit" }).click();
    const verification = page.getByRole("table", { name: "Audit log verification per node" });
    await verification.waitFor();
    const verified = await verification.locator("tbody tr td:nth-child(2)").allTextContents();
    expect(verified).toHaveLength(3);
    for (const status of verified) expect(status).toMatch(/^Verified/);

    await page.getByLabel("Query id").fill(hitQueryId);
    await page.keyboard.press("Enter");
    const found = page.getByRole("table", { name: "Matching queries" });
    await found.waitFor();
    expect(await found.locator("tbody tr").count()).toBe(1);
    expect(await found.locator("tbody tr").textContent()).toContain("FRA / border-police");
    await page.getByRole("button", { name: `Show timeline of query ${hitQueryId}` }).click();

    const timeline = page.getByRole("table", { name: `Timeline of query ${hitQueryId}` });
    await timeline.waitFor();
    const countryRows = timeline.locator('tbody tr[data-kind="country"]');
    expect(await countryRows.locator("th").allTextContents()).toEqual(["DEU", "ESP", "FRA"]);
    expect(await countryRows.locator("td:nth-child(2)").allTextContents()).toEqual(["No hit", "HIT", "No hit"]);
    expect(await countryRows.locator("td:nth-child(5)").allTextContents()).toEqual(["trace", "trace", "trace"]);
    expect(await timeline.locator('tbody tr[data-kind="client"] th').textContent()).toBe("border client");
    expect(await timeline.locator('tbody tr[data-kind="coordinator"] th').textContent()).toBe("coordinator");
    expect(await page.getByRole("table", { name: "Audit log entries" }).textContent()).toMatch(/ESP-R-/);
    expect(await focusedId()).toBe("timeline-heading");
    await screenshot("auditor");
  });

  it("shows the regional report for the chosen region, period and categories, as charts and tables", async () => {
    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Analysis" }).click();
    const region = page.getByLabel("Region", { exact: true });
    // The page lists the regions once the console's info has come back: wait for them, not just the list.
    await region.locator("option", { hasText: "Europe" }).waitFor({ state: "attached" });
    expect(await region.locator("option").allTextContents()).toEqual(["All regions", "Europe"]);
    expect(await page.getByLabel("To month").inputValue()).toBe(REPORT_MONTH);
    await region.selectOption("Europe");
    await page.getByLabel("From month").fill(REPORT_MONTH_BEFORE);
    await page.getByRole("checkbox", { name: "Precursors" }).check();
    const answered = page.waitForResponse((response) => response.url().includes("/api/analyst/report?"));
    await page.getByRole("button", { name: "Show report" }).press("Enter");
    expect((await answered).status()).toBe(200);
    const heading = page.getByRole("heading", { name: `Regional report: Europe, ${REPORT_MONTH_BEFORE} to ${REPORT_MONTH}` });
    await heading.waitFor();
    expect(await focusedId()).toBe("report-heading");
    expect(await page.getByRole("list", { name: "About this report" }).textContent()).toContain("Countries answering: 3 of 3");

    // The charts are drawn by Chart.js, served by the console itself, and described in text.
    expect(await page.evaluate<string>("typeof window.Chart")).toBe("function");
    expect(await page.getByRole("img", { name: "Records per month by region" }).count()).toBe(1);
    expect(await page.evaluate<number>('document.getElementById("chart-records").width')).toBeGreaterThan(100);
    expect(await page.locator("#chart-records-summary").textContent()).toBe(`Europe: ${REPORT_MONTH_BEFORE} 6, ${REPORT_MONTH} 19`);

    expect(await page.getByRole("table", { name: /Counts per region, item and month/ }).count()).toBe(1);
    const rows = await page.evaluate<string[][]>(
      '[...document.querySelectorAll(".table-scroll tbody tr")].map((row) => [...row.cells].map((cell) => cell.textContent))',
    );
    expect(rows).toEqual([
      ["precursor: ammonium nitrate", "Europe", "records", "6", "14", "20", "0"],
      ["precursor: hydrogen peroxide", "Europe", "records", "0", "5", "5", "0"],
    ]);
    const countries = await page.getByRole("table", { name: "Countries asked" }).locator("tbody tr td:nth-child(3)").allTextContents();
    expect(countries).toEqual(["answered", "answered", "answered"]);
    await screenshot("analyst");

    // A period the other way round is refused with the field named.
    await page.getByLabel("From month").fill(REPORT_MONTH);
    await page.getByLabel("To month").fill(REPORT_MONTH_BEFORE);
    await page.getByRole("button", { name: "Show report" }).click();
    expect(await page.getByRole("alert").textContent()).toMatch(/from is after to.*\[INVALID_ARGUMENT\]/);
  });

  it("shows a view the console has no key or data for as unavailable, not broken", async () => {
    const bare = await ConsoleServer.start({});
    try {
      const other = await browser.newPage();
      await other.goto(bare.loginUrl);
      await other.getByRole("heading", { level: 1, name: "Watchmesh console" }).waitFor();
      await other.getByRole("link", { name: "Border check (unavailable)" }).click();
      await other.getByRole("heading", { name: "The border check is unavailable" }).waitFor();
      expect(await other.getByRole("main").textContent()).toContain("started without a border system key");
      expect(await other.getByRole("textbox").count()).toBe(0);
      await other.close();
    } finally {
      await bare.stop();
    }
  });

  it("logs out: the session is gone", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.goto(new URL("/officer.html", testConsole.server.url).href);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    expect(page.url()).toBe(new URL("/login.html", testConsole.server.url).href);
  });

  it("kept every traveller's data out of logs and spans, and the pages reported no error", async () => {
    const logs = testConsole.logText() + meshLog.text();
    expect(testConsole.logText()).toContain('"route":"POST /api/officer/check"');
    for (const personal of PERSONAL_STRINGS) expect(logs).not.toContain(personal);
    expect(logs).not.toContain(testConsole.server.auth.token);
    await telemetry.shutdown();
    const spans = await readFile(spanFile, "utf8");
    expect(spans).toContain(hitQueryId);
    for (const personal of PERSONAL_STRINGS) expect(spans).not.toContain(personal);
    // The browser reports the answers these tests provoke (400 for the bad MRZ, 401 after logging out) as
    // console errors; any other error (a script error, a CSP violation, a missing file) is a broken page.
    const provoked = /^Failed to load resource: the server responded with a status of 40[01] /;
    expect(pageErrors.filter((text) => !provoked.test(text))).toEqual([]);
    expect(pageErrors.filter((text) => provoked.test(text)).length).toBeGreaterThan(0);
  });
});
