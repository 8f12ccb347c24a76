import { createServer } from "node:net";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";

/** One member of a test cluster: the running server, its name, route and monitoring ports. */
export interface ClusterMember {
  name: string;
  server: RunningNatsServer;
  routePort: number;
  /** HTTP monitoring port (/connz, /routez, /jsz). */
  monitorPort: number;
  /** Kills the server at once (SIGKILL: no lame-duck mode, no goodbye to clients or routes). */
  kill(): void;
}

export interface NatsCluster {
  members: ClusterMember[];
  /** Client URLs of every member, for a client's `servers` list. */
  urls: string[];
  /** Stops every member still running and removes their storage. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `count` distinct free loopback TCP ports, as the OS hands them out: all are held open until all are
 * chosen (so none is handed out twice), then released for the caller to bind (a tiny race is accepted).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => {
              const address = server.address();
              resolve(typeof address === "object" && address ? address.port : 0);
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}

/**
 * A cluster of real nats-server processes on loopback: every member routes to every other (full mesh
 * of routes on free ports), with JetStream (a fresh store directory each) when asked, and monitoring
 * on a free port. Resolves once every member accepts clients; routes and the JetStream meta group
 * form shortly after, so callers wait for what they need (e.g. a replicated stream to be created).
 */
export async function startNatsCluster(options: { size?: number; jetstream?: boolean; clusterName?: string } = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const clusterName = options.clusterName ?? "watchmesh-test";
  const ports = await freePorts(2 * size);
  const routePorts = ports.slice(0, size);
  const monitorPorts = ports.slice(size);
  const members: ClusterMember[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((member) => member.server.stop()));
  };
  try {
    const started = await Promise.all(
      routePorts.map((routePort, index) => {
        const name = `n${index + 1}`;
        const routes = routePorts.filter((_, other) => other !== index).map((port) => `nats-route://127.0.0.1:${port}`);
        return startNatsServer({
          jetstream: options.jetstream ?? false,
          extraArgs: ["-n", name, "--cluster_name", clusterName, "--cluster", `nats://127.0.0.1:${routePort}`, "--routes", routes.join(","), "-m", String(monitorPorts[index])],
        }).then((server) => ({ name, server, routePort, monitorPort: monitorPorts[index] ?? 0 }));
      }),
    );
    for (const { name, server, routePort, monitorPort } of started) {
      members.push({
        name,
        server,
        routePort,
        monitorPort,
        kill: () => {
          try {
            process.kill(server.pid, "SIGKILL");
          } catch {
            // Already gone.
          }
        },
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return { members, urls: members.map((member) => member.server.url), stop: () => (stopping ??= stop()) };
}

/** The names of the clients connected to a member, from its /connz monitoring endpoint. */
export async function connectedClientNames(member: ClusterMember): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${member.monitorPort}/connz?limit=1024`, { signal: AbortSignal.timeout(2000) });
  const body = (await response.json()) as { connections?: { name?: string }[] };
  return (body.connections ?? []).map((connection) => connection.name ?? "");
}

/** How many routes a member has up, from /routez (0 while its monitoring port does not answer yet). */
export async function routeCount(member: ClusterMember): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${member.monitorPort}/routez`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { num_routes?: number };
    return body.num_routes ?? 0;
  } catch {
    return 0;
  }
}
