import { credentials, type Client, type ServiceError } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { loadPackageDefinition } from "@grpc/grpc-js";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAnswer, signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { createIdentity, MemberRole } from "../../common/key-files.ts";
import { silentLogger } from "../../common/logger.ts";
import { AnswerStatus, Purpose, watchmeshGrpcPackage, type MatchQuery, type SignedEnvelope } from "../../common/proto.ts";
import { sha256 } from "../../common/signing.ts";
import { CountryNode } from "../../node/index.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

let trust: TestTrust;
let node: CountryNode;
let removeDir: () => Promise<void>;
let client: Client & { Match: (req: SignedEnvelope, cb: (err: ServiceError | null, res?: SignedEnvelope) => void) => void };

beforeAll(async () => {
  trust = await makeTrust(["ITA"], "FRA");
  const dir = await makeTempDir();
  removeDir = dir.remove;
  const identity = trust.nodes.get("ITA");
  if (!identity) throw new Error("missing identity");
  node = await CountryNode.start({ identity, registry: trust.registry, dataDir: dir.path, grpcAddress: "127.0.0.1:0", logger: silentLogger() });
  await node.store.upsert({
    kind: "person",
    id: "ITA-P-7",
    names: ["Giuseppe Verdi"],
    dob: "1981-10-10",
    documents: [{ type: "id_card", number: "CA00000AA", country: "ITA" }],
    action: "specific_check",
  });
  const Constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => typeof client;
  client = new Constructor(`127.0.0.1:${node.grpcPort}`, credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await node?.stop();
  await removeDir?.();
});

function query(): MatchQuery {
  return makeQuery({
    queryId: "direct-1",
    purpose: Purpose.Investigation,
    legalBasis: "bilateral agreement",
    person: personSubject({ documents: [{ type: "id_card", number: "CA00000AA", country: "ITA" }] }),
  });
}

function match(envelope: SignedEnvelope): Promise<SignedEnvelope> {
  return new Promise((resolve, reject) => client.Match(envelope, (error, response) => (error || !response ? reject(error ?? new Error("empty response")) : resolve(response))));
}

describe("CountryNode.Match over gRPC (country to country)", () => {
  it("answers a signed query with a signed hit the requester can verify", async () => {
    const envelope = signQuery(query(), trust.border);
    const answerEnvelope = await match(envelope);
    const answer = openAnswer(answerEnvelope, trust.registry, { nowMs: Date.now(), expectedCountry: "ITA", expectedQueryDigest: sha256(envelope.payload), keyring: trust.borderKeyring });
    expect(answer.status).toBe(AnswerStatus.Hit);
    expect(answer.queryId).toBe("direct-1");
    expect(answer.hits[0]?.action).toBe("REQUESTED_ACTION_SPECIFIC_CHECK");
    expect(answer.nodeElapsedUs).toBeGreaterThan(0);
  });

  it("refuses a query signed by an unknown key", async () => {
    const stranger = createIdentity(MemberRole.Border, "FRA", "border-police");
    const envelope = signQuery(query(), stranger);
    const answerEnvelope = await match(envelope);
    const answer = openAnswer(answerEnvelope, trust.registry, { nowMs: Date.now(), expectedCountry: "ITA", expectedQueryDigest: sha256(envelope.payload), keyring: trust.borderKeyring });
    expect(answer.status).toBe(AnswerStatus.Refused);
    expect(answer.errorCode).toBe(ErrorCode.UnknownSigner);
    expect(answer.hits).toHaveLength(0);
  });

  it("refuses an oversized request at the transport with RESOURCE_EXHAUSTED", async () => {
    const envelope = signQuery(query(), trust.border);
    const oversized = { ...envelope, payload: new Uint8Array(200 * 1024) };
    await expect(match(oversized)).rejects.toMatchObject({ code: 8 });
    const stats = node.store.stats();
    expect(stats.persons).toBe(1);
  });

  it("serves the standard gRPC health service", async () => {
    const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
    const health = (loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & { Check: (req: object, cb: (e: ServiceError | null, r?: { status: string }) => void) => void } } } } }).grpc.health.v1.Health;
    const healthClient = new health(`127.0.0.1:${node.grpcPort}`, credentials.createInsecure());
    try {
      const status = await new Promise<string | undefined>((resolve, reject) =>
        healthClient.Check({ service: "watchmesh.v1.CountryNode" }, (error, response) => (error ? reject(error) : resolve(response?.status))),
      );
      expect(status).toBe("SERVING");
    } finally {
      healthClient.close();
    }
  });
});
