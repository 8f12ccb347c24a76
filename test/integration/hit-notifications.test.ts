import { jetstream } from "@nats-io/jetstream";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { connectNats } from "../../common/nats-connection.ts";
import { signAnswer } from "../../common/envelope.ts";
import { decodeMatchAnswer, encodeHitNotification, decodeHitNotification, type HitNotification } from "../../common/proto.ts";
import { notifySubject } from "../../common/subjects.ts";
import { silentLogger } from "../../common/logger.ts";
import { CountryNode, type PersonRecord } from "../../node/index.ts";
import { runCli } from "../helpers/cli.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

const suspect: PersonRecord = {
  kind: "person",
  id: "DEU-P-1",
  names: ["Jean Dupont"],
  dob: "1980-05-01",
  documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }],
  action: "discreet_check",
};
const bySuspectName = { person: { names: ["Jean Dupont"], dob: "1980-05-01" } };

type Handled = { notificationId: string; stored: boolean; code?: string };

/** Notification outcomes as the nodes report them, awaited in order (no sleeping). */
class HandledQueue {
  readonly #items: Handled[] = [];
  readonly #waiters: ((item: Handled) => void)[] = [];
  push = (item: Handled): void => {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  };
  next(): Promise<Handled> {
    const item = this.#items.shift();
    return item ? Promise.resolve(item) : new Promise((resolve) => this.#waiters.push(resolve));
  }
}

let mesh: TestMesh | undefined;
afterEach(async () => {
  await mesh?.stop();
  mesh = undefined;
});

async function startMesh(handled: HandledQueue, receiveNotifications = true): Promise<TestMesh> {
  mesh = await startTestMesh({
    countries: ["DEU", "ESP"],
    records: { DEU: [suspect] },
    jetstream: true,
    nodeOptions: () => ({ receiveNotifications, onNotificationHandled: handled.push }),
  });
  return mesh;
}

async function restartDeu(running: TestMesh, handled: HandledQueue, receiveNotifications: boolean): Promise<CountryNode> {
  await running.nodes.get("DEU")?.stop();
  const identity = running.trust.nodes.get("DEU");
  if (!identity) throw new Error("missing DEU identity");
  const node = await CountryNode.start({
    identity,
    registry: running.trust.registry,
    dataDir: running.dataDir("DEU"),
    natsServers: running.nats.url,
    receiveNotifications,
    onNotificationHandled: handled.push,
    logger: silentLogger(),
  });
  running.nodes.set("DEU", node);
  return node;
}

describe("hit notifications (JetStream)", () => {
  it("notifies the owner of a hit: who asked, from which border post, when, which reference", async () => {
    const handled = new HandledQueue();
    const running = await startMesh(handled);
    const result = await running.client.check(bySuspectName, { location: "FRA-BORDER-POST-17" });
    const hit = result.results.find((r) => r.country === "DEU");
    expect(hit?.status).toBe("hit");

    expect(await handled.next()).toEqual({ notificationId: `${result.queryId}:DEU`, stored: true });
    const [notification, ...others] = running.nodes.get("DEU")?.inbox?.store.list() ?? [];
    expect(others).toEqual([]);
    expect(notification).toMatchObject({
      queryId: result.queryId,
      requestingCountry: "FRA",
      requestingAgency: "border-police",
      requesterLocation: "FRA-BORDER-POST-17",
      purpose: "PURPOSE_BORDER_CHECK",
      hits: [{ reference: hit?.hits[0]?.reference, action: "REQUESTED_ACTION_DISCREET_CHECK" }],
    });
    // No personal data in the owner's inbox: names, dates and document numbers stay out.
    expect(JSON.stringify(notification)).not.toMatch(/Dupont|1980-05-01|C01X00T47/);
    // ESP had no hit and gets nothing.
    expect(running.nodes.get("ESP")?.inbox?.store.list()).toEqual([]);
  });

  it("delivers a notification published while the owner's node was not consuming, once, even when delivered again", async () => {
    const handled = new HandledQueue();
    const running = await startMesh(handled, false);
    const result = await running.client.check(bySuspectName, { location: "FRA-BORDER-POST-3" });
    expect(result.results.find((r) => r.country === "DEU")?.status).toBe("hit");
    // The coordinator publishes after answering; its stop waits until JetStream acknowledged it.
    await running.coordinator.stop();

    const node = await restartDeu(running, handled, true);
    expect(await handled.next()).toEqual({ notificationId: `${result.queryId}:DEU`, stored: true });
    expect(node.inbox?.store.list().map((n) => n.queryId)).toEqual([result.queryId]);

    // The same notification again under another JetStream message id (past deduplication), as a
    // redelivery after a lost ack would bring it: acknowledged, not stored twice.
    const stored = node.inbox?.store.list()[0];
    const connection = await connectNats({ servers: running.nats.url, name: "test-republisher" });
    try {
      const notification = await republish(jetstream(connection), result.queryId);
      expect(notification.notificationId).toBe(stored?.notificationId);
    } finally {
      await connection.close();
    }
    expect(await handled.next()).toEqual({ notificationId: `${result.queryId}:DEU`, stored: false });
    expect(node.inbox?.store.list()).toHaveLength(1);

    // The CLI lists what the node received.
    await node.stop();
    const listed = await runCli(["notifications", "list", "--data", running.dataDir("DEU"), "--json"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split("\n").map((text) => (JSON.parse(text) as { queryId: string }).queryId)).toEqual([result.queryId]);
  });

  it("rejects a notification whose hit is not the owner's own signed answer", async () => {
    const handled = new HandledQueue();
    const running = await startMesh(handled);
    // Checked through the coordinator directly, to hold the countries' signed answers.
    const { envelope } = running.client.buildQuery(bySuspectName);
    const outcome = await running.coordinator.check(envelope);
    expect(await handled.next()).toMatchObject({ stored: true });
    const espTagged = outcome.results.find((r) => r.country === "ESP")?.answer;
    const espIdentity = running.trust.nodes.get("ESP");
    if (!espTagged || !espIdentity) throw new Error("ESP did not answer");
    // ESP's no-hit travels with pair tags only; as evidence it would have to be signed, so sign it as ESP.
    const espAnswer = signAnswer(decodeMatchAnswer(espTagged.payload), espIdentity);

    const connection = await connectNats({ servers: running.nats.url, name: "test-forger" });
    try {
      // ESP's signed no-hit answer presented as a DEU hit.
      const forged: HitNotification = {
        notificationId: `${outcome.queryId}:forged`,
        ownerCountry: "DEU",
        queryId: outcome.queryId,
        requestingCountry: "FRA",
        requestingAgency: "border-police",
        requesterLocation: "",
        purpose: "PURPOSE_BORDER_CHECK",
        queriedAtMs: Date.now(),
        notifiedAtMs: Date.now(),
        answer: espAnswer,
      };
      await jetstream(connection).publish(notifySubject("DEU"), encodeHitNotification(forged), { msgID: forged.notificationId });
      // ESP's answer as it travelled, unsigned: not evidence of anything.
      const unsigned = { ...forged, notificationId: `${outcome.queryId}:unsigned`, answer: espTagged };
      await jetstream(connection).publish(notifySubject("DEU"), encodeHitNotification(unsigned), { msgID: unsigned.notificationId });
    } finally {
      await connection.close();
    }
    expect(await handled.next()).toEqual({ notificationId: `${outcome.queryId}:forged`, stored: false, code: ErrorCode.SignerMismatch });
    expect(await handled.next()).toEqual({ notificationId: `${outcome.queryId}:unsigned`, stored: false, code: ErrorCode.BadSignature });
    expect(running.nodes.get("DEU")?.inbox?.store.list()).toHaveLength(1);
  });
});

/** Re-publishes the stored stream message of a query's DEU notification under a new message id. */
async function republish(js: ReturnType<typeof jetstream>, queryId: string): Promise<HitNotification> {
  const manager = await js.jetstreamManager();
  const message = await manager.streams.getMessage("WATCHMESH_NOTIFY", { last_by_subj: notifySubject("DEU") });
  const notification = decodeHitNotification(message?.data ?? new Uint8Array());
  expect(notification.queryId).toBe(queryId);
  await js.publish(notifySubject("DEU"), encodeHitNotification(notification), { msgID: `${notification.notificationId}:again` });
  return notification;
}
