import { writeFile } from "node:fs/promises";
import path from "node:path";
import { credentials, type Client, type ServiceError } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openAnswer, signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { followFile, type FileFollower } from "../../common/file-follower.ts";
import { publicPart } from "../../common/key-files.ts";
import { silentLogger } from "../../common/logger.ts";
import { AnswerStatus, Purpose, watchmeshGrpcPackage, type MatchAnswer, type SignedEnvelope } from "../../common/proto.ts";
import { sha256 } from "../../common/signing.ts";
import { memberFor, signRegistry, TrustRegistry } from "../../common/registry.ts";
import { CountryNode, SharingPolicy, type PersonRecord, type SharingPolicyDocument } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";

const suspect: PersonRecord = {
  kind: "person",
  id: "DEU-P-1",
  names: ["Jean Dupont"],
  dob: "1980-05-01",
  documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }],
  action: "discreet_check",
};
const bySuspectName = { person: { names: ["Jean Dupont"], dob: "1980-05-01" } };

/** DEU shares with the French border police, for border checks, on persons and documents, 3 a day. */
const deuPolicy: SharingPolicyDocument = {
  format: "watchmesh-sharing-policy/v1",
  rules: [{ countries: ["FRA"], agencies: ["border-police"], purposes: ["border_check"], categories: ["person", "document"], dailyQuota: 3 }],
};

let mesh: TestMesh;
let followers: FileFollower[];

beforeEach(async () => {
  mesh = await startTestMesh({ countries: ["DEU", "ESP"], records: { DEU: [suspect] } });
  mesh.nodes.get("DEU")?.updateSharingPolicy(SharingPolicy.parse(JSON.stringify(deuPolicy)));
  followers = [];
});
afterEach(async () => {
  for (const follower of followers) follower.stop();
  await mesh.stop();
});

const resultOf = (results: { country: string; status: string; errorCode?: string }[], country: string) =>
  results.find((result) => result.country === country);

/** Resolves with the outcome of the next change the follower handles. */
function nextSettled(): { promise: Promise<{ applied: boolean; code?: string }>; onSettled: (outcome: { applied: boolean; code?: string }) => void } {
  let onSettled: (outcome: { applied: boolean; code?: string }) => void = () => undefined;
  const promise = new Promise<{ applied: boolean; code?: string }>((resolve) => (onSettled = resolve));
  return { promise, onSettled: (outcome) => onSettled(outcome) };
}

describe("sharing policy over the mesh (NATS)", () => {
  it("answers an allowed requester and purpose; refuses another purpose or category with a reason code", async () => {
    const allowed = await mesh.client.check(bySuspectName);
    expect(resultOf(allowed.results, "DEU")).toMatchObject({ status: "hit" });

    const investigation = await mesh.client.check(bySuspectName, { purpose: Purpose.Investigation });
    expect(resultOf(investigation.results, "DEU")).toMatchObject({ status: "refused", errorCode: ErrorCode.PolicyPurposeDenied });
    // ESP has no policy file: it shares with every member.
    expect(resultOf(investigation.results, "ESP")).toMatchObject({ status: "no_hit" });

    const entity = await mesh.client.check({ entity: { type: "phone", value: "+49 30 1234567" } });
    expect(resultOf(entity.results, "DEU")).toMatchObject({ status: "refused", errorCode: ErrorCode.PolicyCategoryDenied });
  });

  it("refuses a requester country the policy does not name", async () => {
    const onlySpain: SharingPolicyDocument = { ...deuPolicy, rules: [{ ...deuPolicy.rules[0]!, countries: ["ESP"] }] };
    mesh.nodes.get("DEU")?.updateSharingPolicy(SharingPolicy.parse(JSON.stringify(onlySpain)));
    const result = await mesh.client.check(bySuspectName);
    expect(resultOf(result.results, "DEU")).toMatchObject({ status: "refused", errorCode: ErrorCode.PolicyRequesterDenied });
  });

  it("counts a daily quota per requester, shows its exhaustion to the requester, and keeps the count over a restart", async () => {
    for (let i = 0; i < 3; i++) expect(resultOf((await mesh.client.check(bySuspectName)).results, "DEU")?.status).toBe("hit");
    const fourth = await mesh.client.check(bySuspectName);
    expect(resultOf(fourth.results, "DEU")).toMatchObject({ status: "refused", errorCode: ErrorCode.QuotaExhausted });
    // Denied queries are not counted against another country's node.
    expect(resultOf(fourth.results, "ESP")).toMatchObject({ status: "no_hit" });

    // The same node restarted on its store still knows today's count.
    const old = mesh.nodes.get("DEU");
    await old?.stop();
    const identity = mesh.trust.nodes.get("DEU");
    if (!identity) throw new Error("missing DEU identity");
    const restarted = await CountryNode.start({
      identity,
      registry: mesh.trust.registry,
      dataDir: mesh.dataDir("DEU"),
      natsServers: mesh.nats.url,
      sharingPolicy: SharingPolicy.parse(JSON.stringify(deuPolicy)),
      logger: silentLogger(),
    });
    mesh.nodes.set("DEU", restarted);
    const afterRestart = await mesh.client.check(bySuspectName);
    expect(resultOf(afterRestart.results, "DEU")).toMatchObject({ status: "refused", errorCode: ErrorCode.QuotaExhausted });
  });

  it("applies a new policy file within seconds, and keeps the old one when the new file is invalid", async () => {
    const file = path.join(mesh.dataDir("DEU"), "..", "deu-policy.json");
    await writeFile(file, JSON.stringify(deuPolicy));
    const node = mesh.nodes.get("DEU");
    if (!node) throw new Error("missing DEU node");
    let settled = nextSettled();
    followers.push(
      followFile({
        path: file,
        what: "sharing policy",
        logger: silentLogger(),
        intervalMs: 100,
        load: (p) => SharingPolicy.load(p),
        apply: (policy) => node.updateSharingPolicy(policy),
        onSettled: (outcome) => settled.onSettled(outcome),
      }),
    );
    await writeFile(file, JSON.stringify({ ...deuPolicy, rules: [{ ...deuPolicy.rules[0]!, purposes: ["investigation"] }] }));
    expect(await settled.promise).toEqual({ applied: true });
    expect(resultOf((await mesh.client.check(bySuspectName)).results, "DEU")).toMatchObject({ errorCode: ErrorCode.PolicyPurposeDenied });

    settled = nextSettled();
    await writeFile(file, JSON.stringify({ format: "watchmesh-sharing-policy/v1", rules: [{ countries: ["FRANCE"] }] }));
    expect(await settled.promise).toEqual({ applied: false, code: ErrorCode.ConfigInvalid });
    const stillInvestigationOnly = await mesh.client.check(bySuspectName, { purpose: Purpose.Investigation });
    expect(resultOf(stillInvestigationOnly.results, "DEU")).toMatchObject({ status: "hit" });
  });
});

/** Sends a signed query to a node's CountryNode.Match over gRPC and returns the answer it signed, verified. */
async function matchOverGrpc(node: CountryNode | undefined, envelope: SignedEnvelope): Promise<MatchAnswer> {
  const signed = await sendOverGrpc(node, envelope);
  return openAnswer(signed, node?.registry ?? mesh.trust.registry, { nowMs: Date.now(), expectedCountry: node?.country ?? "", expectedQueryDigest: sha256(envelope.payload), keyring: mesh.trust.borderKeyring });
}

async function sendOverGrpc(node: CountryNode | undefined, envelope: SignedEnvelope): Promise<SignedEnvelope> {
  type MatchClient = Client & { Match: (req: SignedEnvelope, cb: (err: ServiceError | null, res?: SignedEnvelope) => void) => void };
  const Constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => MatchClient;
  const client = new Constructor(`127.0.0.1:${node?.grpcPort}`, credentials.createInsecure());
  try {
    return await new Promise<SignedEnvelope>((resolve, reject) =>
      client.Match(envelope, (error, response) => (error || !response ? reject(error ?? new Error("empty response")) : resolve(response))),
    );
  } finally {
    client.close();
  }
}

describe("sharing policy over gRPC (country to country)", () => {
  it("refuses a direct CountryNode.Match query the policy does not allow, in a signed answer", async () => {
    const node = mesh.nodes.get("DEU");
    const denied = signQuery(makeQuery({ purpose: Purpose.Analysis, person: personSubject({ names: ["Jean Dupont"], dob: "1980-05-01" }) }), mesh.trust.border);
    const answer = await matchOverGrpc(node, denied);
    expect(answer).toMatchObject({ status: AnswerStatus.Refused, errorCode: ErrorCode.PolicyPurposeDenied, hits: [] });
    const allowed = signQuery(makeQuery({ person: personSubject({ documents: suspect.documents ?? [] }) }), mesh.trust.border);
    expect((await matchOverGrpc(node, allowed)).status).toBe(AnswerStatus.Hit);
  });
});

describe("trust registry published to a file", () => {
  it("refuses a revoked border key at the coordinator and at every node within seconds, without a restart", async () => {
    const file = path.join(mesh.dataDir("DEU"), "..", "registry.json");
    await writeFile(file, mesh.trust.registryText);
    const rootKey = publicPart(mesh.trust.root);
    const load = (p: string) => TrustRegistry.load(p, rootKey);
    const targets = [mesh.coordinator, ...mesh.nodes.values()];
    const settled = targets.map(() => nextSettled());
    targets.forEach((target, i) =>
      followers.push(
        followFile({
          path: file,
          what: "trust registry",
          logger: silentLogger(),
          intervalMs: 100,
          load,
          apply: (registry) => target.updateRegistry(registry),
          onSettled: (outcome) => settled[i]?.onSettled(outcome),
        }),
      ),
    );
    expect(resultOf((await mesh.client.check(bySuspectName)).results, "DEU")?.status).toBe("hit");

    // Version 2 revokes the border system's key.
    const members = [...mesh.trust.nodes.values()].map((identity) => memberFor(publicPart(identity)));
    const border = memberFor(publicPart(mesh.trust.border));
    const revoked = { ...border, keys: border.keys.map((key) => ({ ...key, revoked: true })) };
    await writeFile(file, signRegistry({ format: "watchmesh-registry/v1", version: 2, issuedAt: new Date().toISOString(), members: [...members, revoked] }, mesh.trust.root));
    expect(await Promise.all(settled.map((s) => s.promise))).toEqual(targets.map(() => ({ applied: true })));

    await expect(mesh.client.check(bySuspectName)).rejects.toMatchObject({ code: ErrorCode.KeyNotValid });
    // A node asked directly (bypassing the coordinator) refuses it too.
    const envelope = signQuery(makeQuery({ person: personSubject({ names: ["Jean Dupont"], dob: "1980-05-01" }) }), mesh.trust.border);
    const answer = await matchOverGrpc(mesh.nodes.get("DEU"), envelope);
    expect(answer).toMatchObject({ status: AnswerStatus.Refused, errorCode: ErrorCode.KeyNotValid });
  });
});
