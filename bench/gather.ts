/**
 * The coordinator's own work on the answers of a check, in one process and without sockets: the
 * Gatherer taking each country's tagged answer (nats.js message objects over the bytes a node sends,
 * as its subscription hands them over), beside a raw gatherer that routes the same messages by their
 * subject and counts them. What the fan-out bench's coordinator spends beyond this is NATS parsing,
 * gRPC, the publishes and the kernel. Prints CPU µs per check for both (the median of three rounds)
 * and their ratio.
 */
import { randomBytes } from "node:crypto";
import { MsgImpl } from "@nats-io/nats-core/internal";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { context } from "@opentelemetry/api";
import { sealAnswer } from "../common/envelope.ts";
import { MemberRole } from "../common/key-files.ts";
import { PairKeyring } from "../common/pair-tags.ts";
import { AnswerStatus, encodeEnvelope } from "../common/proto.ts";
import { Gatherer } from "../coordinator/gatherer.ts";
import { makeTrust } from "../test/helpers/identities.ts";
import { argValue, benchCountryCodes, cpuMicros, printFigures, round } from "./stats.ts";

type Deliver = (msg: Msg) => void;

/** A connection that only takes the subscription's callback: answers are delivered to it by the bench. */
function deliveringConnection(): { connection: NatsConnection; deliver: Deliver } {
  let callback: ((error: Error | null, msg: Msg) => void) | undefined;
  const connection = {
    subscribe: (_subject: string, options: { callback: (error: Error | null, msg: Msg) => void }) => {
      callback = options.callback;
      return { drain: () => Promise.resolve() };
    },
    publish: () => undefined,
  } as unknown as NatsConnection;
  const deliver: Deliver = (msg) => {
    if (!callback) throw new Error("the gatherer did not subscribe");
    callback(null, msg);
  };
  return { connection, deliver };
}

const encoder = new TextEncoder();

/** A message as nats.js's subscription hands it over (the subject's bytes decoded only when read). */
function received(subject: Uint8Array, data: Uint8Array): Msg {
  return new MsgImpl({ subject, sid: 1, size: data.length, hdr: -1 }, data, {} as never);
}

/** CPU µs per check: the median of three rounds of `checks` runs of `oneCheck`, after one round to warm up. */
async function perCheckMicros(checks: number, oneCheck: (token: number) => Promise<void>): Promise<number> {
  let token = 0;
  const measure = async (): Promise<number> => {
    const started = cpuMicros();
    for (let index = 0; index < checks; index++) await oneCheck(token++);
    return (cpuMicros() - started) / checks;
  };
  await measure();
  const rounds = [await measure(), await measure(), await measure()].sort((a, b) => a - b);
  return round(rounds[1] ?? 0, 1);
}

export async function runGatherBench(args: string[], json: boolean): Promise<void> {
  const countries = benchCountryCodes(argValue(args, "--countries", 196));
  const checks = argValue(args, "--checks", 4000);
  const trust = await makeTrust(countries);
  const nowMs = Date.now();
  const coordinatorSigner = trust.registry.resolveSigner(trust.coordinator.keyId, nowMs, [MemberRole.Coordinator]);
  const borderSigner = trust.registry.resolveSigner(trust.border.keyId, nowMs, [MemberRole.Border]);
  const digest = new Uint8Array(randomBytes(32));
  // Each country's no-hit answer, tagged for the border system and the coordinator as nodes tag them.
  const answers = countries.map((country) => {
    const identity = trust.nodes.get(country);
    if (!identity) throw new Error(`no ${country} identity`);
    const answer = { queryId: randomBytes(16).toString("hex"), respondingCountry: country, status: AnswerStatus.NoHit, hits: [], errorCode: "", nodeElapsedUs: 120, answeredAtMs: nowMs, queryDigest: digest };
    const envelope = sealAnswer(answer, { identity, keyring: new PairKeyring(identity, { side: "answerer" }), tagFor: [borderSigner, coordinatorSigner], sign: false });
    return Buffer.from(encodeEnvelope(envelope));
  });

  const { connection, deliver } = deliveringConnection();
  const prefix = "_INBOX.watchmesh.bench";
  const gatherer = new Gatherer(connection, "bench", new PairKeyring(trust.coordinator, { side: "asker" }));
  const mesh = await perCheckMicros(checks, async (token) => {
    const gathered = gatherer.gather({ publications: [], queryDigest: digest, expectedCountries: countries, deadlineAtMs: Date.now() + 10_000, parentContext: context.active(), registry: trust.registry });
    const subject = encoder.encode(`${prefix}.${token.toString(36)}`);
    for (const data of answers) deliver(received(subject, data));
    const results = await gathered;
    if (results.some((result) => result.status !== "COUNTRY_STATUS_NO_HIT")) throw new Error("an answer did not verify");
  });
  await gatherer.close();

  // Raw: route by the subject's token, count the answers, finish when all came (no reading, no checks).
  const waiting = new Map<string, { left: number; done: () => void }>();
  const toRaw: Deliver = (msg) => {
    const check = waiting.get(msg.subject.slice(prefix.length + 1));
    if (check && msg.data.length > 0 && --check.left === 0) check.done();
  };
  const raw = await perCheckMicros(checks, async (token) => {
    const key = token.toString(36);
    const gathered = new Promise<void>((resolve) => waiting.set(key, { left: answers.length, done: resolve }));
    const subject = encoder.encode(`${prefix}.${key}`);
    for (const data of answers) toRaw(received(subject, data));
    await gathered;
    waiting.delete(key);
  });

  printFigures(
    `gather: the coordinator's work on the ${countries.length} answers of a check, in one process (no sockets), CPU µs per check`,
    {
      checks,
      "coordinator's gatherer (answers read, tags checked, results kept)": mesh,
      "raw gatherer (routed by subject and counted)": raw,
      "ratio gatherer / raw": round(mesh / Math.max(raw, 0.001), 2),
      "gatherer per answer (us)": round(mesh / countries.length, 2),
    },
    json,
  );
}
