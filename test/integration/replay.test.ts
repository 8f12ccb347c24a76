import { credentials, type Client, type ServiceError } from "@grpc/grpc-js";
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
});
