/**
 * One process of the `fanout` benchmark's topology, started by bench/fanout.ts over an IPC channel:
 * a host of country nodes, a coordinator, raw responders, or a raw gatherer. Each reports its own CPU
 * time and memory on request, so the figures of one process are not mixed with the others'.
 */
import { Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { silentLogger } from "../common/logger.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import { TrustRegistry } from "../common/registry.ts";
import { initSodium } from "../common/sodium.ts";
import { Coordinator } from "../coordinator/index.ts";
import { connectNats } from "../common/nats-connection.ts";
import { CountryNode, MatchService, type Matcher } from "../node/index.ts";
import { NatsResponder } from "../node/nats-responder.ts";
import { encodeEnvelope } from "../common/proto.ts";
import { COORDINATOR_KEY_HEADER, matchCountrySubject, matchShardOf, matchShardSubject } from "../common/subjects.ts";

/** Identities cross the IPC channel as JSON; keys as base64. These are throw-away benchmark keys. */
export interface WireIdentity {
  keyId: string;
  country: string;
  agency: string;
  role: SigningIdentity["role"];
  publicKey: string;
  secretKey: string;
}

export function toWire(identity: SigningIdentity): WireIdentity {
  return { ...identity, publicKey: Buffer.from(identity.publicKey).toString("base64"), secretKey: Buffer.from(identity.secretKey).toString("base64") };
}

function fromWire(wire: WireIdentity): SigningIdentity {
  return { ...wire, publicKey: new Uint8Array(Buffer.from(wire.publicKey, "base64")), secretKey: new Uint8Array(Buffer.from(wire.secretKey, "base64")) };
}

interface TrustWire {
  registryText: string;
  root: WireIdentity;
}

export type WorkerStart =
  | ({ role: "nodes"; natsUrl: string; dataDir: string; nodes: WireIdentity[]; hitCountries: string[] } & TrustWire)
  | ({ role: "protocol-nodes"; natsUrl: string; nodes: WireIdentity[]; hitCountries: string[]; replay?: boolean; connectionPerCountry?: boolean } & TrustWire)
  | ({ role: "coordinator"; natsUrl: string; identity?: WireIdentity } & TrustWire)
  | { role: "raw-responders"; natsUrl: string; countries: string[]; connectionPerCountry?: boolean }
  | { role: "raw-gatherer"; natsUrl: string; countries: number };

/** `gc`: collect garbage first, for a heap figure (never around a CPU measurement: the collection would count). */
export type WorkerRequest = { type: "start"; start: WorkerStart } | { type: "usage"; gc?: boolean } | { type: "stop" };

export interface WorkerUsage {
  cpuMicros: number;
  /** The kernel's share of cpuMicros (socket reads and writes on loopback, including the receiving side's TCP work). */
  systemMicros: number;
  rssMb: number;
  /** Heap in use (after a full garbage collection when asked with `gc`). */
  heapMb: number;
  /** Answers given by each hosted node, in start order (node hosts only). */
  answered: number[];
}

export type WorkerReply = { type: "ready"; grpcPort?: number } | { type: "usage"; usage: WorkerUsage } | { type: "stopped" } | { type: "failed"; message: string };

/** Raw baseline subjects: one check request to the gatherer, one publish to every responder. */
export const RAW_CHECK_SUBJECT = "bench.raw.check";
const RAW_ALL_SUBJECT = "bench.raw.all";

const passBytes = (bytes: Buffer): Buffer => bytes;
/**
 * The raw gatherer's plain gRPC front, for the border system's hop to the coordinator: one unary
 * method, bytes in and out, no protobuf. Its answer is every responder's reply, concatenated, as a
 * check response carries every country's answer.
 */
export const RAW_GRPC_SERVICE: ServiceDefinition = {
  Gather: {
    path: "/watchmesh.bench.RawGatherer/Gather",
    requestStream: false,
    responseStream: false,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
  },
};

interface Running {
  stop(): Promise<void>;
  answered(): number[];
}

async function start(spec: WorkerStart): Promise<{ running: Running; grpcPort?: number }> {
  await initSodium();
  switch (spec.role) {
    case "nodes":
      return { running: await startNodes(spec) };
    case "protocol-nodes":
      return { running: await startProtocolNodes(spec) };
    case "coordinator": {
      const registry = registryOf(spec);
      const coordinator = await Coordinator.start({
        registry,
        ...(spec.identity ? { identity: fromWire(spec.identity) } : {}),
        natsServers: spec.natsUrl,
        grpcAddress: "127.0.0.1:0",
        logger: silentLogger(),
        notifyHits: false,
        // The load generator is many border systems under one key: the per-requester limit is not what is measured.
        rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
      });
      return { running: { stop: () => coordinator.stop(), answered: () => [] }, grpcPort: coordinator.grpcPort };
    }
    case "raw-responders":
      return { running: await startRawResponders(spec.natsUrl, spec.countries, spec.connectionPerCountry ?? false) };
    case "raw-gatherer":
      return startRawGatherer(spec.natsUrl, spec.countries);
  }
}

function registryOf(spec: TrustWire): TrustRegistry {
  const root = fromWire(spec.root);
  return TrustRegistry.fromSignedText(spec.registryText, root);
}

async function startNodes(spec: Extract<WorkerStart, { role: "nodes" }>): Promise<Running> {
  const registry = registryOf(spec);
  const nodes: CountryNode[] = [];
  try {
    for (const [index, wire] of spec.nodes.entries()) {
      const identity = fromWire(wire);
      const node = await CountryNode.start({
        identity,
        registry,
        dataDir: `${spec.dataDir}/${identity.country}-${index}`,
        natsServers: spec.natsUrl,
        logger: silentLogger(),
        receiveNotifications: false,
      });
      nodes.push(node);
      if (spec.hitCountries.includes(identity.country)) {
        await node.store.upsert({ kind: "person", id: `${identity.country}-1`, names: ["Jean Dupont"], dob: "1980-05-01", action: "discreet_check" });
      }
      await node.store.upsert({ kind: "person", id: `${identity.country}-2`, names: ["Maria Garcia Lopez"], dob: "1975-11-30", action: "specific_check" });
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return { stop: async () => void (await Promise.all(nodes.map((node) => node.stop()))), answered: () => nodes.map((node) => node.queriesAnswered) };
}

/**
 * Countries that speak the whole protocol — the real MatchService and NatsResponder: query tags or
 * signatures checked, answers encoded, tagged and (hits) signed — over a matcher that finds the one
 * benchmark traveller in the hit countries, with no LMDB store, replay memory, quota or audit log. They
 * cost the mesh little CPU, so the coordinator, not the countries, is what saturates.
 */
async function startProtocolNodes(spec: Extract<WorkerStart, { role: "protocol-nodes" }>): Promise<Running> {
  const registry = registryOf(spec);
  const connection = await connectNats({ servers: spec.natsUrl, name: "bench-protocol-nodes" });
  const services = spec.nodes.map((wire) => {
    const identity = fromWire(wire);
    const hit = spec.hitCountries.includes(identity.country);
    const matcher: Matcher = {
      matchPerson: (person) =>
        hit && person.names.includes("Jean Dupont") ? [{ recordId: `${identity.country}-1`, score: 0.95, category: "person", action: "discreet_check", matchedFeatures: ["name", "dob"] }] : [],
      matchEntity: () => [],
    };
    return new MatchService({ identity, registry: () => registry, matcher, referenceFor: (id) => `${identity.country}-R-${id}`, logger: silentLogger() });
  });
  if (spec.replay) {
    const answered = replayAnswers(connection, services);
    await connection.flush();
    return { stop: () => connection.drain(), answered };
  }
  const own = await perCountryConnections(connection, services.length, spec.connectionPerCountry ?? false, (index) => connectNats({ servers: spec.natsUrl, name: `bench-protocol-node-${services[index]?.country ?? index}` }));
  const responders = services.map((service, index) => NatsResponder.start({ connection: own.of(index), service, logger: silentLogger() }));
  await own.flush();
  return {
    stop: async () => {
      await Promise.all(responders.map((responder) => responder.stop()));
      await own.drain();
    },
    answered: () => services.map((service) => service.answeredCount),
  };
}

/**
 * Replayed answers: each country answers a query it has not seen before through the real answer path
 * (MatchService: tag checked, answer encoded and tagged for the requester and the coordinator) and
 * the same query again from a cache. Sent a small pool of queries over and over, the countries then
 * cost little more than the publishes of their answers, so the coordinator is what saturates, as the
 * raw gatherer does in its run, and its answers still verify. The replaying process takes a shard's
 * message once for all the countries of that shard (a node takes it once for its own country): the
 * coordinator receives the same 196 answers, while nats-server delivers 16 messages a check to this
 * process instead of 196, so that the machine's other core is left to what the coordinator needs.
 */
function replayAnswers(connection: NatsConnection, services: MatchService[]): () => number[] {
  const counts = services.map(() => 0);
  const indexesOf = new Map<number, number[]>();
  services.forEach((service, index) => {
    const shard = matchShardOf(service.country);
    indexesOf.set(shard, [...(indexesOf.get(shard) ?? []), index]);
  });
  const cache = new Map<string, Uint8Array[]>();
  const onQuery = (msg: Msg, indexes: readonly number[]): void => {
    if (!msg.reply) return;
    // The envelope's first bytes hold the query id (a random UUID): a key without hashing the query.
    // The answer is tagged for the coordinator that relays it, so that coordinator is part of the key.
    const relayKeyId = msg.headers?.get(COORDINATOR_KEY_HEADER) || undefined;
    const key = `${relayKeyId ?? ""} ${indexes[0]} ${Buffer.from(msg.data.buffer, msg.data.byteOffset, Math.min(64, msg.data.length)).toString("latin1")}`;
    let answers = cache.get(key);
    if (!answers) {
      const delivery = { relayed: true, relayKeyId };
      answers = indexes.map((index) => encodeEnvelope((services[index] as MatchService).answerBytes(msg.data, undefined, delivery)));
      cache.set(key, answers);
    }
    for (let position = 0; position < indexes.length; position++) {
      const index = indexes[position] as number;
      counts[index] = (counts[index] ?? 0) + 1;
      connection.publish(msg.reply, answers[position]);
    }
  };
  for (const [shard, indexes] of indexesOf) connection.subscribe(matchShardSubject(shard), { callback: (_error, msg) => onQuery(msg, indexes) });
  // A check of only some countries comes on their country subjects.
  services.forEach((service, index) => connection.subscribe(matchCountrySubject(service.country), { callback: (_error, msg) => onQuery(msg, [index]) }));
  return () => counts;
}

/**
 * The connection each country of a host uses: `shared`, or with `perCountry` one of its own, as a
 * CountryNode has (its answer then leaves as soon as it is made; on a shared connection the answers
 * to all the queries one socket read brought wait for the last of them).
 */
async function perCountryConnections(shared: NatsConnection, countries: number, perCountry: boolean, connectOne: (index: number) => Promise<NatsConnection>) {
  const own = perCountry ? await Promise.all(Array.from({ length: countries }, (_, index) => connectOne(index))) : [];
  const all = [shared, ...own];
  return {
    of: (index: number): NatsConnection => own[index] ?? shared,
    flush: async (): Promise<void> => void (await Promise.all(all.map((each) => each.flush()))),
    drain: async (): Promise<void> => void (await Promise.all(all.map((each) => each.drain()))),
  };
}

async function startRawResponders(natsUrl: string, countries: string[], connectionPerCountry: boolean): Promise<Running> {
  const shared: NatsConnection = await connect({ servers: natsUrl });
  const own = await perCountryConnections(shared, countries.length, connectionPerCountry, () => connect({ servers: natsUrl }));
  const answer = new Uint8Array(160);
  const counts = countries.map(() => 0);
  countries.forEach((country, index) => {
    own.of(index).subscribe(RAW_ALL_SUBJECT, {
      queue: `raw-${country}`,
      callback: (_error, msg) => {
        counts[index] = (counts[index] ?? 0) + 1;
        msg.respond(answer);
      },
    });
  });
  await own.flush();
  return { stop: () => own.drain(), answered: () => counts };
}

/**
 * Plain NATS scatter/gather: one publish, answers gathered on one wildcard inbox, then a reply to the
 * asker — over NATS (an 8-byte reply), or over plain gRPC with the answers themselves.
 */
async function startRawGatherer(natsUrl: string, countries: number): Promise<{ running: Running; grpcPort: number }> {
  const connection = await connect({ servers: natsUrl });
  const pending = new Map<string, { remaining: number; finish: (answers: Uint8Array[]) => void; answers?: Uint8Array[] }>();
  const inbox = `_INBOX.raw.${process.pid}`;
  let next = 0;
  const query = new Uint8Array(300);
  const done = new Uint8Array(8);
  connection.subscribe(`${inbox}.*`, {
    callback: (_error, msg) => {
      const entry = pending.get(msg.subject);
      if (!entry) return;
      entry.answers?.push(msg.data);
      if (--entry.remaining === 0) {
        pending.delete(msg.subject);
        entry.finish(entry.answers ?? []);
      }
    },
  });
  const scatter = (finish: (answers: Uint8Array[]) => void, keepAnswers: boolean) => {
    const subject = `${inbox}.${(next++).toString(36)}`;
    pending.set(subject, { remaining: countries, finish, ...(keepAnswers ? { answers: [] } : {}) });
    connection.publish(RAW_ALL_SUBJECT, query, { reply: subject });
  };
  connection.subscribe(RAW_CHECK_SUBJECT, {
    callback: (_error, msg) => {
      const reply = msg.reply;
      if (reply) scatter(() => connection.publish(reply, done), false);
    },
  });
  await connection.flush();
  const server = new Server();
  server.addService(RAW_GRPC_SERVICE, {
    Gather: (_call: unknown, callback: (error: null, answers: Buffer) => void) => scatter((answers) => callback(null, Buffer.concat(answers)), true),
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
  return {
    running: { stop: async () => void (await Promise.all([connection.drain(), new Promise<void>((resolve) => server.tryShutdown(() => resolve()))])), answered: () => [] },
    grpcPort,
  };
}

function usage(running: Running | undefined, collect: boolean): WorkerUsage {
  if (collect) (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    systemMicros: cpu.system,
    rssMb: Math.round(memory.rss / 1024 / 1024),
    heapMb: Math.round((memory.heapUsed / 1024 / 1024) * 10) / 10,
    answered: running?.answered() ?? [],
  };
}

let running: Running | undefined;
const send = (reply: WorkerReply) => process.send?.(reply);

process.on("message", (request: WorkerRequest) => {
  void (async () => {
    try {
      if (request.type === "start") {
        const started = await start(request.start);
        running = started.running;
        send({ type: "ready", ...(started.grpcPort ? { grpcPort: started.grpcPort } : {}) });
      } else if (request.type === "usage") {
        send({ type: "usage", usage: usage(running, request.gc ?? false) });
      } else {
        await running?.stop();
        send({ type: "stopped" });
        process.disconnect();
      }
    } catch (error) {
      send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
// The parent going away ends this process too: no orphaned benchmark processes.
process.on("disconnect", () => process.exit(0));
