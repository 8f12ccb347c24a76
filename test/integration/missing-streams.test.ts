import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { CountryNode } from "../../node/index.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { pino } from "pino";
import { Writable } from "node:stream";

// A node's NATS user may not create streams (deploy/nats/accounts.conf); operators create them.
const CONFIG = `authorization {
  users = [ { user: "node", password: "node-pw", permissions: { publish: { deny: ["$JS.API.STREAM.CREATE.>"] } } } ]
}
`;

let server: RunningNatsServer;
let trust: TestTrust;
let dir: Awaited<ReturnType<typeof makeTempDir>>;

beforeAll(async () => {
  dir = await makeTempDir();
  const config = path.join(dir.path, "nats.conf");
  await writeFile(config, CONFIG);
  server = await startNatsServer({ jetstream: true, extraArgs: ["-c", config] });
  trust = await makeTrust(["DEU"]);
});
afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

describe("a node whose notification and follow-up streams do not exist yet", () => {
  it("starts and serves queries, without notifications or follow-ups, and says why", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString("utf8")), done()) });
    const identity = trust.nodes.get("DEU");
    if (!identity) throw new Error("missing identity");
    const node = await CountryNode.start({
      identity,
      registry: trust.registry,
      dataDir: path.join(dir.path, "DEU"),
      natsServers: server.url,
      natsAuth: { user: "node", password: "node-pw" },
      logger: pino({ level: "warn" }, sink),
    });
    try {
      expect(node.inbox).toBeUndefined();
      expect(node.followups).toBeUndefined();
      expect(lines.join("")).toMatch(/notification stream missing/);
      expect(lines.join("")).toMatch(/follow-up stream missing/);
    } finally {
      await node.stop();
    }
  });
});
