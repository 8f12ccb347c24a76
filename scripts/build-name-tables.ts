/**
 * Builds node/matching/names/translit-tables.json from the CC0 cross-script name pairs in
 * ../shared/data/translit (Merhav & Ash, COLING 2018, Wikidata-mined; CC0 1.0).
 *
 *   node bin/run-ts.js scripts/build-name-tables.ts [--data DIR] [--out FILE] [--all]
 *
 * Trains on the development split's 90% (pairs whose FNV-1a hash is not 0 mod 10) unless --all is given,
 * so the 10% stays a fair held-out sample for `watchmesh eval-names`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildTables } from "../node/matching/names/build-tables.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dataDir = flag("--data") ?? path.join(root, "..", "shared", "data", "translit");
const outFile = flag("--out") ?? path.join(root, "node", "matching", "names", "translit-tables.json");
const tables = buildTables({
  readPairFile: (file) => readFileSync(path.join(dataDir, file), "utf8"),
  useAllPairs: args.includes("--all"),
  log: (line) => process.stderr.write(`${line}\n`),
});
writeFileSync(outFile, `${JSON.stringify(tables)}\n`);
process.stderr.write(`wrote ${outFile}\n`);
