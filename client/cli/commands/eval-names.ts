import { readFile } from "node:fs/promises";
import { InvalidArgumentError, type Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { evaluateNamePairs, type NamePairReport } from "../../../node/matching/names/index.ts";

export interface EvalNamesFlags {
  pairs: string;
  json?: boolean;
  seed: number;
}

function parseSeed(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 0xffffffff) {
    throw new InvalidArgumentError("expected a whole number from 0 to 4294967295");
  }
  return parsed;
}

export function renderNamePairReport(report: NamePairReport): string {
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
  return [
    `pairs            ${report.pairs}`,
    `recall           ${pct(report.recall)} (${report.truePositives}/${report.pairs})`,
    `false accepts    ${pct(report.falseAcceptRate)} (${report.falseAccepts}/${report.negatives} hard negatives, ${report.skippedNegatives} pairs without one)`,
    `threshold        ${report.threshold}   seed ${report.seed}`,
  ].join("\n");
}

export async function runEvalNames(flags: EvalNamesFlags): Promise<NamePairReport> {
  let text: string;
  try {
    text = await readFile(flags.pairs, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new WatchmeshError(
      missing ? ErrorCode.NotFound : ErrorCode.InvalidArgument,
      missing ? `--pairs file not found: ${flags.pairs}` : `cannot read --pairs file ${flags.pairs}`,
      { cause: error },
    );
  }
  return evaluateNamePairs(text, { seed: flags.seed });
}

/** `watchmesh eval-names --pairs FILE [--json] [--seed N]`: recall and false-accept rate of the name matcher. */
export function registerEvalNamesCommand(program: Command): void {
  program
    .command("eval-names")
    .description(
      "measure cross-script name matching on a pair file (latin<TAB>c h a r s<TAB>count): recall on the true pairs, " +
        "false-accept rate on hard negatives (another Latin token with the same first letter and a length within ±1)",
    )
    .requiredOption("--pairs <file>", "pair file in the shared/data/translit format")
    .option("--seed <n>", "seed for choosing hard negatives", parseSeed, 1)
    .option("--json", "print one JSON object")
    .action(async (flags: EvalNamesFlags) => {
      const report = await runEvalNames(flags);
      process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : `${renderNamePairReport(report)}\n`);
    });
}
