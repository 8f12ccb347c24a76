import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../common/logger.ts";
import { startNatsServer } from "../../common/nats-server.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { CountryNode } from "../../node/index.ts";
import { makeTrust } from "../helpers/identities.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe("shutdown while NATS is gone", () => {
  it("node and coordinator still stop, and stop() is idempotent", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const trust = await makeTrust(["IRL"]);
    const identity = trust.nodes.get("IRL");
    if (!identity) throw new Error("missing identity");
    const node = await CountryNode.start({ identity, registry: trust.registry, dataDir: dir.path, natsServers: nats.url, logger: silentLogger() });
    const coordinator = await Coordinator.start({ registry: trust.registry, natsServers: nats.url, grpcAddress: "127.0.0.1:0", logger: silentLogger() });
    await nats.stop();
    // Stopping does not wait for the lost server: were it to hang, the test's timeout would end it.
    await Promise.all([node.stop(), coordinator.stop()]);
    // Same promise, already settled.
    await node.stop();
    await coordinator.stop();
    // The store was closed: its files can be opened again by someone else.
    const { RecordStore } = await import("../../node/index.ts");
    const reopened = await RecordStore.open({ path: dir.path });
    expect(reopened.stats().persons).toBe(0);
    await reopened.close();
  }, 30_000);
});
