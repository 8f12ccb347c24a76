/**
 * Batch screening: a manifest of travellers checked in one CheckBatch call beside the same number of
 * single checks on the same mesh, in the same run (nodes, coordinator and border client in this
 * process, real nats-server). Both sides sign, verify and match the same kind of queries; the
 * difference is one fan-out (and one reply per country) instead of one per traveller.
 */
import { connect } from "@nats-io/transport-node";
import { silentLogger } from "../common/logger.ts";
import { startNatsServer } from "../common/nats-server.ts";
import { BorderClient, type CheckSubject } from "../client/border-client.ts";
import { Coordinator } from "../coordinator/index.ts";
import { CountryNode } from "../node/index.ts";
import { makeTrust } from "../test/helpers/identities.ts";
import { makeTempDir } from "../test/helpers/temp-dir.ts";
import { argValue, cpuMicros, printFigures, round, benchCountryCodes } from "./stats.ts";

function manifest(size: number): CheckSubject[] {
  // Every 100th traveller is on a watch list, so answers carry some hits.
  return Array.from({ length: size }, (_, index): CheckSubject =>
    index % 100 === 0
      ? { person: { names: ["Jean Dupont"], dob: "1980-05-01" } }
      : { person: { names: [`Traveller${index} Nobodyson`], dob: `19${50 + (index % 40)}-0${1 + (index % 9)}-1${index % 10}` } },
  );
}

async function timed(run: () => Promise<void>): Promise<{ ms: number; cpuMs: number }> {
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  await run();
  return { ms: round(performance.now() - t0, 1), cpuMs: round((cpuMicros() - cpu0) / 1000, 1) };
}

export async function runBatchBench(args: string[], json: boolean): Promise<void> {
  const countryCount = argValue(args, "--countries", 3);
  const travellers = argValue(args, "--travellers", 1000);
  const concurrency = argValue(args, "--concurrency", 32);
  const countries = benchCountryCodes(countryCount);

  const nats = await startNatsServer();
  const temp = await makeTempDir("watchmesh-bench-");
  const trust = await makeTrust(countries);
  const nodes: CountryNode[] = [];
  let coordinator: Coordinator | undefined;
  let client: BorderClient | undefined;
  const watcher = await connect({ servers: nats.url });
  try {
    for (const country of countries) {
      const identity = trust.nodes.get(country);
      if (!identity) throw new Error("missing identity");
      const node = await CountryNode.start({ identity, registry: trust.registry, dataDir: `${temp.path}/${country}`, natsServers: nats.url, logger: silentLogger() });
      await node.store.upsert({ kind: "person", id: `${country}-1`, names: ["Jean Dupont"], dob: "1980-05-01", action: "discreet_check" });
      nodes.push(node);
    }
    coordinator = await Coordinator.start({ registry: trust.registry, natsServers: nats.url, grpcAddress: "127.0.0.1:0", logger: silentLogger(), notifyHits: false });
    client = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${coordinator.grpcPort}`, identity: trust.border, registry: trust.registry });
    const borderClient = client;
    let published = 0;
    let replies = 0;
    watcher.subscribe("watchmesh.v1.match.>", { callback: () => void (published += 1) });
    watcher.subscribe("_INBOX.watchmesh.>", { callback: () => void (replies += 1) });
    await watcher.flush();
    const subjects = manifest(travellers);
    const expectAllAnswered = (statuses: string[]) => {
      if (statuses.some((status) => status === "unavailable" || status === "error")) throw new Error("a country did not answer during the benchmark");
    };

    // Warm-up: both paths once on a small manifest.
    await borderClient.checkBatch(subjects.slice(0, 50), { deadlineMs: 30_000 });
    await Promise.all(subjects.slice(0, 50).map((subject) => borderClient.check(subject, { deadlineMs: 30_000 })));

    await watcher.flush();
    published = 0;
    replies = 0;
    const batch = await timed(async () => {
      const result = await borderClient.checkBatch(subjects, { deadlineMs: 30_000 });
      expectAllAnswered(result.travellers.flatMap((traveller) => traveller.results.map((entry) => entry.status)));
    });
    await watcher.flush();
    const batchMessages = `${published} queries, ${replies} replies`;

    published = 0;
    replies = 0;
    const singles = await timed(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < subjects.length) {
            const subject = subjects[next++];
            if (!subject) break;
            const result = await borderClient.check(subject, { deadlineMs: 30_000 });
            expectAllAnswered(result.results.map((entry) => entry.status));
          }
        }),
      );
    });
    await watcher.flush();
    const singleMessages = `${published} queries, ${replies} replies`;

    printFigures(
      `batch: ${travellers} travellers, ${countryCount} countries, one process (nodes + coordinator + client), real nats-server`,
      {
        "one CheckBatch wall ms": batch.ms,
        [`singles wall ms (concurrency ${concurrency})`]: singles.ms,
        "wall ratio singles/batch": round(singles.ms / batch.ms, 2),
        "batch CPU ms (all parts)": batch.cpuMs,
        "singles CPU ms (all parts)": singles.cpuMs,
        "batch NATS messages": batchMessages,
        "singles NATS messages": singleMessages,
      },
      json,
    );
  } finally {
    await watcher.drain();
    client?.close();
    await coordinator?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    await nats.stop();
    await temp.remove();
  }
}
