/**
 * A country's inbox of hit notifications: the node consumes its JetStream consumer durably, verifies
 * each notification (the hit inside is the node's own signed answer), stores it in a small LMDB
 * environment beside the records (`<dataDir>/notifications`), and only then acknowledges it. A
 * notification published while the node was down waits in the stream; a redelivered one (e.g. the ack
 * was lost) finds its id already stored and is acknowledged without a second entry.
 */
import path from "node:path";
import type { JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { open, type Database, type RootDatabase } from "lmdb";
import { openAnswer } from "../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { ensureNotifyStream, runDurableConsumer, type RunningConsumer } from "../common/jetstream.ts";
import { decodeHitNotification, decodeMatchAnswer, type Hit, type Purpose } from "../common/proto.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { NOTIFY_STREAM, notifyConsumer, notifySubject } from "../common/subjects.ts";

/** A stored notification, as `watchmesh notifications list --json` prints it (a documented contract). */
export interface StoredNotification {
  notificationId: string;
  queryId: string;
  requestingCountry: string;
  requestingAgency: string;
  /** Border post or terminal id. */
  requesterLocation: string;
  purpose: Purpose;
  queriedAt: string;
  notifiedAt: string;
  receivedAt: string;
  /** The hits of the node's own answer: references, scores, categories, requested actions. */
  hits: Hit[];
}

/** The inbox's LMDB environment inside a node's data directory. */
export function inboxPath(dataDir: string): string {
  return path.join(dataDir, "notifications");
}

/** Read access to a node's inbox, for the CLI (another process may be consuming meanwhile). */
export class InboxStore implements AsyncDisposable {
  readonly #root: RootDatabase;
  readonly #db: Database<StoredNotification, string>;

  constructor(dataDir: string) {
    this.#root = open({ path: inboxPath(dataDir), noSubdir: false });
    this.#db = this.#root.openDB<StoredNotification, string>("notifications", { encoding: "json" });
  }

  /** Notifications oldest first (by the time the query was made). */
  list(): StoredNotification[] {
    return Array.from(this.#db.getRange(), ({ value }) => value).sort((a, b) => a.queriedAt.localeCompare(b.queriedAt));
  }

  /** Stores a notification unless its id is stored already; true when it was new. */
  async add(notification: StoredNotification): Promise<boolean> {
    return this.#db.ifNoExists(notification.notificationId, () => {
      this.#db.put(notification.notificationId, notification).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    await this.#root.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export interface NotificationInboxOptions {
  connection: NatsConnection;
  /** The node's country: it reads `watchmesh.v1.notify.<country>` only. */
  country: string;
  dataDir: string;
  registry: () => TrustRegistry;
  logger: Logger;
  /** Called after each message was handled (stored, already stored, or rejected): lets tests wait. */
  onHandled?: (outcome: { notificationId: string; stored: boolean; code?: string }) => void;
}

export class NotificationInbox {
  readonly store: InboxStore;
  readonly #consumer: RunningConsumer;
  #stopping: Promise<void> | undefined;

  private constructor(store: InboxStore, consumer: RunningConsumer) {
    this.store = store;
    this.#consumer = consumer;
  }

  /** Starts consuming; undefined (and a warning) without JetStream or before the stream exists. */
  static async start(options: NotificationInboxOptions): Promise<NotificationInbox | undefined> {
    const { connection, country, logger } = options;
    const store = new InboxStore(options.dataDir);
    let consumer: RunningConsumer | undefined;
    try {
      consumer = await runDurableConsumer({
        connection,
        stream: NOTIFY_STREAM,
        durable: notifyConsumer(country),
        filterSubject: notifySubject(country),
        ensureStream: ensureNotifyStream,
        streamLabel: "notification",
        what: "hit notifications",
        logger,
        handle: (message) => handleNotification(message, store, options),
      });
    } finally {
      if (!consumer) await store.close();
    }
    return consumer && new NotificationInbox(store, consumer);
  }

  /** Stops consuming (unacknowledged messages stay in the stream) and closes the inbox store. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#consumer.stop();
      await this.store.close();
    })();
    return this.#stopping;
  }
}

async function handleNotification(message: JsMsg, store: InboxStore, options: NotificationInboxOptions): Promise<void> {
  let notificationId = "";
  try {
    const notification = decodeHitNotification(message.data);
    notificationId = notification.notificationId;
    if (notification.ownerCountry !== options.country) {
      throw new WatchmeshError(ErrorCode.SignerMismatch, "notification is addressed to another country");
    }
    // The hit must be this country's own signed answer to that query.
    const digest = decodeMatchAnswer(notification.answer.payload).queryDigest;
    const answer = openAnswer(notification.answer, options.registry(), { nowMs: Date.now(), expectedCountry: options.country, expectedQueryDigest: digest });
    if (answer.queryId !== notification.queryId || answer.hits.length === 0) {
      throw new WatchmeshError(ErrorCode.AnswerInvalid, "notification does not carry a hit answer to its query");
    }
    const stored = await store.add({
      notificationId,
      queryId: notification.queryId,
      requestingCountry: notification.requestingCountry,
      requestingAgency: notification.requestingAgency,
      requesterLocation: notification.requesterLocation,
      purpose: notification.purpose,
      queriedAt: new Date(notification.queriedAtMs).toISOString(),
      notifiedAt: new Date(notification.notifiedAtMs).toISOString(),
      receivedAt: new Date().toISOString(),
      hits: answer.hits,
    });
    message.ack();
    options.onHandled?.({ notificationId, stored });
  } catch (error) {
    const failure = WatchmeshError.from(error, ErrorCode.MalformedMessage);
    // A notification that cannot be verified never will be: drop it rather than redeliver forever.
    message.term();
    options.logger.warn({ code: failure.code, notificationId: notificationId || undefined }, "hit notification rejected");
    options.onHandled?.({ notificationId, stored: false, code: failure.code });
  }
}
