/**
 * Federated check latency and throughput through the real coordinator, beside a raw NATS
 * scatter/gather with trivial responders in the same topology, in the same run.
 *
 * All parts share this process here (nodes, coordinator, border client), so CPU figures are for the
 * whole mesh per check, not the coordinator alone; the raw baseline is measured the same way.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { silentLogger } from "../common/logger.ts";
import { startNatsServer } from "../common/nats-server.ts";
import { Coordinator } from "../coordinator/index.ts";
import { CountryNode } from "../node/index.ts";
import { makeTrust } from "../test/helpers/identities.ts";
import { makeTempDir } from "../test/helpers/temp-dir.ts";
import { BorderClient } from "../client/border-client.ts";
import { argValue, cpuMicros, printFigures, round, summarise, benchCountryCodes } from "./stats.ts";

async function paced(count: number, perSecond: number, run: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  const intervalMs = 1000 / perSecond;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
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
  return samples;
}

async function saturate(durationMs: number, concurrency: number, run: () => Promise<void>): Promise<{ perSecond: number; cpuUsPerOp: number; latency: ReturnType<typeof summarise> }> {
  const samples: number[] = [];
  const endAt = performance.now() + durationMs;
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < endAt) {
        const started = performance.now();
        await run();
        samples.push(performance.now() - started);
      }
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  return { perSecond: round(samples.length / elapsedS, 1), cpuUsPerOp: round((cpuMicros() - cpu0) / samples.length, 1), latency: summarise(samples) };
}

/** Raw baseline: one publish, N trivial responders, answers gathered on one wildcard inbox. */
async function rawScatterGather(url: string, countries: string[]): Promise<{ gather: () => Promise<void>; close: () => Promise<void> }> {
  const responders: NatsConnection = await connect({ servers: url });
  const answer = new Uint8Array(160);
  for (const country of countries) {
    responders.subscribe("bench.raw.all", { queue: `raw-${country}`, callback: (_error, msg) => void msg.respond(answer) });
  }
  await responders.flush();
  const gatherer = await connect({ servers: url });
  const pending = new Map<string, { remaining: number; done: () => void }>();
  let next = 0;
  gatherer.subscribe("_INBOX.bench.*", {
    callback: (_error, msg) => {
      const entry = pending.get(msg.subject);
      if (entry && --entry.remaining === 0) {
        pending.delete(msg.subject);
        entry.done();
      }
    },
  });
  await gatherer.flush();
  const query = new Uint8Array(300);
  return {
    gather: () =>
      new Promise<void>((resolve) => {
        const inbox = `_INBOX.bench.${(next++).toString(36)}`;
        pending.set(inbox, { remaining: countries.length, done: resolve });
        gatherer.publish("bench.raw.all", query, { reply: inbox });
      }),
    close: async () => {
      await gatherer.drain();
      await responders.drain();
    },
  };
}

export async function runFanoutBench(args: string[], json: boolean): Promise<void> {
  const countryCount = argValue(args, "--countries", 50);
  const lightChecks = argValue(args, "--light-checks", 200);
  const lightRate = argValue(args, "--light-rate", 50);
  const saturationMs = argValue(args, "--saturation-ms", 5000);
  const concurrency = argValue(args, "--concurrency", 32);
  const countries = benchCountryCodes(countryCount);

  const nats = await startNatsServer();
  const temp = await makeTempDir("watchmesh-bench-");
  const trust = await makeTrust(countries);
  const nodes: CountryNode[] = [];
  let coordinator: Coordinator | undefined;
  let client: BorderClient | undefined;
  try {
    for (const country of countries) {
      const identity = trust.nodes.get(country);
      if (!identity) throw new Error("missing identity");
      const node = await CountryNode.start({ identity, registry: trust.registry, dataDir: `${temp.path}/${country}`, natsServers: nats.url, logger: silentLogger() });
      await node.store.upsert({ kind: "person", id: `${country}-1`, names: ["Jean Dupont"], dob: "1980-05-01", action: "discreet_check" });
      nodes.push(node);
    }
    coordinator = await Coordinator.start({ registry: trust.registry, natsServers: nats.url, grpcAddress: "127.0.0.1:0", logger: silentLogger() });
    client = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${coordinator.grpcPort}`, identity: trust.border, registry: trust.registry });
    const borderClient = client;
    const check = async () => {
      const result = await borderClient.check({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } });
      if (result.results.some((entry) => entry.status !== "hit")) throw new Error("a country did not answer hit during the benchmark");
    };
    await saturate(1000, 4, check); // warm-up
    const meshLight = summarise(await paced(lightChecks, lightRate, check));
    const meshSaturated = await saturate(saturationMs, concurrency, check);

    const raw = await rawScatterGather(nats.url, countries);
    await saturate(1000, 4, raw.gather);
    const rawLight = summarise(await paced(lightChecks, lightRate, raw.gather));
    const rawSaturated = await saturate(saturationMs, concurrency, raw.gather);
    await raw.close();

    printFigures(
      `fanout: ${countryCount} countries, one process (nodes + coordinator + client), real nats-server`,
      {
        "light load (checks/s)": lightRate,
        "mesh light p50/p99 ms": `${meshLight.p50Ms} / ${meshLight.p99Ms}`,
        "raw light p50/p99 ms": `${rawLight.p50Ms} / ${rawLight.p99Ms}`,
        "p50 ratio mesh/raw": round(meshLight.p50Ms / rawLight.p50Ms, 2),
        "mesh saturated checks/s": meshSaturated.perSecond,
        "raw saturated gathers/s": rawSaturated.perSecond,
        "mesh saturated p50/p99 ms": `${meshSaturated.latency.p50Ms} / ${meshSaturated.latency.p99Ms}`,
        "raw saturated p50/p99 ms": `${rawSaturated.latency.p50Ms} / ${rawSaturated.latency.p99Ms}`,
        "mesh CPU us per check (all parts)": meshSaturated.cpuUsPerOp,
        "raw CPU us per gather (all parts)": rawSaturated.cpuUsPerOp,
        "CPU ratio mesh/raw": round(meshSaturated.cpuUsPerOp / rawSaturated.cpuUsPerOp, 1),
      },
      json,
    );
  } finally {
    client?.close();
    await coordinator?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    await nats.stop();
    await temp.remove();
  }
}
