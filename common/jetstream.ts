/**
 * The JetStream streams of hit notifications (proto/watchmesh/v1/notification.proto) and follow-ups
 * (followup.proto). In a real
 * deployment operators create it once (deploy/README.md); a node or coordinator allowed to manage
 * JetStream creates it when missing, so a local mesh needs no manual step.
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
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
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
