import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, startCli } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

type TravellerLine =
  | { line: number; queryId: string; traceId: string; results: { country: string; status: string; hits: { action: string; reference: string }[]; ms: number }[] }
  | { line: number; rejected: { code: string; message: string } };

describe("watchmesh check --batch", () => {
  it("screens a manifest in one call: one JSON object per line, hits where they are, bad lines reported by number and not sent", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const meshDir = path.join(dir.path, "mesh");
    const up = await startCli(["up", "--dir", meshDir, "--countries", "2", "--persons", "50", "--entities", "20"], /mesh up:/, { timeoutMs: 60_000 });
    cleanups.push(() => up.stop());

    const records = path.join(dir.path, "extra.ndjson");
    await writeFile(records, JSON.stringify({ kind: "person", id: "DEU-X-1", names: ["Jan Kowalski"], dob: "1970-02-03", action: "arrest" }) + "\n");
    expect((await runCli(["node", "import", "--data", path.join(meshDir, "nodes", "DEU"), "--file", records, "--json"])).code).toBe(0);

    // 25 lines: the suspect on line 7, a blank line 12, bad JSON on line 15, a bad field on line 20.
    const lines = Array.from({ length: 25 }, (_, index) => JSON.stringify({ name: `Passenger${index} Unknownson`, dob: "1985-06-07" }));
    lines[6] = JSON.stringify({ name: "KOWALSKI, Jan", dob: "1970-02-03" });
    lines[11] = "";
    lines[14] = "{not json";
    lines[19] = JSON.stringify({ name: "A B", dob: "07/06/1985" });
    const manifest = path.join(dir.path, "manifest.ndjson");
    await writeFile(manifest, lines.join("\n") + "\n");

    const json = await runCli(["check", "--mesh", meshDir, "--batch", manifest, "--json"]);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(3); // lines were rejected
    const parsed = json.stdout.trim().split("\n").map((line) => JSON.parse(line) as TravellerLine);
    expect(parsed.map((entry) => entry.line)).toEqual([...Array.from({ length: 25 }, (_, index) => index + 1)].filter((line) => line !== 12));
    const screened = parsed.flatMap((entry) => ("results" in entry ? [entry] : []));
    expect(screened).toHaveLength(22);
    expect(new Set(screened.map((entry) => entry.traceId)).size).toBe(1);
    expect(screened[0]?.traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const entry of screened) {
      expect(entry.queryId).toMatch(/^[0-9a-f-]{36}$/);
      expect(entry.results.map((result) => result.country)).toEqual(["DEU", "FRA"]);
      const expected = entry.line === 7 ? { DEU: "hit", FRA: "no_hit" } : { DEU: "no_hit", FRA: "no_hit" };
      expect(Object.fromEntries(entry.results.map((result) => [result.country, result.status]))).toEqual(expected);
    }
    expect(screened.find((entry) => entry.line === 7)?.results[0]?.hits[0]?.action).toBe("arrest");
    const rejected = parsed.flatMap((entry) => ("rejected" in entry ? [entry] : []));
    expect(rejected).toEqual([
      { line: 15, rejected: { code: "INVALID_ARGUMENT", message: "query is not valid JSON" } },
      { line: 20, rejected: { code: "INVALID_ARGUMENT", message: expect.stringMatching(/^query field dob/) } },
    ]);

    const human = await runCli(["check", "--mesh", meshDir, "--batch", manifest, "--countries", "DEU"]);
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(/^Batch check: 22 travellers, 1 country {2}trace [0-9a-f]{32}$/m);
    expect(human.stdout).toMatch(/^7\s+DEU\s+HIT\s+arrest\s+\d\.\d\d\s+DEU-R-/m);
    expect(human.stdout).toMatch(/^22 travellers: 1 to act on, 0 refused somewhere/m);
    expect(human.stdout).toMatch(/^ {2}line 15: INVALID_ARGUMENT query is not valid JSON$/m);
    expect(human.stdout).toContain("-> Arrest:");

    const bothInputs = await runCli(["check", "--mesh", meshDir, "--batch", manifest, "--name", "X Y"]);
    expect(bothInputs.code).toBe(1);
    expect(bothInputs.stderr).toMatch(/^watchmesh: --batch replaces --query and the subject flags/);
    expect(await up.stop()).toBe(0);
  }, 120_000);

  it("refuses a manifest of more than 1,000 travellers before contacting anybody", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const manifest = path.join(dir.path, "big.ndjson");
    await writeFile(manifest, Array.from({ length: 1001 }, (_, index) => JSON.stringify({ name: `P${index} Q`, dob: "1990" })).join("\n") + "\n");
    const result = await runCli(["check", "--mesh", path.join(dir.path, "no-mesh"), "--batch", manifest]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^watchmesh: manifest .*big\.ndjson has 1001 queries; a batch holds at most 1000: split the manifest \[PAYLOAD_TOO_LARGE\]/);
  }, 30_000);
});
