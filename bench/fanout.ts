/**
 * Federated checks at world scale, beside a raw NATS scatter/gather in the same topology and run.
 *
 * Topology (one machine, real processes): a real nats-server; N country nodes (default 196, each with
 * its own keys and LMDB store) spread over a few node-host processes; the real coordinator in its own
 * process; this process as the load generator (a BorderClient that signs, tags and verifies, as a
 * border system does). The raw baseline swaps in trivial responders (one queue group per country, in
 * the same number of processes) and a plain gatherer process, asked by a plain NATS request — and, at
 * light load, also over plain gRPC (a request the size of a check's, every reply returned), as the
 * border system reaches the coordinator: the hop the NATS-only baseline leaves out.
 *
 * Reported: p50/p99 at light load (paced) and at saturation, checks/s, CPU time per check of the
 * coordinator process alone (and of the raw gatherer alone), two coordinators against one, how the
 * replicas of a country split its queries, and optionally the coordinator's memory over a long run.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { credentials as grpcCredentials, makeGenericClientConstructor, Metadata, type ChannelCredentials, type Client } from "@grpc/grpc-js";
import { connect } from "@nats-io/transport-node";
import protobuf from "protobufjs";
import { createIdentity, MemberRole, publicPart, type SigningIdentity } from "../common/key-files.ts";
import { startNatsServer } from "../common/nats-server.ts";
import { CountryStatus, countryStatusNumber, watchmeshGrpcPackage, type SignedEnvelope } from "../common/proto.ts";
import { memberFor } from "../common/registry.ts";
import { initSodium } from "../common/sodium.ts";
import { BorderClient } from "../client/border-client.ts";
import { makeTrust, type TestTrust } from "../test/helpers/identities.ts";
import { makeTempDir } from "../test/helpers/temp-dir.ts";
import { RAW_CHECK_SUBJECT, RAW_GRPC_SERVICE, toWire, type WorkerReply, type WorkerRequest, type WorkerStart, type WorkerUsage } from "./fanout-worker.ts";
import { capCpu, type CpuCap } from "./cpu-cap.ts";
import { pinAlone } from "./cpu-pin.ts";
import { argValue, cpuMicros, processCpuMicros, benchCountryCodes, printFigures, round, summarise, type LatencySummary } from "./stats.ts";

const RUN_TS = fileURLToPath(new URL("../bin/run-ts.js", import.meta.url));
const WORKER = fileURLToPath(new URL("./fanout-worker.ts", import.meta.url));

/** A child process of the topology, driven by request/reply over its IPC channel. */
class Worker {
  readonly #child: ChildProcess;
  readonly #replies: WorkerReply[] = [];
  readonly #waiting: ((reply: WorkerReply) => void)[] = [];
  #exited = false;

  constructor(readonly name: string) {
    // WATCHMESH_BENCH_PROFILE=<dir> writes a CPU profile of every process of the topology there.
    const profileDir = process.env["WATCHMESH_BENCH_PROFILE"];
    const execArgv = ["--expose-gc", ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];
    this.#child = fork(RUN_TS, [WORKER], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.#child.on("message", (reply: WorkerReply) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(reply);
      else this.#replies.push(reply);
    });
    this.#child.on("exit", () => {
      this.#exited = true;
      for (const waiter of this.#waiting.splice(0)) waiter({ type: "failed", message: `${name} exited` });
    });
  }

  /** The child's process id (for a CPU cap). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  async #ask(request: WorkerRequest): Promise<WorkerReply> {
    if (this.#exited) throw new Error(`${this.name} has exited`);
    const reply = new Promise<WorkerReply>((resolve) => {
      const queued = this.#replies.shift();
      if (queued) resolve(queued);
      else this.#waiting.push(resolve);
    });
    this.#child.send(request);
    const answer = await reply;
    if (answer.type === "failed") throw new Error(`${this.name}: ${answer.message}`);
    return answer;
  }

  async start(start: WorkerStart): Promise<number | undefined> {
    const reply = await this.#ask({ type: "start", start });
    return reply.type === "ready" ? reply.grpcPort : undefined;
  }

  async usage(options: { gc?: boolean } = {}): Promise<WorkerUsage> {
    const reply = await this.#ask({ type: "usage", ...(options.gc ? { gc: true } : {}) });
    if (reply.type !== "usage") throw new Error(`${this.name}: unexpected reply ${reply.type}`);
    return reply.usage;
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    try {
      await this.#ask({ type: "stop" });
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

type Run = () => Promise<void>;

async function paced(count: number, perSecond: number, run: Run): Promise<LatencySummary> {
  const samples: number[] = [];
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      (async () => {
        const t0 = performance.now();
        await run();
        samples.push(performance.now() - t0);
      })(),
    );
  }
  await Promise.all(inFlight);
  return summarise(samples);
}

interface Saturation {
  perSecond: number;
  latency: LatencySummary;
  checks: number;
}

async function saturate(durationMs: number, runners: { concurrency: number; run: Run }[]): Promise<Saturation> {
  const samples: number[] = [];
  const endAt = performance.now() + durationMs;
  const t0 = performance.now();
  await Promise.all(
    runners.flatMap(({ concurrency, run }) =>
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < endAt) {
          const started = performance.now();
          await run();
          samples.push(performance.now() - started);
        }
      }),
    ),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  return { perSecond: round(samples.length / elapsedS, 1), latency: summarise(samples), checks: samples.length };
}

/** The benchmark's nats-server, whose CPU time per check is reported beside the processes' own. */
let natsServerPid = -1;
const natsServerCpuMicros = () => processCpuMicros(natsServerPid);

async function totalCpuMicros(workers: readonly Worker[]): Promise<number> {
  const usages = await Promise.all(workers.map((worker) => worker.usage()));
  return usages.reduce((sum, usage) => sum + usage.cpuMicros, 0);
}

/** CPU microseconds `worker` spends per check while `load` runs. */
async function cpuPerCheck<T extends { checks: number }>(
  worker: Worker,
  load: () => Promise<T>,
): Promise<T & { cpuUsPerCheck: number; systemUsPerCheck: number; natsServerUsPerCheck: number }> {
  const before = await worker.usage();
  const natsBefore = natsServerCpuMicros();
  const result = await load();
  const after = await worker.usage();
  const checks = Math.max(result.checks, 1);
  return {
    ...result,
    cpuUsPerCheck: round((after.cpuMicros - before.cpuMicros) / checks, 1),
    systemUsPerCheck: round((after.systemMicros - before.systemMicros) / checks, 1),
    natsServerUsPerCheck: round((natsServerCpuMicros() - natsBefore) / checks, 1),
  };
}

interface Options {
  countries: string[];
  nodeProcesses: number;
  lightChecks: number;
  lightRate: number;
  saturationMs: number;
  concurrency: number;
  replicated: number;
  sustainedChecks: number;
  coordinatorKey: boolean;
  /** "full": CountryNodes with LMDB stores; "protocol": the real answer path without a store (see fanout-worker). */
  nodes: "full" | "protocol";
  /** In the coordinator-bound run, also one against two coordinators each capped at this many cores (cgroups). */
  coordinatorCpu: number | undefined;
  /** Protocol nodes and raw responders each with a NATS connection of their own, as CountryNodes have. */
  connectionPerCountry: boolean;
  /** Also measure the coordinator (coordinator-bound) and the raw gatherer each with a core of its own. */
  pinned: boolean;
}

export async function runFanoutBench(args: string[], json: boolean): Promise<void> {
  const options: Options = {
    countries: benchCountryCodes(argValue(args, "--countries", 196)),
    nodeProcesses: argValue(args, "--node-processes", 4),
    lightChecks: argValue(args, "--light-checks", 300),
    lightRate: argValue(args, "--light-rate", 50),
    saturationMs: argValue(args, "--saturation-ms", 8000),
    concurrency: argValue(args, "--concurrency", 8),
    replicated: Math.min(argValue(args, "--replicated", 4), argValue(args, "--countries", 196)),
    sustainedChecks: args.includes("--sustained-checks") ? argValue(args, "--sustained-checks", 100_000) : 0,
    coordinatorKey: !args.includes("--no-coordinator-key"),
    nodes: args.includes("--protocol-nodes") ? "protocol" : "full",
    connectionPerCountry: args.includes("--connection-per-country"),
    coordinatorCpu: args.includes("--coordinator-cpu") ? argValue(args, "--coordinator-cpu", 0.2) : undefined,
    pinned: args.includes("--pinned"),
  };
  await initSodium();
  const nats = await startNatsServer();
  natsServerPid = nats.pid;
  const temp = await makeTempDir("watchmesh-bench-fanout-");
  const workers: Worker[] = [];
  try {
    const second = createIdentity(MemberRole.Coordinator, "FRA", "coordinator-2");
    const trust = await makeTrust(options.countries, "FRA", [memberFor(publicPart(second))]);
    const mesh = await measureMesh(options, trust, second, nats.url, temp.path, workers);
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    const raw = await measureRaw(options, nats.url, workers);
    printFigures(
      `fanout: ${options.countries.length} countries (${options.nodes === "full" ? "CountryNodes with LMDB stores" : "protocol-only nodes"}) in ${options.nodeProcesses} processes, coordinator in its own process, real nats-server` +
        (options.connectionPerCountry && options.nodes === "protocol" ? ", a NATS connection per country" : "") +
        (options.coordinatorKey ? "" : " (coordinator without a key: every answer signed)"),
      {
        "light load (checks/s)": options.lightRate,
        "mesh light p50/p99 ms": `${mesh.light.p50Ms} / ${mesh.light.p99Ms}`,
        "raw light p50/p99 ms": `${raw.light.p50Ms} / ${raw.light.p99Ms}`,
        "p50 ratio mesh/raw": round(mesh.light.p50Ms / raw.light.p50Ms, 2),
        "raw via plain gRPC light p50/p99 ms": `${raw.lightGrpc.p50Ms} / ${raw.lightGrpc.p99Ms}`,
        "p50 ratio mesh/raw via gRPC": round(mesh.light.p50Ms / raw.lightGrpc.p50Ms, 2),
        "mesh light gather p50/p99 ms (publish to last answer)": `${mesh.lightGather.p50Ms} / ${mesh.lightGather.p99Ms}`,
        "mesh light first answer p50/p99 ms": `${mesh.lightFirstAnswer.p50Ms} / ${mesh.lightFirstAnswer.p99Ms}`,
        "light: node / raw responder processes' CPU us per check (all countries)": `${mesh.lightHostsCpuUs} / ${raw.lightRespondersCpuUs}`,
        "light: coordinator / raw gatherer CPU us per check": `${mesh.light.cpuUsPerCheck} / ${raw.light.cpuUsPerCheck}`,
        "light: border client CPU us per check (sign, tag, verify 196 answers)": mesh.lightClientCpuUs,
        "mesh saturated checks/s": mesh.saturated.perSecond,
        "raw saturated gathers/s": raw.saturated.perSecond,
        "mesh saturated p50/p99 ms": `${mesh.saturated.latency.p50Ms} / ${mesh.saturated.latency.p99Ms}`,
        "raw saturated p50/p99 ms": `${raw.saturated.latency.p50Ms} / ${raw.saturated.latency.p99Ms}`,
        "coordinator CPU us per check": mesh.saturated.cpuUsPerCheck,
        "raw gatherer CPU us per gather": raw.saturated.cpuUsPerCheck,
        "of which system (kernel) us, coordinator / raw": `${mesh.saturated.systemUsPerCheck} / ${raw.saturated.systemUsPerCheck}`,
        "nats-server CPU us per check, saturated mesh / raw": `${mesh.saturated.natsServerUsPerCheck} / ${raw.saturated.natsServerUsPerCheck}`,
        "CPU ratio coordinator/raw": round(mesh.saturated.cpuUsPerCheck / raw.saturated.cpuUsPerCheck, 2),
        "checks/s one coordinator core can serve": round(1e6 / mesh.saturated.cpuUsPerCheck, 0),
        "two coordinators checks/s": mesh.scaleOut.perSecond,
        "two coordinators / one": round(mesh.scaleOut.perSecond / mesh.saturated.perSecond, 2),
        "two coordinators CPU us per check": mesh.scaleOut.cpuUsPerCheck,
        ...(mesh.coordinatorBound
          ? {
              "coordinator-bound (countries replay answers), checks/s": mesh.coordinatorBound.one.perSecond,
              "coordinator-bound: coordinator CPU us per check (kernel) / busy share of a core": `${mesh.coordinatorBound.one.cpuUsPerCheck} (${mesh.coordinatorBound.one.systemUsPerCheck}) / ${mesh.coordinatorBound.one.busyShare}`,
              "coordinator-bound: checks/s one coordinator core can serve": round(1e6 / mesh.coordinatorBound.one.cpuUsPerCheck, 0),
              "coordinator-bound: replaying countries / nats-server / load generator CPU us per check": `${mesh.coordinatorBound.one.hostsCpuUsPerCheck} / ${mesh.coordinatorBound.one.natsServerUsPerCheck} / ${mesh.coordinatorBound.one.loadCpuUsPerCheck}`,
              "coordinator-bound: two coordinators checks/s, / one": `${mesh.coordinatorBound.two.perSecond}, ${round(mesh.coordinatorBound.two.perSecond / mesh.coordinatorBound.one.perSecond, 2)}`,
              "coordinator-bound: two coordinators CPU us per check": mesh.coordinatorBound.two.cpuUsPerCheck,
              "coordinator-bound: p50/p99 ms, wrong answers": `${mesh.coordinatorBound.one.latency.p50Ms} / ${mesh.coordinatorBound.one.latency.p99Ms}, ${mesh.coordinatorBound.wrongAnswers}`,
              ...cappedFigures(mesh.coordinatorBound.capped),
            }
          : {}),
        ...pinnedFigures(mesh.coordinatorBound?.pinned, raw.pinned, options.pinned),
        "replica share of answers": mesh.replicaShares,
        "mesh checks / with a country unavailable / wrong answers": `${mesh.outcomes.checks} / ${mesh.outcomes.withUnavailable} / ${mesh.outcomes.wrongAnswers}`,
        ...(mesh.sustained ? { "coordinator heap MB over sustained run": mesh.sustained } : {}),
      },
      json,
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await nats.stop();
    await temp.remove();
  }
}

async function measureMesh(options: Options, trust: TestTrust, second: SigningIdentity, natsUrl: string, dataDir: string, workers: Worker[]) {
  const trustWire = { registryText: trust.registryText, root: toWire(trust.root) };
  const nodeIdentities = options.countries.map((country) => trust.nodes.get(country) as SigningIdentity);
  // Replicas of the first countries share their key and queue group, in another process than the primary.
  const placements = [
    ...nodeIdentities.map((identity, index) => ({ identity, process: index % options.nodeProcesses })),
    ...nodeIdentities.slice(0, options.replicated).map((identity, index) => ({ identity, process: (index + 1) % options.nodeProcesses })),
  ];
  const hostedBy = Array.from({ length: options.nodeProcesses }, (_, index) =>
    placements.filter((placement) => placement.process === index).map((placement) => placement.identity),
  );
  const common = { natsUrl, hitCountries: [options.countries[0] ?? ""], ...trustWire };
  const hosts = hostedBy.map((_, index) => new Worker(`node host ${index}`));
  workers.push(...hosts);
  await Promise.all(
    hosts.map((host, index) => {
      const nodes = (hostedBy[index] ?? []).map(toWire);
      return host.start(options.nodes === "full" ? { role: "nodes", dataDir: `${dataDir}/host-${index}`, nodes, ...common } : { role: "protocol-nodes", connectionPerCountry: options.connectionPerCountry, nodes, ...common });
    }),
  );
  // The coordinator-bound run's countries: one process replaying every country's answers (one of each).
  const startReplaying = async (): Promise<Worker> => {
    const replaying = new Worker("replaying countries");
    workers.push(replaying);
    await replaying.start({ role: "protocol-nodes", replay: true, nodes: nodeIdentities.map(toWire), ...common });
    return replaying;
  };
  const coordinatorWorker = async (identity: SigningIdentity, name: string) => {
    const worker = new Worker(name);
    workers.push(worker);
    const port = await worker.start({ role: "coordinator", natsUrl, ...(options.coordinatorKey ? { identity: toWire(identity) } : {}), ...trustWire });
    const client = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${port ?? 0}`, identity: trust.border, registry: trust.registry });
    return { worker, client, port: port ?? 0 };
  };
  const first = await coordinatorWorker(trust.coordinator, "coordinator 1");
  const hitCountry = options.countries[0];
  const outcomes = { checks: 0, withUnavailable: 0, wrongAnswers: 0 };
  // Per check, the coordinator's time from publishing to the last answer: the gathering's share of the latency.
  let gatherMs: number[] = [];
  // And to the first answer: how long one country's answer takes to come back, before the others queue behind it.
  let firstAnswerMs: number[] = [];
  // A traveller on one country's list: one hit (signed, as evidence) and a no-hit from every other country.
  // A country past the deadline is unavailable (counted); any other status than the expected one is wrong.
  const checkWith = (client: BorderClient) => async () => {
    const result = await client.check({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } });
    outcomes.checks += 1;
    gatherMs.push(Math.max(0, ...result.results.map((entry) => entry.ms)));
    firstAnswerMs.push(Math.min(...result.results.map((entry) => entry.ms)));
    if (result.results.some((entry) => entry.status === "unavailable")) outcomes.withUnavailable += 1;
    outcomes.wrongAnswers += result.results.filter((entry) => entry.status !== "unavailable" && entry.status !== (entry.country === hitCountry ? "hit" : "no_hit")).length;
  };
  try {
    const check = checkWith(first.client);
    await saturate(3000, [{ concurrency: 2, run: check }]); // warm-up: JIT, pair keys derived once per pair
    gatherMs = [];
    firstAnswerMs = [];
    const hostsCpu0 = await totalCpuMicros(hosts);
    // This process is the border system; at light load it does nothing else, so its CPU time is the client's.
    const clientCpu0 = cpuMicros();
    const light = await cpuPerCheck(first.worker, async () => ({ ...(await paced(options.lightChecks, options.lightRate, check)), checks: options.lightChecks }));
    const lightClientCpuUs = round((cpuMicros() - clientCpu0) / options.lightChecks, 1);
    const lightGather = summarise(gatherMs);
    const lightFirstAnswer = summarise(firstAnswerMs);
    const lightHostsCpuUs = round(((await totalCpuMicros(hosts)) - hostsCpu0) / options.lightChecks, 1);
    const answeredBefore = await Promise.all(hosts.map((host) => host.usage()));
    const saturated = await cpuPerCheck(first.worker, () => saturate(options.saturationMs, [{ concurrency: options.concurrency, run: check }]));
    const answeredAfter = await Promise.all(hosts.map((host) => host.usage()));
    const replicaShares = replicaSplit(options, hostedBy, answeredBefore, answeredAfter);

    const other = await coordinatorWorker(second, "coordinator 2");
    try {
      // The same warm-up as the first coordinator had: a cold one (JIT, pair keys) costs twice as much per check.
      await saturate(3000, [{ concurrency: 2, run: checkWith(other.client) }]);
      const half = Math.max(1, Math.floor(options.concurrency / 2));
      const before = await Promise.all([first.worker.usage(), other.worker.usage()]);
      const scaleOut = await saturate(options.saturationMs, [
        { concurrency: half, run: check },
        { concurrency: half, run: checkWith(other.client) },
      ]);
      const after = await Promise.all([first.worker.usage(), other.worker.usage()]);
      const cpu = after.reduce((sum, usage, index) => sum + usage.cpuMicros - (before[index]?.cpuMicros ?? 0), 0);
      const sustained = options.sustainedChecks > 0 ? await sustainedHeap(first.worker, check, options) : undefined;
      let coordinatorBound: CoordinatorBound | undefined;
      if (options.nodes === "protocol") {
        // One replaying process answers for every country once the hosts have stopped.
        await Promise.all(hosts.map((host) => host.stop()));
        const replaying = [await startReplaying()];
        const pool = Array.from({ length: 64 }, () => first.client.buildQuery({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } }).envelope);
        coordinatorBound = await measureCoordinatorBound(options, pool, hitCountry ?? "", first, other, replaying);
      }
      return {
        light,
        lightGather,
        lightFirstAnswer,
        lightHostsCpuUs,
        lightClientCpuUs,
        saturated,
        scaleOut: { ...scaleOut, cpuUsPerCheck: round(cpu / scaleOut.checks, 1) },
        replicaShares,
        sustained,
        outcomes,
        coordinatorBound,
      };
    } finally {
      other.client.close();
    }
  } finally {
    first.client.close();
  }
}

interface CoordinatorBound {
  one: Saturation & { cpuUsPerCheck: number; systemUsPerCheck: number; natsServerUsPerCheck: number; busyShare: number; hostsCpuUsPerCheck: number; loadCpuUsPerCheck: number };
  two: Saturation & { cpuUsPerCheck: number };
  /** One and two coordinators each held to the same CPU budget: undefined when not asked, "unavailable" without writable cgroups. */
  capped?: { cores: number; one: Saturation & { cpuUsPerCheck: number }; two: Saturation & { cpuUsPerCheck: number }; busyShares: number[] } | "unavailable";
  /** One coordinator with a core of its own (--pinned). */
  pinned?: PinnedRun;
  wrongAnswers: number;
}

/** A saturated run with the measured process alone on a core: "unavailable" without taskset or a second core. */
type PinnedRun = (Saturation & { cpuUsPerCheck: number; systemUsPerCheck: number; busyShare: number }) | "unavailable";

/**
 * `load` measured (CPU per check of `alone`) with `alone` pinned to a core of its own and `others`,
 * this process and nats-server to the remaining cores; every process may use every core again after.
 */
async function onCoreOfItsOwn(alone: Worker, others: readonly Worker[], load: () => Promise<Saturation>): Promise<PinnedRun> {
  const pids = [process.pid, natsServerPid, ...others.map((worker) => worker.pid ?? -1)].filter((pid) => pid > 0);
  const pinning = alone.pid === undefined ? undefined : await pinAlone(alone.pid, pids);
  if (!pinning) return "unavailable";
  try {
    return await cpuPerCheckAndBusyShare(alone, load);
  } finally {
    await pinning.release();
  }
}

/** cpuPerCheck, and the share of one core `worker` was busy for while `load` ran. */
async function cpuPerCheckAndBusyShare<T extends { checks: number }>(worker: Worker, load: () => Promise<T>) {
  const startedMs = performance.now();
  const measured = await cpuPerCheck(worker, load);
  return { ...measured, busyShare: round((measured.cpuUsPerCheck * measured.checks) / 1000 / (performance.now() - startedMs), 2) };
}

/** The lines of the --pinned runs, when they were asked for. */
function pinnedFigures(coordinator: PinnedRun | undefined, gatherer: PinnedRun | undefined, asked: boolean): Record<string, unknown> {
  if (!asked) return {};
  const line = (run: PinnedRun | undefined) =>
    run === undefined ? "n/a (coordinator-bound run needs --protocol-nodes)" : run === "unavailable" ? "n/a (needs taskset and 2 cores)" : `${run.perSecond}; ${run.cpuUsPerCheck} (${run.systemUsPerCheck}); ${run.busyShare}`;
  return {
    "pinned, coordinator-bound: checks/s; coordinator CPU us per check (kernel); its busy share of its core": line(coordinator),
    ...(typeof coordinator === "object" ? { "pinned, coordinator-bound: checks/s its core can serve": round(1e6 / coordinator.cpuUsPerCheck, 0) } : {}),
    "pinned, raw saturated: gathers/s; raw gatherer CPU us per gather (kernel); its busy share of its core": line(gatherer),
  };
}

/** The capped scale-out's lines, when it was asked for. */
function cappedFigures(capped: CoordinatorBound["capped"]): Record<string, unknown> {
  if (capped === undefined) return {};
  const label = "coordinator-bound, each coordinator capped (--coordinator-cpu)";
  if (capped === "unavailable") return { [label]: "n/a (no writable cgroup hierarchy: needs root)" };
  return {
    [`${label} at ${capped.cores} core: one / two checks/s, two / one`]: `${capped.one.perSecond} / ${capped.two.perSecond}, ${round(capped.two.perSecond / capped.one.perSecond, 2)}`,
    [`${label}: each one's share of a core with two`]: capped.busyShares.join(" / "),
    [`${label}: coordinator CPU us per check one, two`]: `${capped.one.cpuUsPerCheck}, ${capped.two.cpuUsPerCheck}`,
    [`${label}: p50/p99 ms one, two`]: `${capped.one.latency.p50Ms} / ${capped.one.latency.p99Ms}, ${capped.two.latency.p50Ms} / ${capped.two.latency.p99Ms}`,
  };
}

/**
 * The coordinator as the bottleneck, as the raw gatherer is in the raw run: the countries replay their
 * answers to a pool of signed queries (see replayAnswers in fanout-worker.ts), and this process sends
 * the pool over and over through a plain gRPC caller that reads each response with the wire reader and
 * checks every country's status, without verifying tags, so the border side costs little too. The
 * coordinator does all its usual work: it checks each query's tag, publishes it, verifies 196 answers
 * and writes the response.
 */
async function measureCoordinatorBound(
  options: Options,
  pool: SignedEnvelope[],
  hitCountry: string,
  first: { worker: Worker; port: number },
  second: { worker: Worker; port: number },
  hosts: readonly Worker[],
): Promise<CoordinatorBound> {
  const callers = [plainCaller(first.port), plainCaller(second.port)];
  const [hit, noHit] = [countryStatusNumber(CountryStatus.Hit), countryStatusNumber(CountryStatus.NoHit)];
  let wrongAnswers = 0;
  let next = 0;
  const checkWith = (caller: PlainCaller) => async () => {
    const results = await caller.check(pool[next++ % pool.length] as SignedEnvelope);
    wrongAnswers += results.filter(([country, status]) => status !== (country === hitCountry ? hit : noHit)).length;
    wrongAnswers += options.countries.length - results.length;
  };
  try {
    const [one, two] = callers.map(checkWith) as [Run, Run];
    await saturate(2000, [{ concurrency: options.concurrency, run: one }]); // every query of the pool answered once
    await saturate(2000, [{ concurrency: options.concurrency, run: two }]); // and the second coordinator as warm as the first
    wrongAnswers = 0;
    const saturateOne = () => saturate(options.saturationMs, [{ concurrency: options.concurrency, run: one }]);
    const hostsCpu0 = await totalCpuMicros(hosts);
    const loadCpu0 = cpuMicros();
    const single = await cpuPerCheckAndBusyShare(first.worker, saturateOne);
    const loadCpuUsPerCheck = round((cpuMicros() - loadCpu0) / Math.max(single.checks, 1), 1);
    const hostsCpuUsPerCheck = round(((await totalCpuMicros(hosts)) - hostsCpu0) / Math.max(single.checks, 1), 1);
    const half = Math.max(1, Math.floor(options.concurrency / 2));
    const before = await totalCpuMicros([first.worker, second.worker]);
    const both = await saturate(options.saturationMs, [
      { concurrency: half, run: one },
      { concurrency: half, run: two },
    ]);
    const cpu = (await totalCpuMicros([first.worker, second.worker])) - before;
    const capped = options.coordinatorCpu === undefined ? undefined : await cappedScaleOut(options.coordinatorCpu, options, [first.worker, second.worker], one, two);
    const pinned = options.pinned ? await onCoreOfItsOwn(first.worker, [second.worker, ...hosts], saturateOne) : undefined;
    return {
      one: { ...single, hostsCpuUsPerCheck, loadCpuUsPerCheck },
      two: { ...both, cpuUsPerCheck: round(cpu / Math.max(both.checks, 1), 1) },
      ...(capped === undefined ? {} : { capped }),
      ...(pinned === undefined ? {} : { pinned }),
      wrongAnswers,
    };
  } finally {
    for (const caller of callers) caller.close();
  }
}

/**
 * Scale-out where the coordinators are what limits: each coordinator process is capped at `cores` of
 * CPU time, first one alone, then two, each as loaded as the one was. On a machine whose other
 * processes leave no spare core for a second coordinator, this is how its effect can be shown.
 */
async function cappedScaleOut(cores: number, options: Options, coordinators: [Worker, Worker], one: Run, two: Run): Promise<CoordinatorBound["capped"]> {
  const caps: CpuCap[] = [];
  try {
    for (const worker of coordinators) {
      const cap = worker.pid === undefined ? undefined : await capCpu(worker.pid, cores);
      if (!cap) return "unavailable";
      caps.push(cap);
    }
    const single = await cpuPerCheck(coordinators[0], () => saturate(options.saturationMs, [{ concurrency: options.concurrency, run: one }]));
    // Each of the two gets as many checks in flight as the one alone had: with fewer, fewer answers
    // arrive per socket read, each costs more, and the comparison would measure that instead.
    const before = await Promise.all(coordinators.map((worker) => worker.usage()));
    const startedMs = performance.now();
    const both = await saturate(options.saturationMs, [
      { concurrency: options.concurrency, run: one },
      { concurrency: options.concurrency, run: two },
    ]);
    const after = await Promise.all(coordinators.map((worker) => worker.usage()));
    const elapsedMs = performance.now() - startedMs;
    // Each coordinator's share of a core while two served: close to `cores` when the cap is what limits.
    const used = after.map((usage, index) => usage.cpuMicros - (before[index]?.cpuMicros ?? 0));
    const busyShares = used.map((micros) => round(micros / 1000 / elapsedMs, 2));
    return {
      cores,
      one: single,
      two: { ...both, cpuUsPerCheck: round(used.reduce((sum, micros) => sum + micros, 0) / Math.max(both.checks, 1), 1) },
      busyShares,
    };
  } finally {
    await Promise.all(caps.map((cap) => cap.release()));
  }
}

interface PlainCaller {
  /** Each country's result as [country, CountryStatus number]. */
  check(envelope: SignedEnvelope): Promise<Array<[string, number]>>;
  close(): void;
}

/**
 * Each CountryResult's country and status (coordinator.proto: results = 2; country = 1, status = 2),
 * with the answers skipped unread: the load generator of the coordinator-bound run shares a core
 * with the replaying countries and nats-server, and reading 196 answer envelopes a check made it
 * the slowest of the three (about 0.9 ms a check), where the coordinator is meant to be what limits.
 */
function countryStatuses(bytes: Uint8Array): Array<[string, number]> {
  const reader = protobuf.Reader.create(bytes);
  const results: Array<[string, number]> = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag !== ((2 << 3) | 2)) {
      reader.skipType(tag & 7);
      continue;
    }
    const end = reader.uint32() + reader.pos;
    let country = "";
    let status = 0;
    while (reader.pos < end) {
      const field = reader.uint32();
      if (field === ((1 << 3) | 2)) country = reader.string();
      else if (field === 2 << 3) status = reader.uint32();
      else reader.skipType(field & 7);
    }
    results.push([country, status]);
  }
  return results;
}

/** Coordinator.Check with a query signed beforehand; only each country's status is read from the response, its answers not verified. */
function plainCaller(port: number): PlainCaller {
  const Constructor = watchmeshGrpcPackage()["Coordinator"] as unknown as (new (address: string, credentials: ChannelCredentials) => Client) & {
    service: { Check: { path: string; requestSerialize: (value: unknown) => Buffer } };
  };
  const method = Constructor.service.Check;
  const client = new Constructor(`127.0.0.1:${port}`, grpcCredentials.createInsecure());
  return {
    check: (envelope) =>
      new Promise((resolve, reject) => {
        const request = { query: envelope, deadlineMs: 0, countries: [] };
        client.makeUnaryRequest(method.path, method.requestSerialize, countryStatuses, request, new Metadata(), { deadline: Date.now() + 10_000 }, (error, response) => {
          if (error || !response) reject(error ?? new Error("empty response"));
          else resolve(response);
        });
      }),
    close: () => client.close(),
  };
}

/** Share of each replicated country's answers taken by each of its replicas during the saturated run. */
function replicaSplit(
  options: Options,
  hostedBy: SigningIdentity[][],
  before: WorkerUsage[],
  after: WorkerUsage[],
): Record<string, string> {
  const shares: Record<string, string> = {};
  for (const country of options.countries.slice(0, options.replicated)) {
    const counts: number[] = [];
    hostedBy.forEach((identities, host) =>
      identities.forEach((identity, slot) => {
        if (identity.country === country) counts.push((after[host]?.answered[slot] ?? 0) - (before[host]?.answered[slot] ?? 0));
      }),
    );
    const total = counts.reduce((sum, count) => sum + count, 0);
    shares[country] = counts.map((count) => `${Math.round((100 * count) / Math.max(total, 1))}%`).join(" / ");
  }
  return shares;
}

/** The coordinator's heap after a full GC at each fifth of a long run at moderate concurrency. */
async function sustainedHeap(worker: Worker, check: Run, options: Options): Promise<string> {
  const marks = [(await worker.usage({ gc: true })).heapMb];
  const fifth = Math.ceil(options.sustainedChecks / 5);
  for (let part = 0; part < 5; part++) {
    let remaining = fifth;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (remaining-- > 0) await check();
      }),
    );
    marks.push((await worker.usage({ gc: true })).heapMb);
  }
  return `${marks.join(" → ")} (after 0, 20, 40, 60, 80, 100% of ${options.sustainedChecks} checks)`;
}

async function measureRaw(options: Options, natsUrl: string, workers: Worker[]) {
  const responders = Array.from({ length: options.nodeProcesses }, (_, index) => new Worker(`raw responders ${index}`));
  const gatherer = new Worker("raw gatherer");
  workers.push(...responders, gatherer);
  await Promise.all(
    responders.map((worker, index) =>
      worker.start({ role: "raw-responders", natsUrl, connectionPerCountry: options.connectionPerCountry, countries: options.countries.filter((_, position) => position % options.nodeProcesses === index) }),
    ),
  );
  const grpcPort = await gatherer.start({ role: "raw-gatherer", natsUrl, countries: options.countries.length });
  const asker = await connect({ servers: natsUrl });
  const RawClient = makeGenericClientConstructor(RAW_GRPC_SERVICE, "RawGatherer");
  const grpcAsker = new RawClient(`127.0.0.1:${grpcPort ?? 0}`, grpcCredentials.createInsecure()) as unknown as Client & {
    Gather(request: Buffer, metadata: Metadata, options: { deadline: number }, callback: (error: Error | null) => void): void;
  };
  try {
    const payload = new Uint8Array(300);
    const gather = async () => void (await asker.request(RAW_CHECK_SUBJECT, payload, { timeout: 5000 }));
    // As large as a check request: the query and a tag record for each country.
    const checkSized = Buffer.alloc(300 + 20 * options.countries.length);
    const gatherOverGrpc = () =>
      new Promise<void>((resolve, reject) =>
        grpcAsker.Gather(checkSized, new Metadata(), { deadline: Date.now() + 5000 }, (error) => (error ? reject(error) : resolve())),
      );
    await saturate(2000, [{ concurrency: 4, run: gather }]);
    const respondersCpu0 = await totalCpuMicros(responders);
    const light = await cpuPerCheck(gatherer, async () => ({ ...(await paced(options.lightChecks, options.lightRate, gather)), checks: options.lightChecks }));
    const lightRespondersCpuUs = round(((await totalCpuMicros(responders)) - respondersCpu0) / options.lightChecks, 1);
    await saturate(2000, [{ concurrency: 4, run: gatherOverGrpc }]);
    const lightGrpc = await paced(options.lightChecks, options.lightRate, gatherOverGrpc);
    const saturated = await cpuPerCheck(gatherer, () => saturate(options.saturationMs, [{ concurrency: options.concurrency, run: gather }]));
    const pinned = options.pinned ? await onCoreOfItsOwn(gatherer, responders, () => saturate(options.saturationMs, [{ concurrency: options.concurrency, run: gather }])) : undefined;
    return { light, lightGrpc, lightRespondersCpuUs, saturated, pinned };
  } finally {
    grpcAsker.close();
    await asker.drain();
  }
}
