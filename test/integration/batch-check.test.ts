import { writeFile } from "node:fs/promises";
import path from "node:path";
import { credentials as grpcCredentials, type Client, type Metadata, type ServiceError } from "@grpc/grpc-js";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signQuery } from "../../common/envelope.ts";
import { ERROR_CODE_METADATA_KEY, ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { createIdentity, MemberRole, publicPart, type SigningIdentity } from "../../common/key-files.ts";
import { MAX_BATCH_QUERIES } from "../../common/limits.ts";
import { CountryStatus, watchmeshGrpcPackage, type SignedEnvelope } from "../../common/proto.ts";
import { memberFor } from "../../common/registry.ts";
import { initSodium } from "../../common/sodium.ts";
import { BATCH_QUERY_KIND, KIND_HEADER, MATCH_ALL_SUBJECT, matchCountrySubject, nodeMatchSubjects, nodeQueueGroup } from "../../common/subjects.ts";
import type { CheckSubject, TravellerCheckResult } from "../../client/border-client.ts";
import type { NativeRecord } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeQuery } from "../helpers/queries.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const records: Record<string, NativeRecord[]> = {
  DEU: [{ kind: "person", id: "DEU-P-1", names: ["Hans Müller"], dob: "1975-03-14", nationality: ["DEU"], action: "specific_check" }],
  ESP: [
    { kind: "person", id: "ESP-P-1", names: ["Carmen López García"], dob: "1988", nationality: ["ESP"], action: "arrest" },
    { kind: "entity", id: "ESP-E-1", type: "phone", value: "+34 612 345 678" },
  ],
  TUR: [],
};
const ONLINE = ["DEU", "ESP", "TUR"];

/** Travellers at these positions hit (or are refused); everybody else is unknown everywhere. */
const HANS = 7;
const CARMEN = 21;
const PHONE = 33;
const BAD_MRZ = 40;

function manifest(size: number): CheckSubject[] {
  return Array.from({ length: size }, (_, index): CheckSubject => {
    if (index === HANS) return { person: { names: ["mueller hans"], dob: "1975-03-14" } };
    if (index === CARMEN) return { person: { names: ["Carmen Lopez Garcia"], dob: "1988-11-02" } };
    if (index === PHONE) return { entity: { type: "phone", value: "+34612345678" } };
    if (index === BAD_MRZ) {
      return { person: { mrz: ["P<D<<MUELLER<<HANS<<<<<<<<<<<<<<<<<<<<<<<<<<", "C01X00T470D<<7503143M3012315<<<<<<<<<<<<<<<0"] } };
    }
    return { person: { names: [`Traveller${index} Nobodyson`], dob: `19${50 + (index % 40)}-0${1 + (index % 9)}-1${index % 10}` } };
  });
}

function statuses(traveller: TravellerCheckResult | undefined): Record<string, string> {
  return Object.fromEntries((traveller?.results ?? []).map((result) => [result.country, result.status]));
}

/** Every message the coordinator publishes on the match subjects, seen by a plain NATS subscriber. */
class MatchSubjectWatcher {
  readonly seen: { subject: string; batch: boolean }[] = [];
  readonly #connection: NatsConnection;

  private constructor(connection: NatsConnection) {
    this.#connection = connection;
    connection.subscribe("watchmesh.v1.match.>", {
      callback: (_error, msg) => {
        this.seen.push({ subject: msg.subject, batch: msg.headers?.get(KIND_HEADER) === BATCH_QUERY_KIND });
      },
    });
  }

  static async start(url: string, auth: { user?: string; pass?: string } = {}): Promise<MatchSubjectWatcher> {
    const watcher = new MatchSubjectWatcher(await connect({ servers: url, ...auth }));
    await watcher.#connection.flush(); // The subscription is live before the first check.
    return watcher;
  }

  /** What was published up to now: the server sends this connection everything before its PONG. */
  async published(): Promise<{ subject: string; batch: boolean }[]> {
    await this.#connection.flush();
    return [...this.seen];
  }

  reset(): void {
    this.seen.length = 0;
  }

  close(): Promise<void> {
    return this.#connection.drain();
  }
}

/** Notifications the owners' nodes stored, awaited by id (no sleeping). */
class StoredNotifications {
  readonly #ids = new Set<string>();
  readonly #waiters: (() => void)[] = [];
  push = (handled: { notificationId: string; stored: boolean }): void => {
    if (handled.stored) this.#ids.add(handled.notificationId);
    for (const wake of this.#waiters.splice(0)) wake();
  };
  async waitFor(ids: string[]): Promise<void> {
    while (!ids.every((id) => this.#ids.has(id))) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

type BatchRpc = (request: unknown, metadata: Metadata | object, callback: (error: ServiceError | null, response?: unknown) => void) => unknown;

function rawCoordinatorClient(port: number): Client & { CheckBatch: BatchRpc } {
  const Constructor = watchmeshGrpcPackage()["Coordinator"] as unknown as new (
    address: string,
    credentials: ReturnType<typeof grpcCredentials.createInsecure>,
    options: Record<string, number>,
  ) => Client & { CheckBatch: BatchRpc };
  return new Constructor(`127.0.0.1:${port}`, grpcCredentials.createInsecure(), {});
}

function rawCheckBatch(port: number, queries: SignedEnvelope[]): Promise<ServiceError | undefined> {
  const client = rawCoordinatorClient(port);
  return new Promise((resolve) => {
    client.CheckBatch({ queries, deadlineMs: 500, countries: [] }, {}, (error) => {
      client.close();
      resolve(error ?? undefined);
    });
  });
}

async function rejection(work: Promise<unknown>): Promise<WatchmeshError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof WatchmeshError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("batch checks through the coordinator", () => {
  // UKR is registered but its node is down; DEU's second border system exists to sign a mixed batch.
  let otherBorder: SigningIdentity;
  const notifications = new StoredNotifications();
  let mesh: TestMesh;
  let watcher: MatchSubjectWatcher;

  beforeAll(async () => {
    await initSodium();
    otherBorder = createIdentity(MemberRole.Border, "DEU", "bundespolizei");
    mesh = await startTestMesh({
      countries: [...ONLINE, "UKR"],
      offline: ["UKR"],
      records,
      jetstream: true,
      extraMembers: [memberFor(publicPart(otherBorder))],
      nodeOptions: () => ({ onNotificationHandled: notifications.push }),
    });
    watcher = await MatchSubjectWatcher.start(mesh.nats.url);
  });
  afterAll(async () => {
    await watcher?.close();
    await mesh?.stop();
  });
  beforeEach(() => watcher?.reset());

  it("screens 50 travellers over 3 countries in one call: the right result per traveller and country, and the owners are notified", async () => {
    const progress: string[] = [];
    const result = await mesh.client.checkBatch(manifest(50), {
      countries: ONLINE,
      onProgress: ({ phase, done, total }) => progress.push(`${phase} ${done}/${total}`),
    });
    expect(result.travellers).toHaveLength(50);
    expect(new Set(result.travellers.map((traveller) => traveller.queryId)).size).toBe(50);
    expect(progress).toContain("signing 50/50");
    expect(progress).toContain("verifying 50/50");

    const hans = result.travellers[HANS];
    expect(statuses(hans)).toEqual({ DEU: "hit", ESP: "no_hit", TUR: "no_hit" });
    expect(hans?.results.find((entry) => entry.country === "DEU")?.hits[0]?.action).toBe("specific_check");
    expect(statuses(result.travellers[CARMEN])).toEqual({ DEU: "no_hit", ESP: "hit", TUR: "no_hit" });
    expect(result.travellers[CARMEN]?.results.find((entry) => entry.country === "ESP")?.hits[0]?.action).toBe("arrest");
    expect(result.travellers[PHONE]?.results.find((entry) => entry.country === "ESP")?.hits[0]?.category).toBe("entity:phone");
    for (const country of result.travellers[BAD_MRZ]?.results ?? []) expect(country).toMatchObject({ status: "refused", errorCode: "INVALID_MRZ" });
    result.travellers.forEach((traveller, index) => {
      expect(traveller.results.map((entry) => entry.country)).toEqual(ONLINE);
      if (![HANS, CARMEN, PHONE, BAD_MRZ].includes(index)) expect(statuses(traveller)).toEqual({ DEU: "no_hit", ESP: "no_hit", TUR: "no_hit" });
    });

    // One message per asked country for the whole batch, none for single queries.
    const published = await watcher.published();
    expect(published.map((message) => message.subject).sort()).toEqual(ONLINE.map(matchCountrySubject));
    expect(published.every((message) => message.batch)).toBe(true);

    await notifications.waitFor([`${hans?.queryId}:DEU`, `${result.travellers[CARMEN]?.queryId}:ESP`, `${result.travellers[PHONE]?.queryId}:ESP`]);
  });

  it("publishes a batch for every country once, not once per traveller, and reports an offline country unavailable for every traveller", async () => {
    const started = Date.now();
    const result = await mesh.client.checkBatch(manifest(50), { deadlineMs: 1000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950); // UKR never answers: the deadline ends the gathering.
    const published = await watcher.published();
    expect(published).toEqual([{ subject: MATCH_ALL_SUBJECT, batch: true }]);
    expect(result.travellers).toHaveLength(50);
    for (const traveller of result.travellers) {
      expect(traveller.results.map((entry) => entry.country)).toEqual(["DEU", "ESP", "TUR", "UKR"]);
      expect(statuses(traveller)["UKR"]).toBe("unavailable");
      expect(statuses(traveller)["TUR"]).not.toBe("unavailable");
    }
    expect(statuses(result.travellers[HANS])["DEU"]).toBe("hit");
  });

  it("refuses a batch of more than 1,000 queries with PAYLOAD_TOO_LARGE, and publishes nothing", async () => {
    const queries = Array.from({ length: MAX_BATCH_QUERIES + 1 }, () => signQuery(makeQuery(), mesh.trust.border));
    const error = await rawCheckBatch(mesh.coordinator.grpcPort, queries);
    expect(error?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual([ErrorCode.PayloadTooLarge]);
    expect(error?.details).toMatch(/at most 1000 queries, not 1001/);

    const fromClient = await rejection(mesh.client.checkBatch(manifest(MAX_BATCH_QUERIES + 1)));
    expect(fromClient.code).toBe(ErrorCode.PayloadTooLarge);
    expect(await watcher.published()).toEqual([]);
  });

  it("refuses a batch whose queries are signed by different border systems, and publishes nothing", async () => {
    const queries = [
      signQuery(makeQuery(), mesh.trust.border),
      signQuery(makeQuery({ requestingCountry: "DEU", requestingAgency: "bundespolizei" }), otherBorder),
    ];
    const failure = await rejection(mesh.coordinator.checkBatch(queries));
    expect(failure.code).toBe(ErrorCode.InvalidArgument);
    expect(failure.message).toMatch(/same border system: queries\[1\] is signed by/);
    const overGrpc = await rawCheckBatch(mesh.coordinator.grpcPort, queries);
    expect(overGrpc?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual([ErrorCode.InvalidArgument]);
    expect(await watcher.published()).toEqual([]);
  });

  it("refuses the whole batch when one query's signature is bad, naming its position", async () => {
    const queries = [signQuery(makeQuery(), mesh.trust.border), signQuery(makeQuery(), mesh.trust.border)];
    const tampered = queries[1];
    if (!tampered) throw new Error("missing query");
    tampered.signature = new Uint8Array(tampered.signature.length);
    const failure = await rejection(mesh.coordinator.checkBatch(queries));
    expect(failure.code).toBe(ErrorCode.BadSignature);
    expect(failure.message).toMatch(/^queries\[1\]: /);
  });

  it("applies replay protection per traveller: a query sent again in another batch is refused by every node", async () => {
    const first = signQuery(makeQuery(), mesh.trust.border);
    const fresh = signQuery(makeQuery(), mesh.trust.border);
    const before = await mesh.coordinator.checkBatch([first], { countries: ONLINE });
    expect(before.travellers[0]?.results.map((result) => result.status)).toEqual(ONLINE.map(() => CountryStatus.NoHit));
    const again = await mesh.coordinator.checkBatch([fresh, first], { countries: ONLINE });
    expect(again.travellers[0]?.results.map((result) => result.status)).toEqual(ONLINE.map(() => CountryStatus.NoHit));
    for (const result of again.travellers[1]?.results ?? []) expect(result).toMatchObject({ status: CountryStatus.Refused, errorCode: ErrorCode.QueryReplayed });
  });
});

/**
 * A server like the deployed hub (deploy/nats/accounts.conf): the coordinator may publish only on the
 * match subjects and read only its inboxes; a node may only read its country's subjects in its queue
 * group and send one response per query it received. With 96 KiB messages: about 380 queries per
 * part, about 125 answers per node reply.
 */
function hubLikeConfig(countries: string[]): string {
  const nodeUsers = countries.map(
    (country) => `    { user: node-${country}, password: node-pass, permissions: {
        subscribe: { allow: [${nodeMatchSubjects(country).map((subject) => `"${subject} ${nodeQueueGroup(country)}"`).join(", ")}] }
        allow_responses: { max: 1, expires: "30s" } } }`,
  );
  return `max_payload: 98304
authorization {
  users: [
    { user: coordinator, password: coordinator-pass, permissions: {
        publish: { allow: ["watchmesh.v1.match.>"] }
        subscribe: { allow: ["_INBOX.watchmesh.>"] } } }
    { user: watcher, password: watcher-pass }
${nodeUsers.join("\n")}
  ]
}
`;
}

describe("batch checks larger than one NATS message, under the hub's permissions", () => {
  let mesh: TestMesh | undefined;
  let watcher: MatchSubjectWatcher | undefined;
  let temp: { path: string; remove: () => Promise<void> } | undefined;
  afterAll(async () => {
    await watcher?.close();
    await mesh?.stop();
    await temp?.remove();
  });

  it("cuts the batch into parts, lets nodes answer part by part, and still answers every traveller in every country", async () => {
    temp = await makeTempDir("watchmesh-batch-nats-");
    const config = path.join(temp.path, "hub-like.conf");
    await writeFile(config, hubLikeConfig(ONLINE));
    mesh = await startTestMesh({
      countries: ONLINE,
      records,
      natsExtraArgs: ["-c", config],
      coordinatorOptions: { natsAuth: { user: "coordinator", password: "coordinator-pass" }, notifyHits: false },
      nodeOptions: (country) => ({ natsAuth: { user: `node-${country}`, password: "node-pass" }, receiveNotifications: false }),
    });
    watcher = await MatchSubjectWatcher.start(mesh.nats.url, { user: "watcher", pass: "watcher-pass" });

    const result = await mesh.client.checkBatch(manifest(400), { deadlineMs: 20_000 });
    expect(result.travellers).toHaveLength(400);
    for (const traveller of result.travellers) {
      expect(traveller.results.filter((entry) => entry.status === "unavailable" || entry.status === "error")).toEqual([]);
    }
    expect(statuses(result.travellers[HANS])["DEU"]).toBe("hit");
    expect(statuses(result.travellers[CARMEN])["ESP"]).toBe("hit");

    const published = await watcher.published();
    const parts = published.filter((message) => message.subject === MATCH_ALL_SUBJECT);
    const rests = published.filter((message) => message.subject !== MATCH_ALL_SUBJECT);
    expect(parts.length).toBe(2);
    expect(rests.length).toBeGreaterThan(0);
    expect(published.every((message) => message.batch)).toBe(true);
    expect(published.length).toBeLessThan(40); // still a handful of messages, nowhere near one per traveller
  }, 60_000);
});
