/**
 * The JetStream streams of hit notifications (proto/watchmesh/v1/notification.proto) and follow-ups
 * (followup.proto), and the durable consumers nodes read them with. In a real deployment operators
 * create the streams once (deploy/README.md); a node or coordinator allowed to manage JetStream creates
 * them when missing, so a local mesh needs no manual step.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JsMsg,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { WatchmeshError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { FOLLOWUP_STREAM, followupReplySubject, followupRequestSubject, NOTIFY_STREAM, notifySubject } from "./subjects.ts";

const NANOS_PER_MS = 1_000_000;
/** How long an unacknowledged notification waits for its owner. */
export const NOTIFY_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/** Window in which a republished notification (same message id) is stored only once. */
export const NOTIFY_DUPLICATE_WINDOW_MS = 2 * 60 * 1000;
/** JetStream's "stream not found" API error code. */
const STREAM_NOT_FOUND = 10059;

export function ensureNotifyStream(connection: NatsConnection): Promise<void> {
  return ensureStream(connection, NOTIFY_STREAM, [notifySubject("*")]);
}

/** The stream of follow-up requests and replies (same limits: 30 days, deduplicated by message id). */
export function ensureFollowupStream(connection: NatsConnection): Promise<void> {
  return ensureStream(connection, FOLLOWUP_STREAM, [followupRequestSubject("*"), followupReplySubject("*")]);
}

async function ensureStream(connection: NatsConnection, name: string, subjects: string[]): Promise<void> {
  const manager = await jetstreamManager(connection);
  try {
    await manager.streams.info(name);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== STREAM_NOT_FOUND) throw error;
  }
  await manager.streams.add({
    name,
    subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: NOTIFY_MAX_AGE_MS * NANOS_PER_MS,
    duplicate_window: NOTIFY_DUPLICATE_WINDOW_MS * NANOS_PER_MS,
  });
}

/** Whether an error says a stream does not exist (operators have not created it yet). */
export function isStreamMissing(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND;
}

/** Whether an error says the NATS server runs without JetStream (features that need it are then off). */
export function isJetStreamDisabled(error: unknown): boolean {
  return error instanceof Error && /jetstream (is )?not enabled/i.test(error.message);
}

/**
 * The messages of a durable pull consumer with explicit acks on `stream`, created when missing.
 * Used by a node for its country's notifications and follow-up requests.
 */
export async function consumeDurably(connection: NatsConnection, options: { stream: string; durable: string; filterSubject: string }): Promise<ConsumerMessages> {
  const manager = await jetstreamManager(connection);
  try {
    await manager.consumers.info(options.stream, options.durable);
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
    await manager.consumers.add(options.stream, {
      durable_name: options.durable,
      filter_subject: options.filterSubject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
  }
  const consumer = await jetstream(connection).consumers.get(options.stream, options.durable);
  return consumer.consume({ max_messages: 64 });
}

export interface DurableConsumerOptions {
  connection: NatsConnection;
  stream: string;
  durable: string;
  filterSubject: string;
  /** Creates the stream when it is missing and the connection may. */
  ensureStream: (connection: NatsConnection) => Promise<void>;
  /** What the stream and its messages are called in warnings ("notification", "hit notifications"). */
  streamLabel: string;
  what: string;
  logger: Logger;
  /** Handles one message, acking or terminating it; must not throw. */
  handle: (message: JsMsg) => Promise<void>;
}

export interface RunningConsumer {
  /** Stops pulling (unacknowledged messages stay in the stream) and waits for the message in hand. */
  stop(): Promise<void>;
}

/**
 * Runs a durable consumer, one message at a time. Resolves undefined, with a warning, when the server
 * runs no JetStream or the stream does not exist yet: the node then serves queries without it (and
 * picks the stream up when restarted after operators created it).
 */
export async function runDurableConsumer(options: DurableConsumerOptions): Promise<RunningConsumer | undefined> {
  const { connection, logger, what } = options;
  try {
    await options.ensureStream(connection);
  } catch (error) {
    if (isJetStreamDisabled(error)) {
      logger.warn(`NATS has no JetStream: this node receives no ${what}`);
      return undefined;
    }
    logger.warn({ code: WatchmeshError.from(error).code }, `could not check the ${options.streamLabel} stream`);
  }
  let messages: ConsumerMessages;
  try {
    messages = await consumeDurably(connection, options);
  } catch (error) {
    if (!isStreamMissing(error)) throw error;
    logger.warn({ stream: options.stream }, `${options.streamLabel} stream missing: this node receives no ${what} until restarted`);
    return undefined;
  }
  const loop = (async () => {
    for await (const message of messages) await options.handle(message);
  })();
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        await messages.close().catch(() => undefined);
        await loop;
      })();
      return stopping;
    },
  };
}
