import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { silentLogger, type Logger } from "../../common/logger.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import type { TrustRegistry } from "../../common/registry.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { CountryNode, generateSampleRecords, importNdjson, RecordStore, sampleRecordsToNdjson, type ImportReport } from "../../node/index.ts";
import { loadIdentity, type MeshLayout } from "./mesh-layout.ts";

export interface LocalMeshOptions {
  layout: MeshLayout;
  countries: string[];
  borderCountry: string;
  /** Use this NATS server instead of starting one. */
  natsUrl?: string;
  logger?: Logger;
  /** Called per country while its sample data is imported. */
  onImportProgress?: (country: string, linesDone: number, bytesRead: number, totalBytes: number) => void;
  /** Called when a node has handled a hit notification (stored it, or found it stored). */
  onNotificationHandled?: (country: string, stored: boolean) => void;
}

export interface SampleDataOptions {
  persons: number;
  entities: number;
}

export interface RunningLocalMesh {
  readonly natsUrl: string;
  readonly registry: TrustRegistry;
  readonly nodes: CountryNode[];
  readonly coordinator: Coordinator;
  readonly coordinatorAddress: string;
  /** Stops coordinator, nodes and (if started here) nats-server, in that order. Idempotent. */
  stop(): Promise<void>;
}

/** Seed per country, so every run of the demo has the same sample data. */
export function sampleSeed(country: string): number {
  let seed = 0;
  for (const char of country) seed = seed * 31 + char.charCodeAt(0);
  return seed;
}

/** Generates each country's sample records as NDJSON and imports them into the country's LMDB store. */
export async function prepareSampleData(
  layout: MeshLayout,
  countries: string[],
  sample: SampleDataOptions,
  onProgress?: LocalMeshOptions["onImportProgress"],
): Promise<Map<string, ImportReport>> {
  await mkdir(path.join(layout.dir, "samples"), { recursive: true });
  const reports = new Map<string, ImportReport>();
  for (const country of countries) {
    const file = layout.sampleFile(country);
    const records = generateSampleRecords({ country, persons: sample.persons, entities: sample.entities, seed: sampleSeed(country) });
    await writeFile(file, sampleRecordsToNdjson(records));
    const store = await RecordStore.open({ path: layout.nodeDataDir(country) });
    try {
      const report = await importNdjson(
        store,
        { path: file },
        onProgress ? { onProgress: (p) => onProgress(country, p.lines, p.bytesRead, p.totalBytes ?? 0) } : {},
      );
      reports.set(country, report);
    } finally {
      await store.close();
    }
  }
  return reports;
}

/** Starts NATS (unless given), one node per country, and the coordinator, all on loopback. */
export async function startLocalMesh(options: LocalMeshOptions): Promise<RunningLocalMesh> {
  const logger = options.logger ?? silentLogger();
  const { layout } = options;
  const registry = await layout.loadRegistry();
  let natsServer: RunningNatsServer | undefined;
  const nodes: CountryNode[] = [];
  let coordinator: Coordinator | undefined;
  const cleanup = async () => {
    await coordinator?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    await natsServer?.stop();
  };
  try {
    let natsUrl = options.natsUrl;
    if (!natsUrl) {
      // With JetStream: hit notifications reach their owners durably.
      natsServer = await startNatsServer({ jetstream: true });
      natsUrl = natsServer.url;
    }
    for (const country of options.countries) {
      nodes.push(
        await CountryNode.start({
          identity: await loadIdentity(layout.nodeKeyFile(country)),
          registry,
          dataDir: layout.nodeDataDir(country),
          natsServers: natsUrl,
          grpcAddress: "127.0.0.1:0",
          logger,
          ...(options.onNotificationHandled ? { onNotificationHandled: ({ stored }: { stored: boolean }) => options.onNotificationHandled?.(country, stored) } : {}),
        }),
      );
    }
    // Meshes made before coordinators had keys have none: their nodes then sign every answer.
    const coordinatorIdentity = existsSync(layout.coordinatorKeyFile) ? await loadIdentity(layout.coordinatorKeyFile) : undefined;
    coordinator = await Coordinator.start({
      registry,
      ...(coordinatorIdentity ? { identity: coordinatorIdentity } : {}),
      natsServers: natsUrl,
      grpcAddress: "127.0.0.1:0",
      logger,
    });
    const coordinatorAddress = `127.0.0.1:${coordinator.grpcPort}`;
    await layout.writeState({
      natsUrl,
      coordinator: coordinatorAddress,
      nodes: nodes.map((node) => ({ country: node.country, grpc: `127.0.0.1:${node.grpcPort ?? 0}` })),
      borderCountry: options.borderCountry,
    });
    let stopping: Promise<void> | undefined;
    const running: RunningLocalMesh = {
      natsUrl,
      registry,
      nodes,
      coordinator,
      coordinatorAddress,
      stop: () => (stopping ??= cleanup()),
    };
    return running;
  } catch (error) {
    await cleanup();
    throw error;
  }
}
