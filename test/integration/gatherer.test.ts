import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { context } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealAnswer } from "../../common/envelope.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { PairKeyring } from "../../common/pair-tags.ts";
import { AnswerStatus, CountryStatus, encodeEnvelope } from "../../common/proto.ts";
import type { ResolvedSigner } from "../../common/registry.ts";
import { Gatherer, type GatheredResult } from "../../coordinator/gatherer.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeAnswer } from "../helpers/queries.ts";

/**
 * The coordinator's gatherer on a real nats-server, with countries played by a test responder: each
 * expected country reported once, in country order, whatever order and repeats the request lists.
 */

const COUNTRIES = ["DEU", "ESP", "ITA", "TUR"];
const DEADLINE_MS = 400;

let server: RunningNatsServer;
let coordinatorConnection: NatsConnection;
let countriesConnection: NatsConnection;
let trust: TestTrust;
let gatherer: Gatherer;
const digest = new Uint8Array(randomBytes(32));

/** What each country does when asked (a country not listed stays silent). */
const behaviour: Record<string, (reply: string) => void> = {};

function answerBytes(country: string, status: AnswerStatus): Uint8Array {
  const identity = trust.nodes.get(country);
  if (!identity) throw new Error(`no ${country} identity`);
  const coordinator: ResolvedSigner = trust.registry.resolveSigner(trust.coordinator.keyId, Date.now(), ["coordinator"]);
  const keyring = new PairKeyring(identity, { side: "answerer" });
  return encodeEnvelope(sealAnswer(makeAnswer(digest, { respondingCountry: country, status }), { identity, keyring, tagFor: [coordinator], sign: false }));
}

beforeAll(async () => {
  server = await startNatsServer();
  coordinatorConnection = await connect({ servers: server.url });
  countriesConnection = await connect({ servers: server.url });
  trust = await makeTrust(COUNTRIES);
  gatherer = new Gatherer(coordinatorConnection, Gatherer.newInstanceId(), new PairKeyring(trust.coordinator, { side: "asker" }));
  countriesConnection.subscribe("test.ask.*", {
    callback: (error, msg) => {
      const country = msg.subject.slice("test.ask.".length);
      if (!error && msg.reply) behaviour[country]?.(msg.reply);
    },
  });
  await countriesConnection.flush();
  // DEU answers no hit, and ITA's answer (the one ITA gives when asked) comes along on DEU's inbox too,
  // first: a country not expected is not reported.
  behaviour["DEU"] = (reply) => {
    countriesConnection.publish(reply, answerBytes("ITA", AnswerStatus.Refused));
    countriesConnection.publish(reply, answerBytes("DEU", AnswerStatus.NoHit));
  };
  // TUR answers twice: no hit, then a hit. The first authentic answer is the country's answer.
  behaviour["TUR"] = (reply) => {
    countriesConnection.publish(reply, answerBytes("TUR", AnswerStatus.NoHit));
    countriesConnection.publish(reply, answerBytes("TUR", AnswerStatus.Hit));
  };
  behaviour["ITA"] = (reply) => countriesConnection.publish(reply, answerBytes("ITA", AnswerStatus.Refused));
  // ESP stays silent.
});

afterAll(async () => {
  await gatherer?.close();
  await coordinatorConnection?.close();
  await countriesConnection?.close();
  await server?.stop();
});

function gather(expectedCountries: string[], deadlineMs = DEADLINE_MS): Promise<GatheredResult[]> {
  return gatherer.gather({
    publications: [...new Set(expectedCountries)].map((country) => ({ subject: `test.ask.${country}`, bytes: new Uint8Array([1]) })),
    queryDigest: digest,
    expectedCountries,
    deadlineAtMs: Date.now() + deadlineMs,
    parentContext: context.active(),
    registry: trust.registry,
  });
}

const statuses = (results: GatheredResult[]): [string, CountryStatus][] => results.map((result) => [result.country, result.status]);

describe("the gatherer", () => {
  it("reports each expected country once, in country order, and only expected countries", async () => {
    const results = await gather(["TUR", "DEU", "ESP", "DEU"]);
    expect(statuses(results)).toEqual([
      ["DEU", CountryStatus.NoHit],
      ["ESP", CountryStatus.Unavailable],
      ["TUR", CountryStatus.NoHit],
    ]);
  });

  it("works each request's countries out anew when the list changes, and again when it changes back", async () => {
    expect(statuses(await gather(["ITA", "DEU"]))).toEqual([
      ["DEU", CountryStatus.NoHit],
      ["ITA", CountryStatus.Refused],
    ]);
    expect(statuses(await gather(["TUR", "ITA"]))).toEqual([
      ["ITA", CountryStatus.Refused],
      ["TUR", CountryStatus.NoHit],
    ]);
    expect(statuses(await gather(["TUR", "DEU", "ESP", "DEU"]))).toEqual([
      ["DEU", CountryStatus.NoHit],
      ["ESP", CountryStatus.Unavailable],
      ["TUR", CountryStatus.NoHit],
    ]);
  });

  it("finishes once every expected country answered, without waiting for the deadline", async () => {
    // The deadline is a minute away: a gather that waited for it would fail this test by its timeout.
    const results = await gather(["DEU", "ITA", "TUR"], 60_000);
    expect(statuses(results)).toEqual([
      ["DEU", CountryStatus.NoHit],
      ["ITA", CountryStatus.Refused],
      ["TUR", CountryStatus.NoHit],
    ]);
  }, 10_000);
});
