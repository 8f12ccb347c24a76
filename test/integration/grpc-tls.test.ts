import { chmodSync, copyFileSync } from "node:fs";
import path from "node:path";
import { credentials, type ChannelCredentials, type Client, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BorderClient } from "../../client/border-client.ts";
import { openAnswer, signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { AnswerStatus, watchmeshGrpcPackage, type SignedEnvelope } from "../../common/proto.ts";
import { sha256 } from "../../common/signing.ts";
import { makeQuery } from "../helpers/queries.ts";
import { loadClientTls, loadServerTls } from "../../common/grpc-tls.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

type TempDir = Awaited<ReturnType<typeof makeTempDir>>;
import { makeTestCertificates, type TestCertificates } from "../helpers/tls.ts";

let dir: TempDir;
let certs: TestCertificates;
let mesh: TestMesh;

beforeAll(async () => {
  dir = await makeTempDir();
  certs = makeTestCertificates(dir.path);
  const mutualTls = await loadServerTls({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.caCert });
  mesh = await startTestMesh({
    countries: ["DEU", "ESP"],
    coordinatorOptions: { grpcCredentials: mutualTls },
    // DEU also serves CountryNode.Match to other countries, over mutual TLS.
    nodeOptions: (country) => (country === "DEU" ? { grpcAddress: "127.0.0.1:0", grpcCredentials: mutualTls } : {}),
  });
});
afterAll(async () => {
  await mesh?.stop();
  await dir?.remove();
});

async function clientWith(channel: Parameters<typeof BorderClient.connect>[0]["credentials"]): Promise<BorderClient> {
  return BorderClient.connect({
    coordinatorAddress: `127.0.0.1:${mesh.coordinator.grpcPort}`,
    identity: mesh.trust.border,
    registry: mesh.trust.registry,
    ...(channel ? { credentials: channel } : {}),
  });
}

const traveller = { person: { names: ["Jean Dupont"], dob: "1980-05-01" } };

describe("gRPC over mutual TLS", () => {
  it("answers a border system that presents a certificate of the trusted CA", async () => {
    const client = await clientWith(await loadClientTls({ caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey }));
    try {
      const result = await client.check(traveller, { timeoutMs: 10_000 });
      expect(result.results.map((entry) => entry.status)).toEqual(["no_hit", "no_hit"]);
    } finally {
      client.close();
    }
  });

  it("refuses callers without a certificate, with one from another CA, and in plain text", async () => {
    const channels = [
      await loadClientTls({ caFile: certs.caCert }),
      await loadClientTls({ caFile: certs.caCert, certFile: certs.strangerCert, keyFile: certs.strangerKey }),
      credentials.createInsecure(),
    ];
    const answered = mesh.nodes.get("DEU")?.queriesAnswered;
    for (const channel of channels) {
      const client = await clientWith(channel);
      try {
        await expect(client.check(traveller, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCode.Unavailable });
      } finally {
        client.close();
      }
    }
    // Nothing reached the countries.
    expect(mesh.nodes.get("DEU")?.queriesAnswered).toBe(answered);
  });

  it("serves a node's CountryNode.Match to a caller with a trusted certificate", async () => {
    type NodeClient = Client & { Match: (request: SignedEnvelope, callback: (error: ServiceError | null, response?: SignedEnvelope) => void) => void };
    const Constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as new (address: string, channel: ChannelCredentials) => NodeClient;
    const node = new Constructor(
      `127.0.0.1:${mesh.nodes.get("DEU")?.grpcPort ?? 0}`,
      await loadClientTls({ caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey }),
    );
    try {
      const query = signQuery(makeQuery(), mesh.trust.border);
      const answer = await new Promise<SignedEnvelope>((resolve, reject) =>
        node.Match(query, (error, response) => (error || !response ? reject(error ?? new Error("empty")) : resolve(response))),
      );
      const opened = openAnswer(answer, mesh.trust.registry, {
        nowMs: Date.now(),
        expectedCountry: "DEU",
        expectedQueryDigest: sha256(query.payload),
        keyring: mesh.trust.borderKeyring,
      });
      expect(opened.status).toBe(AnswerStatus.NoHit);
    } finally {
      node.close();
    }
  });

  it("refuses a TLS private key that others can read, and a certificate without its key", async () => {
    const loose = path.join(dir.path, "loose.key");
    copyFileSync(certs.serverKey, loose);
    chmodSync(loose, 0o644);
    await expect(loadServerTls({ certFile: certs.serverCert, keyFile: loose })).rejects.toMatchObject({ code: ErrorCode.KeyFileInvalid });
    await expect(loadClientTls({ caFile: certs.caCert, certFile: certs.clientCert })).rejects.toMatchObject({ code: ErrorCode.ConfigInvalid });
  });
});
