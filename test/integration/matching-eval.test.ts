import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createMatcher } from "../../node/matcher.ts";
import { evaluateMatcher } from "../../node/matching/evaluate.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe("matching accuracy on the evaluation sets (real store, real engine)", () => {
  it("meets recall ≥ 0.97 and precision ≥ 0.99 on the generated set of ≥ 2,000 probes", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    await run(process.execPath, [path.join(REPO_ROOT, "bin/run-ts.js"), path.join(REPO_ROOT, "scripts/build-eval-set.ts"), dir.path], { cwd: REPO_ROOT });
    const report = await evaluateMatcher({
      recordsPath: path.join(dir.path, "records.ndjson"),
      probesPath: path.join(dir.path, "probes.ndjson"),
      createMatcher: (store) => createMatcher(store),
    });
    expect(report.probes).toBeGreaterThanOrEqual(2000);
    expect(report.recall).toBeGreaterThanOrEqual(0.97);
    expect(report.precision).toBeGreaterThanOrEqual(0.99);
    // Every negative variation stays clean.
    for (const [variation, figures] of Object.entries(report.byVariation)) {
      if (variation.startsWith("negative_")) expect(figures.falsePositives, variation).toBe(0);
    }
  }, 120_000);

  it("raises no false hit on the hand-written hard cases", async () => {
    const report = await evaluateMatcher({
      recordsPath: path.join(REPO_ROOT, "eval/hard-cases.records.ndjson"),
      probesPath: path.join(REPO_ROOT, "eval/hard-cases.probes.ndjson"),
      createMatcher: (store) => createMatcher(store),
    });
    expect(report.falsePositives).toBe(0);
    expect(report.recall).toBeGreaterThanOrEqual(0.8);
  }, 60_000);
});
