import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { evaluateNamePairs, isHeldOut, parseNamePairs } from "../../node/matching/names/index.ts";

const SAMPLE = [
  "putin\tп у т и н\t3",
  "pavlov\tп а в л о в\t2",
  "petrov\tп е т р о в\t5",
  "ivanov\tи в а н о в\t4",
  "ignatov\tи г н а т о в\t1",
  "smirnov\tс м и р н о в\t2",
  "sokolov\tс о к о л о в\t1",
  "kuznetsov\tк у з н е ц о в\t1",
  "zelenskyy\tз е л е н с ь к и й\t1",
  "",
].join("\n");

describe("evaluateNamePairs", () => {
  it("reports recall and false accepts on hard negatives", () => {
    const report = evaluateNamePairs(SAMPLE, { seed: 7 });
    expect(report.pairs).toBe(9);
    expect(report.recall).toBeGreaterThanOrEqual(8 / 9);
    // kuznetsov and zelenskyy have no other token with the same first letter and a close length.
    expect(report.negatives).toBe(7);
    expect(report.skippedNegatives).toBe(2);
    expect(report.falseAccepts).toBe(0);
    expect(report.falseAcceptRate).toBe(0);
    expect(report.seed).toBe(7);
  });

  it("is deterministic for a seed", () => {
    expect(evaluateNamePairs(SAMPLE, { seed: 3 })).toEqual(evaluateNamePairs(SAMPLE, { seed: 3 }));
  });

  it("rejects malformed lines with their line number", () => {
    const bad = "putin\tп у т и н\t3\nno tab here\n";
    expect(() => evaluateNamePairs(bad, { seed: 1 })).toThrow(WatchmeshError);
    try {
      evaluateNamePairs(bad, { seed: 1 });
    } catch (error) {
      expect((error as WatchmeshError).code).toBe(ErrorCode.InvalidArgument);
      expect((error as WatchmeshError).message).toContain("line 2");
    }
    expect(() => evaluateNamePairs("putin\tп у т и н\tmany\n", { seed: 1 })).toThrow(/line 1/);
  });
});

// The shared development data sits beside the repo (../shared); read a small held-out sample of it.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const translitDir = path.join(repoRoot, "..", "shared", "data", "translit");

describe.skipIf(!existsSync(translitDir))("held-out sample of the shared name pairs", () => {
  const cases: Array<[string, number]> = [
    ["russian", 0.9],
    ["arabic", 0.85],
    ["hebrew", 0.85],
    ["chinese", 0.7],
    ["korean", 0.7],
    ["japanese", 0.8],
  ];
  for (const [script, minRecall] of cases) {
    it(`${script}: recall ≥ ${minRecall}, false accepts ≤ 2%`, () => {
      const text = readFileSync(path.join(translitDir, `wd_${script}_80.tsv`), "utf8");
      // Every 10th held-out pair (the tables were built from the other 90%): a few hundred, fast.
      const held = parseNamePairs(text).filter(isHeldOut).filter((_, i) => i % 10 === 0);
      const sample = held.map((p) => `${p.latin}\t${[...p.foreign].join(" ")}\t${p.count}`).join("\n");
      const report = evaluateNamePairs(sample, { seed: 1 });
      expect(report.pairs).toBeGreaterThan(200);
      expect(report.recall).toBeGreaterThanOrEqual(minRecall);
      expect(report.falseAcceptRate).toBeLessThanOrEqual(0.02);
    });
  }
});
