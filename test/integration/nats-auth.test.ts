import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { silentLogger } from "../../common/logger.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { CountryNode } from "../../node/index.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

let nats: RunningNatsServer;
let trust: TestTrust;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ extraArgs: ["--user", "node-PRT", "--pass", "s3cret-for-tests"] });
  trust = await makeTrust(["PRT"]);
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await nats?.stop();
});

async function startNode(auth: { user: string; password: string } | undefined): Promise<CountryNode> {
  const dir = await makeTempDir();
  cleanups.push(dir.remove);
  const identity = trust.nodes.get("PRT");
  if (!identity) throw new Error("missing identity");
  return CountryNode.start({
    identity,
    registry: trust.registry,
    dataDir: dir.path,
    natsServers: nats.url,
    ...(auth ? { natsAuth: auth } : {}),
    logger: silentLogger(),
  });
}

describe("NATS authentication", () => {
  it("a node connects with its user and password", async () => {
    const node = await startNode({ user: "node-PRT", password: "s3cret-for-tests" });
    cleanups.push(() => node.stop());
    expect(node.country).toBe("PRT");
  });

  it("wrong or missing credentials fail with a clear UNAVAILABLE error, and the store is closed again", async () => {
    await expect(startNode({ user: "node-PRT", password: "wrong" })).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    await expect(startNode(undefined)).rejects.toMatchObject({ code: ErrorCode.Unavailable, message: expect.stringMatching(/cannot connect to NATS/) });
  });
});
