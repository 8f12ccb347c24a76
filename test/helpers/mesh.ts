import path from "node:path";
import { silentLogger, type Logger } from "../../common/logger.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { BorderClient } from "../../client/border-client.ts";
import { Coordinator, type CoordinatorOptions } from "../../coordinator/index.ts";
import type { RegistryMember } from "../../common/registry.ts";
import { CountryNode, type CountryNodeOptions, type NativeRecord } from "../../node/index.ts";
import { makeTrust, type TestTrust } from "./identities.ts";
import { makeTempDir } from "./temp-dir.ts";

export interface TestMeshOptions {
  /** Countries in the registry. */
  countries: string[];
  /** Countries whose node is not started (registered but down). */
  offline?: string[];
  records?: Record<string, NativeRecord[]>;
  defaultDeadlineMs?: number;
  /** Run nats-server with JetStream (hit notifications). */
  jetstream?: boolean;
  /** Extra options for a country's node. */
  nodeOptions?: (country: string) => Partial<CountryNodeOptions>;
  /** Further registry members (e.g. a second border system), besides the nodes and FRA's border system. */
  extraMembers?: RegistryMember[];
  /** Further nats-server arguments, e.g. ["-c", file] for a config with a lower max_payload. */
  natsExtraArgs?: string[];
  /** Extra options for the coordinator (e.g. NATS credentials). */
  coordinatorOptions?: Partial<CoordinatorOptions>;
  /** Logger of the nodes and the coordinator (default silent); nodeOptions/coordinatorOptions still override it. */
  logger?: Logger;
}

export interface TestMesh {
  nats: RunningNatsServer;
  trust: TestTrust;
  nodes: Map<string, CountryNode>;
  coordinator: Coordinator;
  client: BorderClient;
  dataDir(country: string): string;
  stop(): Promise<void>;
}

/**
 * A real mesh on loopback: nats-server on a free port, one CountryNode per online country (LMDB in a
 * temp dir, gRPC on 127.0.0.1:0), the coordinator, and a border client. `stop()` tears it all down.
 */
export async function startTestMesh(options: TestMeshOptions): Promise<TestMesh> {
  const trust = await makeTrust(options.countries, "FRA", options.extraMembers ?? []);
  const temp = await makeTempDir("watchmesh-mesh-");
  const nodes = new Map<string, CountryNode>();
  let nats: RunningNatsServer | undefined;
  let coordinator: Coordinator | undefined;
  let client: BorderClient | undefined;
  const dataDir = (country: string) => path.join(temp.path, country);
  const stop = async () => {
    client?.close();
    await coordinator?.stop();
    await Promise.all([...nodes.values()].map((node) => node.stop()));
    await nats?.stop();
    await temp.remove();
  };
  try {
    nats = await startNatsServer({ jetstream: options.jetstream ?? false, ...(options.natsExtraArgs ? { extraArgs: options.natsExtraArgs } : {}) });
    for (const country of options.countries) {
      if (options.offline?.includes(country)) continue;
      const identity = trust.nodes.get(country);
      if (!identity) throw new Error(`no identity for ${country}`);
      const node = await CountryNode.start({
        identity,
        registry: trust.registry,
        dataDir: dataDir(country),
        natsServers: nats.url,
        grpcAddress: "127.0.0.1:0",
        logger: options.logger ?? silentLogger(),
        ...options.nodeOptions?.(country),
      });
      nodes.set(country, node);
      for (const record of options.records?.[country] ?? []) await node.store.upsert(record);
    }
    coordinator = await Coordinator.start({
      registry: trust.registry,
      identity: trust.coordinator,
      natsServers: nats.url,
      grpcAddress: "127.0.0.1:0",
      logger: options.logger ?? silentLogger(),
      ...(options.defaultDeadlineMs ? { defaultDeadlineMs: options.defaultDeadlineMs } : {}),
      ...options.coordinatorOptions,
    });
    client = await BorderClient.connect({
      coordinatorAddress: `127.0.0.1:${coordinator.grpcPort}`,
      identity: trust.border,
      registry: trust.registry,
    });
    return { nats, trust, nodes, coordinator, client, dataDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
