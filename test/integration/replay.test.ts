import { credentials, type Client, type ServiceError } from "@grpc/grpc-js";
import { open as openLmdb } from "lmdb";
import { afterEach, describe, expect, it } from "vitest";
import { openAnswer, signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { silentLogger } from "../../common/logger.ts";
import { AnswerStatus, watchmeshGrpcPackage, type SignedEnvelope } from "../../common/proto.ts";
import { sha256 } from "../../common/signing.ts";
import { CountryNode, RecordStore, ReplayGuard } from "../../node/index.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeQuery } from "../helpers/queries.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

type NodeClient = Client & { Match: (req: SignedEnvelope, cb: (err: ServiceError | null, res?: SignedEnvelope) => void) => void };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function startNode(trust: TestTrust, dataDir: string): Promise<{ node: CountryNode; client: NodeClient }> {
  const identity = trust.nodes.get("BEL");
  if (!identity) throw new Error("missing identity");
  const node = await CountryNode.start({ identity, registry: trust.registry, dataDir, grpcAddress: "127.0.0.1:0", logger: silentLogger() });
  const Constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => NodeClient;
  const client = new Constructor(`127.0.0.1:${node.grpcPort}`, credentials.createInsecure());
  return { node, client };
}

function match(client: NodeClient, envelope: SignedEnvelope): Promise<SignedEnvelope> {
  return new Promise((resolve, reject) => client.Match(envelope, (error, response) => (error || !response ? reject(error ?? new Error("empty")) : resolve(response))));
}

describe("replayed queries", () => {
  it("are refused with QUERY_REPLAYED, also after the node restarts", async () => {
    const trust = await makeTrust(["BEL"]);
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const envelope = signQuery(makeQuery(), trust.border);
    const open = (answer: SignedEnvelope, query: SignedEnvelope = envelope) =>
      openAnswer(answer, trust.registry, { nowMs: Date.now(), expectedCountry: "BEL", expectedQueryDigest: sha256(query.payload), keyring: trust.borderKeyring });

    const first = await startNode(trust, dir.path);
    expect(open(await match(first.client, envelope)).status).toBe(AnswerStatus.NoHit);
    const replay = open(await match(first.client, envelope));
    expect(replay).toMatchObject({ status: AnswerStatus.Refused, errorCode: ErrorCode.QueryReplayed });
    // A fresh query from the same border system is answered normally.
    const fresh = signQuery(makeQuery(), trust.border);
    expect(open(await match(first.client, fresh), fresh).status).toBe(AnswerStatus.NoHit);
    first.client.close();
    await first.node.stop();

    const second = await startNode(trust, dir.path);
    cleanups.push(() => second.node.stop());
    cleanups.push(() => Promise.resolve(second.client.close()));
    expect(open(await match(second.client, envelope))).toMatchObject({ status: AnswerStatus.Refused, errorCode: ErrorCode.QueryReplayed });
  });
});

describe("ReplayGuard", () => {
  it("forgets a nonce once its query could no longer be accepted, and does not remember forgeries", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const store = await RecordStore.open({ path: dir.path });
    const guard = ReplayGuard.open(store, { clockSkewMs: 1000, nowMs: 0 });
    const nonce = new Uint8Array(16).fill(9);
    guard.check("FRA:border:k1", nonce, 10_000, 0);
    expect(() => guard.check("FRA:border:k1", nonce, 10_000, 5_000)).toThrow(expect.objectContaining({ code: ErrorCode.QueryReplayed }));
    // Another signer may use the same random bytes.
    guard.check("DEU:border:k2", nonce, 10_000, 5_000);
    // After expiry + skew the pair is no longer held (the query itself would be refused as expired).
    guard.check("FRA:border:k1", nonce, 30_000, 11_001);
    // Nonces are written in groups (within 100 ms, and on flush); a reopened store holds the live one only.
    await guard.flush();
    await store.close();
    const reopened = await RecordStore.open({ path: dir.path });
    cleanups.push(() => reopened.close());
    expect(ReplayGuard.open(reopened, { nowMs: 20_000 }).size).toBe(1);
  });

  /** The nonces database as it is on disk, read through a separate LMDB handle. */
  async function storedNonces(path: string): Promise<Map<string, unknown>> {
    const env = openLmdb({ path, maxDbs: 8, readOnly: true });
    try {
      const nonces = env.openDB<unknown, string>("nonces", { encoding: "json" });
      return new Map(Array.from(nonces.getRange(), ({ key, value }) => [key, value]));
    } finally {
      await env.close();
    }
  }

  it("stores nonces by expiry and drops expired ones with the next group it writes", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const store = await RecordStore.open({ path: dir.path });
    const guard = ReplayGuard.open(store, { clockSkewMs: 0, nowMs: 0 });
    guard.check("FRA:border:k1", new Uint8Array(16).fill(1), 5_000, 0);
    guard.check("FRA:border:k1", new Uint8Array(16).fill(2), 50_000, 0);
    // Many more that run out before the next group is written: all are removed with it.
    for (let i = 0; i < 300; i++) guard.check("DEU:border:k2", Uint8Array.from({ length: 16 }, (_, byte) => (byte < 2 ? (i >> (8 * byte)) & 0xff : 5)), 1_000 + i, 0);
    await guard.flush();
    expect((await storedNonces(dir.path)).size).toBe(302);
    guard.check("FRA:border:k1", new Uint8Array(16).fill(3), 60_000, 6_000);
    await guard.flush();
    await store.close();
    // The first nonce ran out at 5,000; the group written at 6,000 removed it.
    expect([...(await storedNonces(dir.path)).keys()]).toEqual([
      `000000000050000/FRA:border:k1:${"02".repeat(16)}`,
      `000000000060000/FRA:border:k1:${"03".repeat(16)}`,
    ]);
  });

  it("forgets expired nonces in memory after a sweep, keeping those still in force", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const store = await RecordStore.open({ path: dir.path });
    cleanups.push(() => store.close());
    const guard = ReplayGuard.open(store, { clockSkewMs: 0, nowMs: 0 });
    const nonce = (i: number) => new Uint8Array(16).fill(0).map((_, byte) => (byte < 4 ? (i >> (8 * byte)) & 0xff : 7));
    for (let i = 0; i < 1000; i++) guard.check("FRA:border:k1", nonce(i), 1_000, 0);
    // Seen again after its expiry: held until its new time, not dropped with the old second.
    guard.check("FRA:border:k1", nonce(0), 90_000, 2_000);
    expect(guard.size).toBe(1000);
    // The sweep runs every 1,024 new nonces.
    for (let i = 1000; i < 1023; i++) guard.check("FRA:border:k1", nonce(i), 90_000, 2_000);
    expect(guard.size).toBe(24);
    expect(() => guard.check("FRA:border:k1", nonce(0), 90_000, 3_000)).toThrow(expect.objectContaining({ code: ErrorCode.QueryReplayed }));
    await guard.flush();
  });

  it("reads nonces kept by earlier versions under their key alone, and rewrites the live ones", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    await (await RecordStore.open({ path: dir.path })).close();
    const legacyKey = (fill: number) => `FRA:border:k1:${fill.toString(16).padStart(2, "0").repeat(16)}`;
    const env = openLmdb({ path: dir.path, maxDbs: 8 });
    const nonces = env.openDB<number, string>("nonces", { encoding: "json" });
    await nonces.put(legacyKey(1), 5_000);
    await nonces.put(legacyKey(2), 50_000);
    await env.close();

    const store = await RecordStore.open({ path: dir.path });
    const guard = ReplayGuard.open(store, { nowMs: 10_000 });
    expect(guard.size).toBe(1);
    expect(() => guard.check("FRA:border:k1", new Uint8Array(16).fill(2), 50_000, 10_000)).toThrow(expect.objectContaining({ code: ErrorCode.QueryReplayed }));
    guard.check("FRA:border:k1", new Uint8Array(16).fill(1), 50_000, 10_000);
    await guard.flush();
    await store.close();
    expect(await storedNonces(dir.path)).toEqual(
      new Map([
        [`000000000050000/${legacyKey(2)}`, 50_000],
        [`000000000080000/${legacyKey(1)}`, 80_000],
      ]),
    );
  });
});
