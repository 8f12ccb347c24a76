import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAnswer, signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { followFile } from "../../common/file-follower.ts";
import { createIdentity, MemberRole, publicPart } from "../../common/key-files.ts";
import { MAX_ENVELOPE_WIRE_BYTES } from "../../common/limits.ts";
import { silentLogger } from "../../common/logger.ts";
import { connectNats } from "../../common/nats-connection.ts";
import {
  AggregateDimension,
  AggregateStatus,
  AnswerStatus,
  decodeEnvelope,
  encodeEnvelope,
  Purpose,
  type AggregateAnswer,
  type AggregateQuery,
  type MatchAnswer,
} from "../../common/proto.ts";
import { signRegistry, TrustRegistry } from "../../common/registry.ts";
import { sha256 } from "../../common/signing.ts";
import { AGGREGATE_QUERY_KIND, KIND_HEADER, matchCountrySubject } from "../../common/subjects.ts";
import { openAggregateAnswer, signAggregateQuery } from "../../common/aggregate-query.ts";
import type { PersonRecord, StoreStats } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";

const suspect: PersonRecord = { kind: "person", id: "DEU-P-1", names: ["Jean Dupont"], dob: "1980-05-01", documents: [], action: "arrest" };

function aggregateQuery(): AggregateQuery {
  const month = new Date().toISOString().slice(0, 7);
  return {
    queryId: crypto.randomUUID(),
    requestingCountry: mesh.trust.analyst.country,
    requestingAgency: mesh.trust.analyst.agency,
    purpose: Purpose.Analysis,
    legalBasis: "test",
    issuedAtMs: Date.now(),
    expiresAtMs: Date.now() + 60_000,
    nonce: new Uint8Array(randomBytes(16)),
    fromMonth: month,
    toMonth: month,
    groupBy: [AggregateDimension.Month],
    categories: [],
    epsilon: 0,
  };
}

let mesh: TestMesh;
let connection: NatsConnection;
let before: StoreStats | undefined;

beforeAll(async () => {
  mesh = await startTestMesh({ countries: ["DEU"], records: { DEU: [suspect] } });
  connection = await connectNats({ servers: mesh.nats.url, name: "test-abuser" });
  before = mesh.nodes.get("DEU")?.store.stats();
});
afterAll(async () => {
  await connection.close();
  await mesh.stop();
});

/** Sends raw bytes to DEU over NATS and returns its signed, verified answer. */
async function sendRaw(bytes: Uint8Array): Promise<MatchAnswer> {
  const reply = await connection.request(matchCountrySubject("DEU"), bytes, { timeout: 5000 });
  return openAnswer(decodeEnvelope(reply.data), mesh.trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(bytes), keyring: mesh.trust.borderKeyring });
}

async function sendQuery(overrides: Parameters<typeof makeQuery>[0]): Promise<MatchAnswer> {
  const envelope = signQuery(makeQuery(overrides), mesh.trust.border);
  const reply = await connection.request(matchCountrySubject("DEU"), encodeEnvelope(envelope), { timeout: 5000 });
  return openAnswer(decodeEnvelope(reply.data), mesh.trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(envelope.payload), keyring: mesh.trust.borderKeyring });
}

describe("bad input and abuse", () => {
  it("answers each kind of bad query with a signed refusal and a typed code, counts it, and leaves the store untouched", async () => {
    const refused = (answer: MatchAnswer, code: string) => expect(answer).toMatchObject({ status: AnswerStatus.Refused, errorCode: code, hits: [] });

    // Not a protobuf message: 0xff bytes make a varint tag longer than ten bytes (random bytes sometimes decode).
    refused(await sendRaw(new Uint8Array(200).fill(0xff)), ErrorCode.MalformedMessage);
    refused(await sendRaw(new Uint8Array(MAX_ENVELOPE_WIRE_BYTES + 4096).fill(7)), ErrorCode.PayloadTooLarge);
    refused(await sendQuery({ person: personSubject({ mrz: ["P<DEUDUPONT<<JEAN<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "C01X00T471DEU8005019M3001017<<<<<<<<<<<<<<00"] }) }), ErrorCode.InvalidMrz);
    refused(await sendQuery({ person: personSubject({}) }), ErrorCode.InvalidArgument);
    // Signed by a key the registry does not list.
    const stranger = createIdentity(MemberRole.Border, "FRA", "border-police");
    const forged = signQuery(makeQuery(), stranger);
    const forgedReply = await connection.request(matchCountrySubject("DEU"), encodeEnvelope(forged), { timeout: 5000 });
    refused(
      openAnswer(decodeEnvelope(forgedReply.data), mesh.trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(forged.payload) }),
      ErrorCode.UnknownSigner,
    );

    expect(mesh.nodes.get("DEU")?.refusalCounts()).toMatchObject({
      [ErrorCode.MalformedMessage]: 1,
      [ErrorCode.PayloadTooLarge]: 1,
      [ErrorCode.InvalidMrz]: 1,
      [ErrorCode.InvalidArgument]: 1,
      [ErrorCode.UnknownSigner]: 1,
    });
    // Nothing was written: same counts, same generation, the record still there and found.
    expect(mesh.nodes.get("DEU")?.store.stats()).toEqual(before);
    expect(mesh.nodes.get("DEU")?.store.get("DEU-P-1")).toMatchObject(suspect);
    expect((await sendQuery({})).status).toBe(AnswerStatus.Hit);
  });

  it("answers bad aggregate queries with signed refusals and leaves the store untouched", async () => {
    const headers = natsHeaders();
    headers.set(KIND_HEADER, AGGREGATE_QUERY_KIND);
    const ask = async (bytes: Uint8Array): Promise<AggregateAnswer> => {
      const reply = await connection.request(matchCountrySubject("DEU"), bytes, { timeout: 5000, headers });
      return openAggregateAnswer(decodeEnvelope(reply.data), mesh.trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(bytes) });
    };
    const askQuery = async (overrides: Partial<AggregateQuery>, signer = mesh.trust.analyst): Promise<AggregateAnswer> => {
      const envelope = signAggregateQuery({ ...aggregateQuery(), ...overrides }, signer);
      const reply = await connection.request(matchCountrySubject("DEU"), encodeEnvelope(envelope), { timeout: 5000, headers });
      return openAggregateAnswer(decodeEnvelope(reply.data), mesh.trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(envelope.payload) });
    };
    const refused = (answer: AggregateAnswer, code: string) => expect(answer).toMatchObject({ status: AggregateStatus.Refused, errorCode: code, cells: [] });

    refused(await ask(new Uint8Array(200).fill(0xff)), ErrorCode.MalformedMessage);
    refused(await ask(new Uint8Array(MAX_ENVELOPE_WIRE_BYTES + 4096).fill(7)), ErrorCode.PayloadTooLarge);
    // A border system's key may check travellers but not ask for statistics.
    refused(await askQuery({ requestingAgency: mesh.trust.border.agency }, mesh.trust.border), ErrorCode.RoleNotAllowed);
    refused(await askQuery({ fromMonth: "2026-13" }), ErrorCode.InvalidArgument);
    refused(await askQuery({ fromMonth: "2000-01", toMonth: "2026-01" }), ErrorCode.InvalidArgument);
    refused(await askQuery({ purpose: Purpose.BorderCheck }), ErrorCode.InvalidArgument);
    refused(await askQuery({ epsilon: Number.NaN }), ErrorCode.InvalidArgument);
    refused(await askQuery({ categories: ["weapons"] }), ErrorCode.InvalidArgument);
    refused(await askQuery({ expiresAtMs: Date.now() - 120_000, issuedAtMs: Date.now() - 180_000 }), ErrorCode.QueryExpired);
    expect((await askQuery({})).status).toBe(AggregateStatus.Answered);
    expect(mesh.nodes.get("DEU")?.store.stats()).toEqual(before);
  });

  it("rejects unknown country codes at the coordinator with a typed error", async () => {
    await expect(mesh.client.check({ person: { names: ["Jean Dupont"] } }, { countries: ["ZZZ"] })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    expect(mesh.coordinator.rejectionCounts()).toMatchObject({ [ErrorCode.InvalidArgument]: 1 });
  });

  it("keeps the registry in force when a new one is signed by the wrong key", async () => {
    const file = path.join(mesh.dataDir("DEU"), "..", "registry.json");
    await writeFile(file, mesh.trust.registryText);
    const node = mesh.nodes.get("DEU");
    if (!node) throw new Error("DEU not running");
    let settle: (outcome: { applied: boolean; code?: string }) => void = () => undefined;
    const settled = new Promise<{ applied: boolean; code?: string }>((resolve) => (settle = resolve));
    const follower = followFile({
      path: file,
      what: "trust registry",
      logger: silentLogger(),
      intervalMs: 100,
      load: (p) => TrustRegistry.load(p, publicPart(mesh.trust.root)),
      apply: (registry) => node.updateRegistry(registry),
      onSettled: (outcome) => settle(outcome),
    });
    try {
      const impostorRoot = createIdentity(MemberRole.Root, "", "root");
      const document = { ...(JSON.parse((JSON.parse(mesh.trust.registryText) as { payload: string }).payload) as object), version: 9 };
      await writeFile(file, signRegistry(document as Parameters<typeof signRegistry>[0], impostorRoot));
      expect(await settled).toEqual({ applied: false, code: ErrorCode.RegistryInvalid });
      expect(node.registry.version).toBe(1);
      expect((await sendQuery({})).status).toBe(AnswerStatus.Hit);
    } finally {
      follower.stop();
    }
  });
});
