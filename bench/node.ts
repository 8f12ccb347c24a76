/**
 * One country node's store and answer path: import rate, person and document queries per second on one
 * core through the path a CountryNode runs — the query's pair tag checked, replay memory, quota count
 * and audit entry (group-committed), matching, the answer tagged for the border system and the
 * coordinator (hits also signed) — the matcher's own share of the CPU time and its store reads, beside
 * raw LMDB `get` on the same store.
 */
import { open } from "lmdb";
import { signQuery } from "../common/envelope.ts";
import { silentLogger } from "../common/logger.ts";
import type { EntityQuery, PersonQuery } from "../common/proto.ts";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { setImmediate } from "node:timers/promises";
import path from "node:path";
import { AuditLog } from "../node/audit-log.ts";
import { QuotaLedger } from "../node/quota-ledger.ts";
import {
  MatchService,
  RecordStore,
  ReplayGuard,
  createMatcher,
  generateSampleRecords,
  samplePersonId,
  importNdjson,
  type MatchCandidateHit,
  type MatchContext,
  type Matcher,
  type NativeRecord,
  type PersonRecord,
} from "../node/index.ts";
import { countingStore, noStoreReads, type StoreReads } from "../test/helpers/counting-store.ts";
import { makeTrust } from "../test/helpers/identities.ts";
import { makeQuery, personSubject } from "../test/helpers/queries.ts";
import { makeTempDir } from "../test/helpers/temp-dir.ts";
import { argValue, cpuMicros, printFigures, residentMemoryMb, round, summarise } from "./stats.ts";

/** The benchmark node's country. */
const COUNTRY = "BEN";

/** Answers between two turns of the event loop while measuring. */
const YIELD_EVERY = 16;

/** What the blocks of one kind of query added up to in one repetition. */
interface Tally {
  samples: number[];
  elapsedMs: number;
  cpuUs: number;
  matcherUs: number;
  reads: StoreReads;
}

const newTally = (): Tally => ({ samples: [], elapsedMs: 0, cpuUs: 0, matcherUs: 0, reads: noStoreReads() });

/** Queries of one kind measured before the next kind's turn. */
const KIND_BLOCK = 250;

interface KindMeasurement {
  perSecond: number;
  cpuUsPerQuery: number;
  matcherCpuUsPerQuery: number;
  latency: { p50Ms: number; p99Ms: number };
  /** Store reads per query (the same in every repetition: the same kind of queries meets the same data). */
  reads: StoreReads;
}

/** The repetition with the median CPU per query: this shared machine's speed drifts between repetitions. */
function median(runs: readonly KindMeasurement[]): KindMeasurement {
  const sorted = [...runs].sort((a, b) => a.cpuUsPerQuery - b.cpuUsPerQuery);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!middle) throw new Error("no measurement");
  return middle;
}

/**
 * One query kind's figures: rate, CPU per query of the whole answer path and of the matcher alone,
 * latency (of the median repetition, with every repetition's CPU when there are several), store reads.
 */
function kindFigures(kind: string, runs: readonly KindMeasurement[]): Record<string, unknown> {
  const measured = median(runs);
  return {
    [`${kind} queries/s`]: measured.perSecond,
    [`${kind} CPU us/query`]: measured.cpuUsPerQuery,
    ...(runs.length > 1 ? { [`${kind} CPU us/query, every repetition`]: runs.map((run) => run.cpuUsPerQuery).join(" / ") } : {}),
    [`${kind} matcher CPU us/query`]: measured.matcherCpuUsPerQuery,
    [`${kind} p50/p99 ms`]: `${measured.latency.p50Ms} / ${measured.latency.p99Ms}`,
    [`${kind} store reads/query: records / index keys / key counts`]: `${measured.reads.records} / ${measured.reads.indexKeys} / ${measured.reads.keyCounts}`,
  };
}

/**
 * Generates the sample persons, imports them through the real NDJSON importer (parsing, validation,
 * index keys, durable LMDB commits), and keeps only a spread-out sample for the queries: the million
 * generated records must not stay in the heap, where their garbage collection would distort latencies.
 */
async function importSample(store: RecordStore, dir: string, persons: number, keep: number): Promise<{ importS: number; people: PersonRecord[] }> {
  const ndjson = path.join(dir, "records.ndjson");
  const people = await writeSample(ndjson, persons, keep);
  const importStart = performance.now();
  const imported = await importNdjson(store, { path: ndjson });
  const importS = (performance.now() - importStart) / 1000;
  await rm(ndjson);
  if (imported.rejected.length > 0) throw new Error(`${imported.rejected.length} sample records were rejected`);
  return { importS, people };
}

/** Writes the sample file and returns the kept sample; the generated array is garbage before the import. */
async function writeSample(ndjson: string, persons: number, keep: number): Promise<PersonRecord[]> {
  const records = generatePersons(persons);
  await writeFile(ndjson, records.map((record) => JSON.stringify(record)).join("\n") + "\n");
  return sampleOf(records, keep);
}

function generatePersons(persons: number): NativeRecord[] {
  return generateSampleRecords({ country: COUNTRY, persons, entities: 0, seed: 7 });
}

/**
 * Raw LMDB: plain gets of the records `ids` (`rounds` times each) on a separate read-only handle to the
 * store's environment, the baseline beside the node's figures.
 */
export async function rawLmdbGetsPerSecond(storePath: string, ids: readonly string[], rounds: number): Promise<number> {
  const rawEnv = open({ path: storePath, maxDbs: 8, readOnly: true });
  try {
    const raw = rawEnv.openDB<unknown, string>("records", { encoding: "json" });
    const started = performance.now();
    let found = 0;
    for (let r = 0; r < rounds; r++) for (const id of ids) if (raw.get(id) !== undefined) found++;
    const perSecond = round((ids.length * rounds) / ((performance.now() - started) / 1000), 0);
    if (found === 0) throw new Error("raw LMDB baseline found no records; the sub-database name may differ");
    return perSecond;
  } finally {
    await rawEnv.close();
  }
}

/**
 * The i-th invented traveller of a sample: a given name and a surname of two different persons of it,
 * and a date of birth of its own (inventedDob).
 */
export function inventedPerson(people: readonly PersonRecord[], i: number): { names: string[]; dob: string } {
  const pick = (j: number) => people[(j * 7919) % people.length];
  const given = pick(i)?.names[0]?.split(" ")[0] ?? "";
  const surname = pick(i + 17)?.names[0]?.split(" ").at(-1) ?? "";
  return { names: [`${given} ${surname}`], dob: inventedDob(i) };
}

/**
 * The i-th invented traveller's date of birth, spread over 60 years (1940-1999) and the same in every
 * run: as many distinct dates as travellers, as a stream of real ones brings, so that no query meets
 * the candidates of an earlier one by an artefact of the generator.
 */
function inventedDob(i: number): string {
  const day = (i * 7919) % (60 * 365);
  return new Date(Date.UTC(1940, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
}

/** Invented travellers with every field a passport's machine readable zone gives. */
const BORDER_CHECK_KIND = "no-hit border check";
/** The kind of query answered by the matcher without its typo pass. */
const NO_TYPO_PASS_KIND = "no-hit name+dob, without the typo pass";
/** The kind of query answered by the matcher without its filter of index keys. */
const NO_KEY_FILTER_KIND = "no-hit name+dob, without the key filter";
/**
 * Shift of the invented travellers of the border checks (twice it), of those asked without the typo
 * pass (once) and of those asked without the key filter (three times). A prime, so no sample size
 * divides it or its multiples: their name and date combinations are not those of the plain invented
 * travellers.
 */
const OTHER_TRAVELLERS = 1_000_003;

/** Index of the sample's i-th kept person among `persons`: spread out, the same in every run. */
const sampleIndex = (i: number, persons: number): number => (i * 7919) % persons;

/** A spread-out sample of the persons, the same in every run. */
function sampleOf(records: readonly NativeRecord[], keep: number): PersonRecord[] {
  const all = records.filter((record): record is PersonRecord => record.kind === "person");
  return Array.from({ length: Math.min(keep, all.length) }, (_, i) => all[sampleIndex(i, all.length)] as PersonRecord);
}

/**
 * The same sample read back from a reused store: generating the million records again would leave
 * them to the garbage collector during the measurement, whose major collections would be counted.
 */
export function sampleFromStore(store: RecordStore, persons: number, keep: number): PersonRecord[] {
  return Array.from({ length: Math.min(keep, persons) }, (_, i) => {
    const record = store.get(samplePersonId(COUNTRY, sampleIndex(i, persons)));
    if (record?.kind !== "person") throw new Error("the reused store does not hold the generated sample; remove it and import again");
    return record;
  });
}

/**
 * A matcher that adds up the time spent inside it, so that the answer path's total can be split. It
 * reads the monotonic clock, not process.cpuUsage(): matching is synchronous on this one thread, so the
 * two agree, and getrusage() is a system call (about 1 µs, more with many threads) that would
 * itself be counted in both figures.
 */
class TimedMatcher implements Matcher {
  /** The matcher timed: the bench switches to another configuration for some kinds of query. */
  inner: Matcher;
  cpuUs = 0;

  constructor(inner: Matcher) {
    this.inner = inner;
  }

  matchPerson(query: PersonQuery, context?: MatchContext): MatchCandidateHit[] {
    const started = performance.now() * 1000;
    try {
      return this.inner.matchPerson(query, context);
    } finally {
      this.cpuUs += performance.now() * 1000 - started;
    }
  }

  matchEntity(query: EntityQuery, context?: MatchContext): MatchCandidateHit[] {
    const started = performance.now() * 1000;
    try {
      return this.inner.matchEntity(query, context);
    } finally {
      this.cpuUs += performance.now() * 1000 - started;
    }
  }
}

/**
 * `--store DIR`: the store in DIR is kept after the run and reused by the next one when it already holds
 * the same sample (same number of persons), so that repeated measurements skip the import.
 */
async function benchDir(args: string[]): Promise<{ path: string; remove: () => Promise<void> }> {
  const index = args.indexOf("--store");
  if (index < 0) return makeTempDir("watchmesh-bench-node-");
  const dir = args[index + 1];
  if (!dir || dir.startsWith("--")) throw new Error("--store needs a directory");
  await mkdir(dir, { recursive: true });
  return { path: dir, remove: () => Promise.resolve() };
}

export async function runNodeBench(args: string[], json: boolean): Promise<void> {
  const persons = argValue(args, "--persons", 100_000);
  const queries = argValue(args, "--queries", 5000);
  const repeat = argValue(args, "--repeat", 1);
  // Every repetition, and the warm-up, asks about persons of its own: a query met again would find
  // its candidates already read, which a stream of distinct travellers does not.
  const sampleSize = queries * (repeat + 1);
  const temp = await benchDir(args);
  const trust = await makeTrust([COUNTRY]);
  const identity = trust.nodes.get(COUNTRY);
  if (!identity) throw new Error("missing identity");
  const store = await RecordStore.open({ path: temp.path });
  let audit: AuditLog | undefined;
  let replayGuard: ReplayGuard | undefined;
  try {
    const reused = store.stats().persons === persons;
    const { importS, people } = reused
      ? { importS: Number.NaN, people: sampleFromStore(store, persons, sampleSize) }
      : await importSample(store, temp.path, persons, sampleSize);

    // --kinds "a;b" measures only those kinds (e.g. to profile one path; kind names hold commas).
    const only = args.includes("--kinds") ? new Set(String(args[args.indexOf("--kinds") + 1]).split(";")) : undefined;
    const measures = (kind: string) => !only || only.has(kind);
    const reads = noStoreReads();
    const fullMatcher = createMatcher(countingStore(store, reads), { country: COUNTRY });
    // The same engine without the typo pass (see MatchingEngineOptions.typoPass): what that pass costs.
    // Each of these is made only when its kind is measured (a node holds one matcher): each loads a
    // vocabulary and a key filter of its own, seconds of warm-up and tens of MB.
    const matcherWithoutTypoPass = measures(NO_TYPO_PASS_KIND) ? createMatcher(countingStore(store, reads), { country: COUNTRY, typoPass: false }) : fullMatcher;
    // And without its key filter (MatchingEngineOptions.keyFilter): what reading keys that hold nobody costs.
    const matcherWithoutKeyFilter = measures(NO_KEY_FILTER_KIND) ? createMatcher(countingStore(store, reads), { country: COUNTRY, keyFilter: false }) : fullMatcher;
    // What a CountryNode loads before it serves (name vocabulary, key filter), timed for one matcher.
    const warmUpStartedMs = performance.now();
    await fullMatcher.warmUp?.();
    const warmUpS = (performance.now() - warmUpStartedMs) / 1000;
    await Promise.all([matcherWithoutTypoPass.warmUp?.(), matcherWithoutKeyFilter.warmUp?.()]);
    const matcher = new TimedMatcher(fullMatcher);
    audit = await AuditLog.open({ dataDir: temp.path, identity, logger: silentLogger() });
    const auditLog = audit;
    replayGuard = ReplayGuard.open(store);
    const service = new MatchService({
      identity,
      registry: () => trust.registry,
      matcher,
      referenceFor: (id) => store.referenceFor(id),
      logger: silentLogger(),
      replayGuard,
      quotas: new QuotaLedger(store),
      audit: (entry) => auditLog.record(entry),
    });
    // As a border system sends it: signed, with a pair tag for this node; answered through a coordinator.
    const nodeKey = trust.registry.resolveSigner(identity.keyId, Date.now(), ["node"]);
    const envelopeFor = (person: PersonQuery) =>
      signQuery(makeQuery({ expiresAtMs: Date.now() + 60_000, person }), trust.border, { tagFor: [nodeKey], keyring: trust.borderKeyring });
    const delivery = { relayed: true, relayKeyId: trust.coordinator.keyId };
    const pick = (i: number) => people[(i * 7919) % people.length] as PersonRecord;
    const inventedTraveller = (i: number) => personSubject(inventedPerson(people, i));
    const documented = people.filter((person) => (person.documents?.length ?? 0) > 0);
    // Each kind's queries, signed afresh for every measurement (a nonce answered once is refused after);
    // `offset` moves a repetition to other persons of the sample (a block of `queries` of them).
    const queriesOf = (build: (i: number) => PersonQuery) => (offset: number) =>
      Array.from({ length: queries }, (_, i) => envelopeFor(build(i + offset)));
    const kinds = {
      "name+dob": queriesOf((i) => {
        const person = pick(i);
        return personSubject({ names: [person.names[0] ?? ""], dob: person.dob ?? "" });
      }),
      document: queriesOf((i) => {
        const document = documented[(i * 7919) % documented.length]?.documents?.[0];
        return personSubject({ documents: document ? [document] : [] });
      }),
      // Most travellers are on no list: invented people (a given name and a surname of two different
      // records, a random full date) exercise the no-hit path, which reads single-token keys too.
      "no-hit name+dob": queriesOf(inventedTraveller),
      // The same kind of traveller as a border system asks about them, with what the passport's machine
      // readable zone also gives: sex, nationality and a passport number (held by nobody).
      [BORDER_CHECK_KIND]: queriesOf((i) => {
        const j = i + 2 * OTHER_TRAVELLERS;
        const nationality = pick(j + 17).nationality?.[0] ?? COUNTRY;
        return {
          ...inventedTraveller(j),
          sex: pick(j).sex === "F" ? "F" : "M",
          nationality: [nationality],
          documents: [{ type: "passport", number: `ZQ${String(j % 10_000_000).padStart(7, "0")}`, country: nationality }],
        };
      }),
      // The same kind of traveller (others of them: a date and name combination of their own) answered
      // without the typo pass; measured beside the previous kind, it shows what typo tolerance costs.
      [NO_TYPO_PASS_KIND]: queriesOf((i) => inventedTraveller(i + OTHER_TRAVELLERS)),
      // And others again, answered without the key filter: what it saves.
      [NO_KEY_FILTER_KIND]: queriesOf((i) => inventedTraveller(i + 3 * OTHER_TRAVELLERS)),
      // Year of birth only: read through the year's key ranges (see matching/index-keys.ts).
      "name+birth year": queriesOf((i) => {
        const person = pick(i);
        return personSubject({ names: [person.names[0] ?? ""], dob: (person.dob ?? "").slice(0, 4) });
      }),
    };

    // The event loop gets a turn every few answers, as it does in a serving node, so that the group
    // commits of replay nonces, quota counts and audit entries run (and are counted) during the
    // measurement instead of piling up until its end.
    const measureBlock = async (envelopes: readonly ReturnType<typeof envelopeFor>[], tally: Tally): Promise<void> => {
      const matcherCpu0 = matcher.cpuUs;
      const reads0 = { ...reads };
      const cpu0 = cpuMicros();
      const t0 = performance.now();
      for (const [i, envelope] of envelopes.entries()) {
        const started = performance.now();
        service.answer(envelope, undefined, delivery);
        tally.samples.push(performance.now() - started);
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await setImmediate();
      }
      await Promise.all([replayGuard?.flush(), auditLog.seal()]);
      tally.elapsedMs += performance.now() - t0;
      tally.cpuUs += cpuMicros() - cpu0;
      tally.matcherUs += matcher.cpuUs - matcherCpu0;
      for (const read of ["records", "indexKeys", "keyCounts"] as const) tally.reads[read] += reads[read] - reads0[read];
    };
    const measurement = (tally: Tally): KindMeasurement => {
      const count = tally.samples.length;
      const perQuery = (total: number) => round(total / count, 1);
      return {
        perSecond: round(count / (tally.elapsedMs / 1000), 0),
        cpuUsPerQuery: perQuery(tally.cpuUs),
        // The matcher's share (its two clock readings add well under a microsecond to the total).
        matcherCpuUsPerQuery: perQuery(tally.matcherUs),
        latency: summarise(tally.samples),
        reads: { records: perQuery(tally.reads.records), indexKeys: perQuery(tally.reads.indexKeys), keyCounts: perQuery(tally.reads.keyCounts) },
      };
    };
    await measureBlock(kinds["name+dob"](repeat * queries).slice(0, 500), newTally()); // warm-up, on persons no measurement asks about
    const measured = Object.entries(kinds).filter(([kind]) => measures(kind));
    if (measured.length === 0) throw new Error(`--kinds names none of: ${Object.keys(kinds).join(", ")}`);
    const runs = new Map(measured.map(([kind]) => [kind, [] as KindMeasurement[]]));
    // Within every repetition the kinds take turns in blocks of queries, each round starting with the
    // next kind, so that the machine's drift and what one kind leaves warm for another (a name token
    // met first pays for its search in the vocabulary, about 100 µs) touch them alike.
    for (let repetition = 0; repetition < repeat; repetition++) {
      const envelopes = measured.map(([kind, build]) => ({ kind, envelopes: build(repetition * queries), tally: newTally() }));
      for (let start = 0, round = 0; start < queries; start += KIND_BLOCK, round++) {
        const first = round % envelopes.length;
        for (const { kind, envelopes: all, tally } of [...envelopes.slice(first), ...envelopes.slice(0, first)]) {
          matcher.inner = kind === NO_TYPO_PASS_KIND ? matcherWithoutTypoPass : kind === NO_KEY_FILTER_KIND ? matcherWithoutKeyFilter : fullMatcher;
          await measureBlock(all.slice(start, start + KIND_BLOCK), tally);
        }
      }
      matcher.inner = fullMatcher;
      for (const { kind, tally } of envelopes) runs.get(kind)?.push(measurement(tally));
    }
    const [firstKind, firstRuns] = [...runs][0] ?? ["", []];

    const rawPerSecond = await rawLmdbGetsPerSecond(
      temp.path,
      Array.from({ length: queries }, (_, i) => pick(i).id),
      10,
    );

    printFigures(
      `node: ${persons} persons in LMDB, signed queries answered in-process (one core)`,
      {
        "import records/s": reused ? "n/a (store reused)" : round(persons / importS, 0),
        "matcher warm-up s (name vocabulary, key filter)": round(warmUpS, 2),
        ...Object.fromEntries([...runs].flatMap(([kind, measured]) => Object.entries(kindFigures(kind, measured)))),
        "raw LMDB get/s": rawPerSecond,
        [firstKind === "name+dob" ? "raw gets per name query" : `raw gets per ${firstKind} query`]: round(rawPerSecond / median(firstRuns).perSecond, 1),
        "resident memory MB": round(process.memoryUsage().rss / 1024 / 1024, 0),
        // The target (1.5 GB) excludes the page cache: the anonymous part is the node's own memory.
        "resident anonymous / file-backed MB": (() => {
          const split = residentMemoryMb();
          return split ? `${split.anonymous} / ${split.file}` : "n/a";
        })(),
      },
      json,
    );
  } finally {
    await audit?.close();
    await replayGuard?.flush();
    await store.close();
    await temp.remove();
  }
}
