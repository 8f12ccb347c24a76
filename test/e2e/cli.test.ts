import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startNatsServer } from "../../common/nats-server.ts";
import { runCli, startCli } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe("watchmesh demo", () => {
  it("runs a mesh, prints at least one hit and one no-hit per country, and exits 0", async () => {
    const result = await runCli(["demo", "--countries", "3", "--persons", "300", "--entities", "100", "--no-progress"], { timeoutMs: 90_000 });
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack traces
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^(FRA|DEU|ESP)\s+HIT\s+/m);
    expect(result.stdout).toMatch(/^(FRA|DEU|ESP)\s+no hit/m);
    expect(result.stdout).toMatch(/watchmesh\.coordinator\.check/);
    expect(result.stdout).toMatch(/watchmesh\.node\.match \[DEU hit\]/);
  }, 120_000);
});

describe("watchmesh demo with NATS_URL", () => {
  it("uses the given NATS server instead of starting one", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const result = await runCli(["demo", "--countries", "2", "--persons", "100", "--entities", "20", "--no-progress"], {
      env: { NATS_URL: nats.url },
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`NATS at ${nats.url};`);
  }, 90_000);
});

describe("watchmesh up + check --json", () => {
  it("answers checks from another process with the documented JSON shape", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const meshDir = path.join(dir.path, "mesh");
    const up = await startCli(["up", "--dir", meshDir, "--countries", "2", "--persons", "50", "--entities", "20"], /mesh up:/, { timeoutMs: 60_000 });
    cleanups.push(() => up.stop());

    const records = path.join(dir.path, "extra.ndjson");
    await writeFile(records, JSON.stringify({ kind: "person", id: "DEU-X-1", names: ["Jan Kowalski"], dob: "1970-02-03", action: "specific_check" }) + "\n");
    type CheckJson = { queryId: string; traceId: string; results: { country: string; status: string; hits: { action: string; reference: string }[]; ms: number }[] };
    const before = await runCli(["check", "--mesh", meshDir, "--name", "Kowalski Jan", "--dob", "1970-02-03", "--json"]);
    expect(before.code).toBe(0);
    const parsedBefore = JSON.parse(before.stdout) as CheckJson;
    expect(parsedBefore.queryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsedBefore.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(parsedBefore.results.map((result) => result.country)).toEqual(["DEU", "FRA"]);
    for (const result of parsedBefore.results) {
      expect(result.status).toBe("no_hit");
      expect(result.hits).toEqual([]);
      expect(typeof result.ms).toBe("number");
    }

    // Import into the running node's store from another process (LMDB is multi-process safe).
    const imported = await runCli(["node", "import", "--data", path.join(meshDir, "nodes", "DEU"), "--file", records, "--json"]);
    expect(imported.code).toBe(0);
    const after = JSON.parse((await runCli(["check", "--mesh", meshDir, "--name", "Kowalski Jan", "--dob", "1970-02-03", "--json"])).stdout) as CheckJson;
    const deu = after.results.find((result) => result.country === "DEU");
    expect(deu?.status).toBe("hit");
    expect(deu?.hits[0]?.action).toBe("specific_check");
    expect(after.results.find((result) => result.country === "FRA")?.status).toBe("no_hit");

    // The same traveller as a JSON query file, with the name in Polish diacritics-free form and surname first.
    const queryFile = path.join(dir.path, "query.json");
    await writeFile(queryFile, JSON.stringify({ name: "KOWALSKI, Jan", dob: "1970-02-03" }));
    const byFile = JSON.parse((await runCli(["check", "--mesh", meshDir, "--query", queryFile, "--json"])).stdout) as CheckJson;
    expect(byFile.results.find((result) => result.country === "DEU")?.status).toBe("hit");
    const badQuery = path.join(dir.path, "bad.json");
    await writeFile(badQuery, JSON.stringify({ dob: "1970" }));
    const refused = await runCli(["check", "--mesh", meshDir, "--query", badQuery]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/nothing to search for/);
    expect(await up.stop()).toBe(0);
  }, 120_000);
});

describe("watchmesh node import", () => {
  it("imports, reports bad lines with line numbers, and is idempotent", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const file = path.join(dir.path, "records.ndjson");
    await writeFile(
      file,
      [
        JSON.stringify({ kind: "person", id: "FRA-1", names: ["Jean Dupont"], dob: "1980-05-01" }),
        "{not json",
        JSON.stringify({ kind: "person", id: "FRA-2", names: ["Marie Curie"], dob: "1867-13-07" }),
        JSON.stringify({ kind: "entity", id: "FRA-E-1", type: "phone", value: "+33 6 12 34 56 78" }),
      ].join("\n") + "\n",
    );
    const data = path.join(dir.path, "data");
    const first = await runCli(["node", "import", "--data", data, "--file", file, "--json"]);
    expect(first.code).toBe(3);
    const report = JSON.parse(first.stdout) as { inserted: number; unchanged: number; rejected: { line: number }[] };
    expect(report.inserted).toBe(2);
    expect(report.rejected.map((rejected) => rejected.line)).toEqual([2, 3]);
    const second = JSON.parse((await runCli(["node", "import", "--data", data, "--file", file, "--json"])).stdout) as typeof report;
    expect(second.inserted).toBe(0);
    expect(second.unchanged).toBe(2);
  }, 60_000);
});

describe("user errors", () => {
  it("print one clear line and exit non-zero, without a stack trace", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const missingFile = await runCli(["node", "import", "--data", path.join(dir.path, "d"), "--file", path.join(dir.path, "nope.ndjson")]);
    expect(missingFile.code).not.toBe(0);
    expect(missingFile.stderr.trim().split("\n")).toHaveLength(1);
    expect(missingFile.stderr).toMatch(/^watchmesh: .*nope\.ndjson/);

    const badFlag = await runCli(["check", "--dob", "yesterday", "--name", "x"]);
    expect(badFlag.code).not.toBe(0);
    expect(badFlag.stderr).toMatch(/--dob must be/);
    expect(badFlag.stderr).not.toMatch(/\n\s+at /);

    const unknownOption = await runCli(["check", "--frobnicate"]);
    expect(unknownOption.code).not.toBe(0);
    expect(unknownOption.stderr).toMatch(/unknown option/);

    await runCli(["mesh", "init", "--dir", path.join(dir.path, "m"), "--countries", "DEU"]);
    const unreachable = await runCli(["check", "--mesh", path.join(dir.path, "m"), "--coordinator", "127.0.0.1:1", "--key", path.join(dir.path, "m", "keys", "FRA-border.key"), "--name", "A B", "--dob", "1990"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^watchmesh: coordinator at 127\.0\.0\.1:1 is unreachable \[UNAVAILABLE\]/);

    const noNats = await runCli(["demo", "--countries", "1", "--persons", "5", "--entities", "1"], { env: { PATH: "/nonexistent" } });
    expect(noNats.code).toBe(1);
    expect(noNats.stderr).toMatch(/nats-server is not installed/);
  }, 60_000);
});

describe("watchmesh eval and eval-names", () => {
  it("print the documented figures as JSON", async () => {
    const evaluation = await runCli(["eval", "--records", "eval/hard-cases.records.ndjson", "--probes", "eval/hard-cases.probes.ndjson", "--json"]);
    expect(evaluation.code).toBe(0);
    const report = JSON.parse(evaluation.stdout) as { probes: number; precision: number; recall: number; f1: number };
    expect(report.probes).toBeGreaterThan(30);
    expect(report.precision).toBe(1);
    expect(report.recall).toBeGreaterThan(0.7);

    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const pairs = path.join(dir.path, "pairs.tsv");
    await writeFile(pairs, ["ivanov\tи в а н о в\t3", "petrov\tп е т р о в\t2", "smirnov\tс м и р н о в\t1", "pavlov\tп а в л о в\t1"].join("\n") + "\n");
    const names = await runCli(["eval-names", "--pairs", pairs, "--json"]);
    expect(names.code).toBe(0);
    const nameReport = JSON.parse(names.stdout) as { pairs: number; recall: number; falseAcceptRate: number };
    expect(nameReport.pairs).toBe(4);
    expect(nameReport.recall).toBe(1);
    expect(nameReport.falseAcceptRate).toBe(0);

    // A name with a typing error in one token is found only by the typo pass, which --no-typo-pass turns off.
    const records = path.join(dir.path, "records.ndjson");
    const probes = path.join(dir.path, "probes.ndjson");
    await writeFile(records, JSON.stringify({ kind: "person", id: "DEU-P-1", names: ["Hans Müller"], dob: "1975-03-14" }) + "\n");
    await writeFile(probes, JSON.stringify({ variation: "typo", query: { name: "Hans Mülker", dob: "1975-03-14" }, expect: "DEU-P-1" }) + "\n");
    const recallOf = async (extra: string[]) => {
      const run = await runCli(["eval", "--records", records, "--probes", probes, "--json", ...extra]);
      expect(run.code).toBe(0);
      return (JSON.parse(run.stdout) as { recall: number }).recall;
    };
    expect(await recallOf([])).toBe(1);
    expect(await recallOf(["--no-typo-pass"])).toBe(0);

    const missing = await runCli(["eval-names", "--pairs", path.join(dir.path, "nope.tsv")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^watchmesh: .*nope\.tsv/);
  }, 60_000);
});
