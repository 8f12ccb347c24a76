/**
 * A slow node and a garbage-answering participant. ESP's real node sits behind a proxy that delays its
 * answers past the deadline; ITA's queue group is joined by a NATS participant that answers every query
 * with garbage (random bytes, or an envelope claiming ITA's node key with a forged signature). The check
 * reports ESP unavailable and ITA unavailable or error, never a hit or no-hit, and DEU's hit comes
 * through unchanged, within the deadline.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckResult } from "../../client/border-client.ts";
import { silentLogger } from "../../common/logger.ts";
import { connectNats } from "../../common/nats-connection.ts";
import { decodeEnvelope, encodeEnvelope } from "../../common/proto.ts";
import { seededRandom } from "../../common/seeded-random.ts";
import { nodeMatchSubjects, nodeQueueGroup } from "../../common/subjects.ts";
import { CountryNode, type PersonRecord } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { waitFor } from "../helpers/wait.ts";

const DEADLINE_MS = 1500;
const listed: PersonRecord = {
  kind: "person",
  id: "DEU-P-1",
  names: ["Ottokar Langsamweg"],
  dob: "1971-04-12",
  documents: [{ type: "passport", number: "C01X9T7K2", country: "DEU" }],
  action: "arrest",
};
const subject = { person: { names: listed.names, dob: listed.dob ?? "", documents: listed.documents ?? [] } };

type GarbageMode = "random" | "forged" | "replay";

let mesh: TestMesh | undefined;
let temp: { path: string; remove: () => Promise<void> } | undefined;
const proxies = new Map<string, TcpProxy>();
const nodes = new Map<string, CountryNode>();
let garbage: NatsConnection | undefined;
const garbageSubscriptions: Subscription[] = [];
let garbageMode: GarbageMode = "random";
let garbageAnswered = 0;
/** A signed DEU answer to an earlier query, captured off the wire, for the replay mode. */
let oldDeuAnswer: Uint8Array | undefined;
const random = seededRandom(7);
const randomBytes = (length: number): Uint8Array => Uint8Array.from({ length }, () => Math.floor(random() * 256));

beforeAll(async () => {
  // DEU and ESP are started here, each behind its own proxy; ITA has no node at all.
  mesh = await startTestMesh({ countries: ["DEU", "ESP", "ITA"], offline: ["DEU", "ESP", "ITA"], defaultDeadlineMs: DEADLINE_MS });
  temp = await makeTempDir("watchmesh-slow-");
  for (const country of ["DEU", "ESP"]) {
    const proxy = await startTcpProxy(mesh.nats.port);
    proxies.set(country, proxy);
    const identity = mesh.trust.nodes.get(country);
    if (!identity) throw new Error(`no identity for ${country}`);
    nodes.set(country, await CountryNode.start({ identity, registry: mesh.trust.registry, dataDir: `${temp.path}/${country}`, natsServers: proxy.url, logger: silentLogger() }));
  }
  await nodes.get("DEU")?.store.upsert(listed);

  const itaKeyId = mesh.trust.nodes.get("ITA")?.keyId ?? "";
  garbage = await connectNats({ servers: mesh.nats.url, name: "garbage-ITA" });
  const answerGarbage = (reply: string | undefined): void => {
    if (!reply || !garbage) return;
    let bytes: Uint8Array;
    if (garbageMode === "random") bytes = randomBytes(1 + Math.floor(random() * 200));
    else if (garbageMode === "forged") bytes = encodeEnvelope({ payload: randomBytes(60), keyId: itaKeyId, signature: randomBytes(64) });
    else bytes = oldDeuAnswer ?? new Uint8Array();
    garbage.publish(reply, bytes);
    garbageAnswered += 1;
  };
  for (const subject of nodeMatchSubjects("ITA")) {
    garbageSubscriptions.push(garbage.subscribe(subject, { queue: nodeQueueGroup("ITA"), callback: (error, msg) => (error ? undefined : answerGarbage(msg.reply)) }));
  }
  // Captures node answers on their way to the coordinator (only the test may listen there).
  const deuKeyId = mesh.trust.nodes.get("DEU")?.keyId;
  garbageSubscriptions.push(
    garbage.subscribe("_INBOX.watchmesh.>", {
      callback: (error, msg) => {
        if (error || oldDeuAnswer) return;
        try {
          if (decodeEnvelope(msg.data).keyId === deuKeyId) oldDeuAnswer = msg.data;
        } catch {
          // Garbage of our own.
        }
      },
    }),
  );
  await garbage.flush();
  // One ordinary check, so that an old DEU answer is at hand for the replay below.
  await mesh.client.check(subject);
  await waitFor(() => oldDeuAnswer, { timeoutMs: 5000, what: "a DEU answer on the coordinator's inbox" });
}, 30_000);

afterAll(async () => {
  await garbage?.close();
  await mesh?.stop();
  await Promise.all([...nodes.values()].map((node) => node.stop()));
  await Promise.all([...proxies.values()].map((proxy) => proxy.stop()));
  await temp?.remove();
});

const statusOf = (result: CheckResult, country: string) => result.results.find((entry) => entry.country === country);

async function timedCheck(deadlineMs?: number): Promise<{ result: CheckResult; ms: number; endedAtMs: number }> {
  if (!mesh) throw new Error("no mesh");
  const started = performance.now();
  const result = await mesh.client.check(subject, deadlineMs === undefined ? {} : { deadlineMs });
  return { result, ms: performance.now() - started, endedAtMs: Date.now() };
}

function expectDeuHit(result: CheckResult): void {
  const deu = statusOf(result, "DEU");
  expect(deu?.status).toBe("hit");
  expect(deu?.hits.map((hit) => hit.reference)).toEqual([nodes.get("DEU")?.store.referenceFor(listed.id)]);
  expect(deu?.hits[0]?.action).toBe("arrest");
}

describe("a slow node and a garbage node", () => {
  it("reports a node whose answer arrives after the deadline as unavailable, and the check ends at the deadline", async () => {
    const espProxy = proxies.get("ESP");
    const esp = nodes.get("ESP");
    if (!espProxy || !esp) throw new Error("set-up failed");
    // ESP answers normally first.
    const normal = await timedCheck();
    expect(statusOf(normal.result, "ESP")?.status).toBe("no_hit");
    expectDeuHit(normal.result);

    espProxy.setUpstreamDelay(DEADLINE_MS + 2000);
    const answeredBefore = esp.queriesAnswered;
    const slow = await timedCheck();
    expect(statusOf(slow.result, "ESP")?.status).toBe("unavailable");
    expectDeuHit(slow.result);
    expect(statusOf(slow.result, "ITA")?.status).not.toMatch(/^(hit|no_hit)$/);
    // The coordinator waited for ESP until its deadline (a lower bound no slowness can break)...
    expect(slow.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    // ...and not beyond: ESP did answer, and its answer reached NATS only after the check had returned.
    // It was late, not lost.
    expect(esp.queriesAnswered).toBe(answeredBefore + 1);
    const lateAnswer = await waitFor(
      () => espProxy.forwarded().find((chunk) => chunk.atMs > slow.endedAtMs && /PUB _INBOX\.watchmesh\./.test(chunk.text)),
      { timeoutMs: 10_000, what: "ESP's late answer to reach the NATS server" },
    );
    expect(lateAnswer.atMs).toBeGreaterThan(slow.endedAtMs);

    // Back to normal speed: the late answer is not taken for the next check's.
    espProxy.setUpstreamDelay(0);
    const recovered = await timedCheck();
    expect(statusOf(recovered.result, "ESP")?.status).toBe("no_hit");
    expectDeuHit(recovered.result);
  }, 30_000);

  it("reports a participant answering garbage as unavailable or error, never hit or no-hit, and the rest of the check is unaffected", async () => {
    for (const mode of ["random", "forged"] as const) {
      garbageMode = mode;
      for (let round = 0; round < 3; round++) {
        const answered = garbageAnswered;
        // ITA never answers validly, so each check lasts its whole deadline: a shorter one here.
        const { result } = await timedCheck(1000);
        expect(garbageAnswered, `the garbage participant answered (${mode})`).toBe(answered + 1);
        const ita = statusOf(result, "ITA");
        expect(["unavailable", "error"], `${mode}: ITA ${ita?.status}`).toContain(ita?.status);
        expect(ita?.hits).toEqual([]);
        if (mode === "forged" && ita?.status === "error") expect(ita.errorCode).toBe("BAD_SIGNATURE");
        expectDeuHit(result);
        expect(statusOf(result, "ESP")?.status).toBe("no_hit");
      }
    }
  }, 30_000);

  // Known bug (coordinator/gatherer.ts, not fixed here): an authentic answer bound to another query is
  // taken as the country's final answer ("the country answered, wrongly"), so whoever can reply on the
  // coordinator's inbox can replay an old DEU answer ahead of DEU's real one and turn DEU's hit into an
  // error for every check. Forged signatures are already treated as provisional; replays should be too.
  it("keeps waiting for a country's real answer when someone replays that country's old answer first", async () => {
    const deuProxy = proxies.get("DEU");
    if (!deuProxy) throw new Error("no DEU proxy");
    garbageMode = "replay";
    // DEU's real answer takes 200 ms longer than the replay: the replay always arrives first.
    deuProxy.setUpstreamDelay(200);
    try {
      const { result } = await timedCheck();
      expectDeuHit(result);
    } finally {
      deuProxy.setUpstreamDelay(0);
      garbageMode = "random";
    }
  }, 30_000);
});
