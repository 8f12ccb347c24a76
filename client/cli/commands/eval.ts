import type { Command } from "commander";
import { evaluateMatcher, type EvaluationReport } from "../../../node/matching/evaluate.ts";
import { createMatcher } from "../../../node/index.ts";

function render(report: EvaluationReport): string {
  const lines = [
    `records ${report.records}, probes ${report.probes} (refused ${report.refusedProbes})`,
    `true positives ${report.truePositives}, false positives ${report.falsePositives}, false negatives ${report.falseNegatives}, true negatives ${report.trueNegatives}`,
    `precision ${report.precision.toFixed(4)}  recall ${report.recall.toFixed(4)}  F1 ${report.f1.toFixed(4)}`,
    "by variation:",
  ];
  for (const [variation, figures] of Object.entries(report.byVariation)) {
    lines.push(
      `  ${variation.padEnd(38)} probes ${String(figures.probes).padStart(5)}  TP ${String(figures.truePositives).padStart(5)}  FP ${String(figures.falsePositives).padStart(4)}  FN ${String(figures.falseNegatives).padStart(4)}` +
        (figures.truePositives + figures.falseNegatives > 0 ? `  recall ${figures.recall.toFixed(3)}` : ""),
    );
  }
  return lines.join("\n");
}

export function registerEvalCommand(program: Command): void {
  program
    .command("eval")
    .description("measure the matcher: import records into a fresh store, run labelled probes, print precision, recall and F1")
    .requiredOption("--records <file.ndjson>", "records in the native NDJSON format")
    .requiredOption("--probes <file.ndjson>", 'probes, one {"query":{…},"expect":"<record id>"|null} per line')
    .option("--json", "print the report as JSON")
    .option("--no-typo-pass", "match without the pass that finds names with a typing error in one token (shows what it is worth)")
    .action(async (flags: { records: string; probes: string; json?: boolean; typoPass: boolean }) => {
      const report = await evaluateMatcher({
        recordsPath: flags.records,
        probesPath: flags.probes,
        createMatcher: (store) => createMatcher(store, { typoPass: flags.typoPass }),
      });
      process.stdout.write((flags.json ? JSON.stringify(report) : render(report)) + "\n");
    });
}
