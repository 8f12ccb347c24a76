/**
 * `npm run bench -- <name> [--json] [options]`: benchmark scripts that print figures beside a raw
 * baseline measured in the same run. Names: fanout, gather, batch, node, matcher-ab, crypto, face-eval, aggregate.
 */
import { runAggregateBench } from "./aggregate.ts";
import { runBatchBench } from "./batch.ts";
import { runCryptoBench } from "./crypto.ts";
import { runFaceEval } from "./face-eval.ts";
import { runFanoutBench } from "./fanout.ts";
import { runGatherBench } from "./gather.ts";
import { runMatcherAbBench } from "./matcher-ab.ts";
import { runNodeBench } from "./node.ts";

const benches: Record<string, (args: string[], json: boolean) => Promise<void>> = {
  fanout: runFanoutBench,
  gather: runGatherBench,
  batch: runBatchBench,
  node: runNodeBench,
  "matcher-ab": runMatcherAbBench,
  crypto: runCryptoBench,
  "face-eval": runFaceEval,
  aggregate: runAggregateBench,
};

const [name, ...rest] = process.argv.slice(2);
const run = name ? benches[name] : undefined;
if (!run) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join("|")}> [--json] [options]\n`);
  process.exit(2);
}
try {
  await run(rest, rest.includes("--json"));
} catch (error) {
  process.stderr.write(`bench ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
