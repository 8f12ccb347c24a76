/**
 * Nodes on hosts of their own: each country node runs in a network namespace with its own address,
 * linked to this host by a veth pair, and reaches the NATS server across that link. Cutting a
 * country's link makes it unavailable while the others answer; restoring it brings the country back
 * without anyone acting on the node. Addresses come from 198.18.0.0/15 (RFC 2544, for testing) and
 * exist only inside the namespaces this test makes. Skipped, saying why, where namespaces are not
 * permitted (they need root and CAP_SYS_ADMIN).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BorderClient } from "../../client/border-client.ts";
import { loadIdentity, MeshLayout } from "../../client/cli/mesh-layout.ts";
import { silentLogger } from "../../common/logger.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { runCli, spawnCli, type CliProcess } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const TAG = `${process.pid % 100_000}`;
const SUBNET = 100 + (process.pid % 100);
const COUNTRIES = ["DEU", "ESP"] as const;

interface Host {
  country: string;
  netns: string;
  /** This host's end of the veth pair: set down to cut the country off. */
  hostLink: string;
  hostAddress: string;
  nodeAddress: string;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Whether this machine lets the test make namespaces (root with CAP_SYS_ADMIN, iproute2 present). */
function namespacesPermitted(): { ok: true } | { ok: false; why: string } {
  const probe = `wm-probe-${TAG}`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return { ok: true };
  } catch (error) {
    return { ok: false, why: error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error) };
  }
}

const permitted = namespacesPermitted();
if (!permitted.ok) {
  process.stderr.write(`[skipped] netns.test.ts: network namespaces are not permitted here (${permitted.why}); the multi-host test needs root with CAP_SYS_ADMIN and iproute2\n`);
}

function makeHost(country: string, index: number): Host {
  const host: Host = {
    country,
    netns: `wm-${TAG}-${country.toLowerCase()}`,
    hostLink: `wmh${TAG}${index}`.slice(0, 15),
    // A /30 per link: 198.18.<SUBNET>.<4i+1> here, .<4i+2> in the namespace.
    hostAddress: `198.18.${SUBNET}.${4 * index + 1}`,
    nodeAddress: `198.18.${SUBNET}.${4 * index + 2}`,
  };
  const nodeLink = `wmn${TAG}${index}`.slice(0, 15);
  ip("netns", "add", host.netns);
  ip("link", "add", host.hostLink, "type", "veth", "peer", "name", nodeLink);
  ip("link", "set", nodeLink, "netns", host.netns);
  ip("addr", "add", `${host.hostAddress}/30`, "dev", host.hostLink);
  ip("link", "set", host.hostLink, "up");
  ip("-n", host.netns, "addr", "add", `${host.nodeAddress}/30`, "dev", nodeLink);
  ip("-n", host.netns, "link", "set", nodeLink, "up");
  ip("-n", host.netns, "link", "set", "lo", "up");
  return host;
}

function removeHost(host: Host): void {
  try {
    ip("netns", "del", host.netns); // takes the node's veth end, and so the pair, with it
  } catch {
    // Already gone.
  }
  try {
    ip("link", "del", host.hostLink);
  } catch {
    // Went with the namespace.
  }
}

describe.skipIf(!permitted.ok)("country nodes on hosts of their own (network namespaces)", () => {
  const hosts: Host[] = [];
  const nodes: CliProcess[] = [];
  let nats: RunningNatsServer | undefined;
  let coordinator: Coordinator | undefined;
  let client: BorderClient | undefined;
  let temp: Awaited<ReturnType<typeof makeTempDir>> | undefined;

  beforeAll(async () => {
    temp = await makeTempDir();
    const meshDir = path.join(temp.path, "mesh");
    const init = await runCli(["mesh", "init", "--dir", meshDir, "--countries", COUNTRIES.join(","), "--border-country", "FRA"]);
    expect(init.code, init.stderr).toBe(0);
    COUNTRIES.forEach((country, index) => hosts.push(makeHost(country, index)));
    // One NATS server on this host, listening on every link's address (0.0.0.0 here is only loopback and the test's veths).
    nats = await startNatsServer({ extraArgs: ["-a", "0.0.0.0"] });
    const layout = new MeshLayout(meshDir);
    for (const host of hosts) {
      const node = spawnCli(
        [
          "node", "serve",
          "--data", layout.nodeDataDir(host.country),
          "--key", layout.nodeKeyFile(host.country),
          "--registry", layout.registryFile,
          "--root-key", layout.rootPublicKeyFile,
          "--nats", `nats://${host.hostAddress}:${nats.port}`,
        ],
        { netns: host.netns, env: { WATCHMESH_LOG_LEVEL: "warn" } },
      );
      nodes.push(node);
      await node.waitForOutput(new RegExp(`node ${host.country} serving`));
    }
    const registry = await layout.loadRegistry();
    coordinator = await Coordinator.start({
      registry,
      identity: await loadIdentity(layout.coordinatorKeyFile),
      natsServers: `nats://127.0.0.1:${nats.port}`,
      grpcAddress: "127.0.0.1:0",
      defaultDeadlineMs: 1000,
      logger: silentLogger(),
    });
    client = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${coordinator.grpcPort}`, identity: await loadIdentity(layout.borderKeyFile("FRA")), registry });
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await coordinator?.stop();
    for (const node of nodes) await node.kill("SIGKILL");
    await nats?.stop();
    for (const host of hosts) removeHost(host);
    await temp?.remove();
  });

  const statuses = async (): Promise<string[]> =>
    ((await client?.check({ person: { names: ["Niemand Unbekannt"], dob: "1990-01-01" } }))?.results ?? []).map((result) => `${result.country}:${result.status}`);

  it("reports a country cut off as unavailable while the others answer, and takes it back once its link returns", async () => {
    expect(await statuses()).toEqual(["DEU:no_hit", "ESP:no_hit"]);
    const deu = hosts[0];
    if (!deu) throw new Error("no DEU host");
    ip("link", "set", deu.hostLink, "down");
    try {
      expect(await statuses()).toEqual(["DEU:unavailable", "ESP:no_hit"]);
      expect(await statuses()).toEqual(["DEU:unavailable", "ESP:no_hit"]);
    } finally {
      ip("link", "set", deu.hostLink, "up");
    }
    // No one touches the node: its connection resumes (or reconnects) by itself. Bounded wait.
    const deadline = Date.now() + 60_000;
    let last: string[] = [];
    while (Date.now() < deadline) {
      last = await statuses();
      if (last[0] === "DEU:no_hit") break;
    }
    expect(last).toEqual(["DEU:no_hit", "ESP:no_hit"]);
  }, 120_000);
});
