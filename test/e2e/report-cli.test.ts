import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ReportModel } from "../../client/report/report-model.ts";
import { runCli, startCli } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("watchmesh report (separate processes, real mesh)", () => {
  it("writes a self-contained HTML report and prints the report model from every country's signed counts", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const meshDir = path.join(dir.path, "mesh");
    const up = await startCli(["up", "--dir", meshDir, "--countries", "3", "--persons", "400", "--entities", "400"], /mesh up:/, { timeoutMs: 60_000 });
    cleanups.push(() => up.stop());
    const out = path.join(dir.path, "report.html");

    const run = await runCli(["report", "--mesh", meshDir, "--out", out, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const model = JSON.parse(run.stdout) as ReportModel;
    expect(model.format).toBe("watchmesh-report/v1");
    expect(model.countries.map((line) => `${line.country}:${line.status}`)).toEqual(["DEU:answered", "ESP:answered", "FRA:answered"]);
    expect(model.period.months).toHaveLength(12);
    // The sample persons fall in the 12 complete months before this one: 400 per country.
    const persons = model.items.filter((item) => item.region === "Europe" && item.measure === "records" && item.category === "person");
    expect(persons).toHaveLength(1);
    const suppressedPersons = persons[0]?.suppressedByMonth.reduce((sum, count) => sum + count, 0) ?? 0;
    expect(persons[0]?.total).toBeGreaterThan(1200 - suppressedPersons * 4 - 1);
    expect(persons[0]?.total).toBeLessThanOrEqual(1200);
    const html = await readFile(out, "utf8");
    expect(html).toContain("<canvas id=\"chart-records\"");
    expect(html).toContain("Chart.js v4");

    const summary = await runCli(["report", "--mesh", meshDir, "--region", "europe", "--out", out]);
    expect(summary.code, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(/Regional report Europe, \d{4}-\d{2} to \d{4}-\d{2}: 3 of 3 countries answered/);

    const badRegion = await runCli(["report", "--mesh", meshDir, "--region", "Atlantis", "--json"]);
    expect(badRegion.code).not.toBe(0);
    expect(badRegion.stderr).toContain("INVALID_ARGUMENT");
    const badPeriod = await runCli(["report", "--mesh", meshDir, "--from", "2026-05", "--to", "2026-01", "--json"]);
    expect(badPeriod.stderr).toContain("the period ends before it starts");
    const noOutput = await runCli(["report", "--mesh", meshDir]);
    expect(noOutput.stderr).toContain("--out");
    expect(await up.stop()).toBe(0);
  }, 120_000);
});
