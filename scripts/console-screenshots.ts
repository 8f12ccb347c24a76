/**
 * Takes the README's screenshots of the web console (one per view) from a running console, e.g. the
 * demo's (`npm start -- --keep` prints its URL):
 *
 *   node bin/run-ts.js scripts/console-screenshots.ts --url 'http://127.0.0.1:PORT/?token=…' \
 *     --name "Fernando García López" --dob 2003-03-11 [--out docs/screenshots]
 *
 * The officer view checks the given traveller (pick one on a sample list whose owner asks for more than a
 * discreet check), the audit view opens that query's timeline, the analysis view shows the default report.
 * Debian's chromium, headless, through playwright-core, as the browser tests run it. The committed PNGs
 * were then made smaller with `pngquant --quality 70-95 --ext .png --force docs/screenshots/*.png`.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    name: { type: "string" },
    dob: { type: "string" },
    out: { type: "string", default: "docs/screenshots" },
  },
});
if (!values.url || !values.name) {
  process.stderr.write("usage: console-screenshots.ts --url <console login URL> --name <traveller> [--dob <date>] [--out <dir>]\n");
  process.exit(2);
}
const out = values.out ?? "docs/screenshots";
await mkdir(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await page.goto(values.url);
  await page.getByRole("heading", { level: 1, name: "Watchmesh console" }).waitFor();

  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Border check" }).click();
  await page.getByLabel("Name").fill(values.name);
  if (values.dob) await page.getByLabel("Date of birth").fill(values.dob);
  await page.getByRole("button", { name: "Check traveller" }).click();
  await page.getByRole("table", { name: "Results per country" }).waitFor();
  await page.locator("#check-button").focus();
  const queryId = /Query (\S+)/.exec((await page.locator("#result-body > p.meta").textContent()) ?? "")?.[1] ?? "";
  await page.screenshot({ path: path.join(out, "console-officer.png"), fullPage: true });

  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Audit" }).click();
  await page.getByRole("table", { name: "Audit log verification per node" }).waitFor();
  await page.getByLabel("Query id").fill(queryId);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("button", { name: `Show timeline of query ${queryId}` }).click();
  await page.getByRole("table", { name: `Timeline of query ${queryId}` }).waitFor();
  await page.screenshot({ path: path.join(out, "console-auditor.png"), fullPage: true });

  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Analysis" }).click();
  await page.getByRole("button", { name: "Show report" }).click();
  await page.getByRole("heading", { name: /^Regional report/ }).waitFor({ timeout: 30_000 });
  // The report's top (filters, emerging items, charts); its tables go on below.
  await page.setViewportSize({ width: 1100, height: 1250 });
  await page.locator("#check-button, #report-button").first().focus();
  await page.screenshot({ path: path.join(out, "console-analyst.png") });
  process.stdout.write(`screenshots of query ${queryId} written to ${out}\n`);
} finally {
  await browser.close();
}
