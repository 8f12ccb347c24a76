/**
 * `npm run bench -- matcher-ab --store DIR --other PATH [--kind no-hit|hit] [--blocks 160]`: this
 * checkout's matching engine against another checkout's (PATH, e.g. a `git worktree` of an earlier
 * commit), in one process on the same store (imported by `npm run bench -- node --store DIR`).
 *
 * Whole-bench runs of two versions on a shared virtual machine differ by ±30% from the machine alone,
 * which hides changes of 10%. Here the two matchers answer the same travellers in alternate blocks, each
 * block starting with the other matcher, so the machine's drift touches both alike; the figure is the
 * ratio of their CPU time, with the median and quartiles of the per-block ratios. Both trees' modules
 * are loaded side by side (each with its own caches); the store is this checkout's, so PATH must read
 * the same store format.
 */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { PersonQuery } from "../common/proto.ts";
import type { Matcher } from "../node/matcher.ts";
import type { PersonRecord } from "../node/record-schema.ts";
import { RecordStore } from "../node/store.ts";
import { personSubject } from "../test/helpers/queries.ts";
import { inventedPerson, rawLmdbGetsPerSecond, sampleFromStore } from "./node.ts";
import { argValue, cpuMicros, printFigures, round } from "./stats.ts";

const BLOCK = 250;
const THIS_CHECKOUT = fileURLToPath(new URL("..", import.meta.url));
const SAMPLE = 20_000;

type CreateMatcher = (store: RecordStore, options: { country?: string }) => Matcher;

async function matcherOf(tree: string, store: RecordStore): Promise<Matcher> {
  const module = (await import(pathToFileURL(path.resolve(tree, "node/matcher.ts")).href)) as { createMatcher: CreateMatcher };
  const matcher = module.createMatcher(store, { country: "BEN" });
  await matcher.warmUp?.();
  return matcher;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export async function runMatcherAbBench(args: string[], json: boolean): Promise<void> {
  const storeIndex = args.indexOf("--store");
  const otherIndex = args.indexOf("--other");
  const storeDir = storeIndex >= 0 ? args[storeIndex + 1] : undefined;
  const other = otherIndex >= 0 ? args[otherIndex + 1] : undefined;
  if (!storeDir || !other) throw new Error("matcher-ab needs --store DIR (a node bench store) and --other PATH (another checkout)");
  const kind = args.includes("--kind") ? args[args.indexOf("--kind") + 1] : "no-hit";
  if (kind !== "no-hit" && kind !== "hit") throw new Error("--kind is no-hit or hit");
  const blocks = argValue(args, "--blocks", 160);
  const store = await RecordStore.open({ path: storeDir });
  try {
    const persons = store.stats().persons;
    if (persons === 0) throw new Error("the store holds no persons: import one with `npm run bench -- node --store DIR` first");
    const people = sampleFromStore(store, persons, SAMPLE);
    const pick = (i: number) => people[(i * 7919) % people.length] as PersonRecord;
    const queryOf = (i: number): PersonQuery =>
      kind === "hit" ? personSubject({ names: [pick(i).names[0] ?? ""], dob: pick(i).dob ?? "" }) : personSubject(inventedPerson(people, i));
    const matchers = [await matcherOf(THIS_CHECKOUT, store), await matcherOf(other, store)] as const;

    // The first quarter of the blocks warms both up (JIT, caches) and is not counted.
    const spent = [0, 0];
    const ratios: number[] = [];
    let counted = 0;
    for (let block = 0; block < blocks; block++) {
      const queries = Array.from({ length: BLOCK }, (_, k) => queryOf(block * BLOCK + k));
      const inBlock = [0, 0];
      for (const which of block % 2 === 0 ? [0, 1] : [1, 0]) {
        const before = cpuMicros();
        for (const query of queries) matchers[which]!.matchPerson(query);
        inBlock[which] = cpuMicros() - before;
      }
      if (block < blocks / 4) continue;
      spent[0]! += inBlock[0]!;
      spent[1]! += inBlock[1]!;
      ratios.push(inBlock[0]! / inBlock[1]!);
      counted += BLOCK;
    }
    ratios.sort((a, b) => a - b);

    const rawPerSecond = await rawLmdbGetsPerSecond(
      storeDir,
      people.map((person) => person.id),
      5,
    );

    printFigures(
      `matcher-ab: this checkout against ${other}, ${kind} queries, ${persons} persons`,
      {
        "queries counted (each answered by both)": counted,
        "this checkout CPU us/query": round(spent[0]! / counted, 1),
        "other checkout CPU us/query": round(spent[1]! / counted, 1),
        "this / other": round(spent[0]! / spent[1]!, 3),
        "this / other, median block (quartiles)": `${round(quantile(ratios, 0.5), 3)} (${round(quantile(ratios, 0.25), 3)}-${round(quantile(ratios, 0.75), 3)})`,
        "raw LMDB get/s": rawPerSecond,
      },
      json,
    );
  } finally {
    await store.close();
  }
}
