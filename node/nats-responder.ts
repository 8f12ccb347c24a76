import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { batchMessageLimitBytes } from "../common/batch-messages.ts";
import { encodeBatchAnswer, encodeEnvelope } from "../common/proto.ts";
import type { Logger } from "../common/logger.ts";
import { settleWithin } from "../common/nats-connection.ts";
import {
  AGGREGATE_QUERY_KIND,
  BATCH_QUERY_KIND,
  COORDINATOR_KEY_HEADER,
  DEADLINE_HEADER,
  KIND_HEADER,
  nodeMatchSubjects,
  nodeQueueGroup,
} from "../common/subjects.ts";
import { contextFromNatsHeaders } from "../common/telemetry.ts";
import { answerBatch } from "./batch-answerer.ts";
import type { AggregateService } from "./aggregate-service.ts";
import type { AnswerDelivery, MatchService } from "./match-service.ts";

export interface NatsResponderOptions {
  connection: NatsConnection;
  service: MatchService;
  /** Answers aggregate queries; without it they go unanswered (the asker sees the country unavailable). */
  aggregates?: AggregateService | undefined;
  logger: Logger;
}

/** How long stop() waits for batches in hand to finish their answers. */
const BATCH_STOP_GRACE_MS = 5000;

/**
 * Answers fan-out queries arriving over NATS: single signed queries, batches (BatchQuery, marked by
 * the Watchmesh-Kind header) answered with one BatchAnswer, and aggregate queries (same header). All replicas of one country join the same
 * queue group, so each query or batch is answered by exactly one of them.
 */
export class NatsResponder {
  readonly #subscriptions: Subscription[];
  readonly #connection: NatsConnection;
  readonly #service: MatchService;
  readonly #aggregates: AggregateService | undefined;
  readonly #logger: Logger;
  /** Batches being answered (a batch yields to the event loop between slices of queries). */
  readonly #batches = new Set<Promise<void>>();
  readonly #stopSignal = new AbortController();
  #stopping: Promise<void> | undefined;

  private constructor(options: NatsResponderOptions) {
    this.#connection = options.connection;
    this.#service = options.service;
    this.#aggregates = options.aggregates;
    this.#logger = options.logger;
    const queue = nodeQueueGroup(options.service.country);
    this.#subscriptions = nodeMatchSubjects(options.service.country).map((subject) =>
      options.connection.subscribe(subject, { queue, callback: (error, msg) => this.#onMessage(error, msg) }),
    );
  }

  static start(options: NatsResponderOptions): NatsResponder {
    return new NatsResponder(options);
  }

  #onMessage(error: Error | null, msg: Msg): void {
    if (error) {
      this.#logger.error({ code: "NATS_SUBSCRIPTION" }, "subscription error");
      return;
    }
    if (!msg.reply) return; // Nobody is waiting for an answer.
    const deadline = Number(msg.headers?.get(DEADLINE_HEADER) ?? "");
    const deadlineAtMs = Number.isFinite(deadline) && deadline > 0 ? deadline : undefined;
    if (deadlineAtMs !== undefined && Date.now() > deadlineAtMs) return; // The asker has stopped waiting.
    // Answers travel back through the coordinator named here (if any), which checks them too.
    const delivery = { relayed: true, relayKeyId: msg.headers?.get(COORDINATOR_KEY_HEADER) || undefined };
    const kind = msg.headers?.get(KIND_HEADER);
    if (kind === BATCH_QUERY_KIND) {
      this.#startBatch(msg, deadlineAtMs, delivery);
      return;
    }
    if (kind === AGGREGATE_QUERY_KIND) {
      this.#startAggregate(msg);
      return;
    }
    const answer = this.#service.answerBytes(msg.data, contextFromNatsHeaders(msg.headers), delivery);
    this.#respond(msg, encodeEnvelope(answer));
  }

  #startBatch(msg: Msg, deadlineAtMs: number | undefined, delivery: AnswerDelivery): void {
    const answering = answerBatch(msg.data, {
      service: this.#service,
      delivery,
      logger: this.#logger,
      limitBytes: batchMessageLimitBytes(this.#connection.info?.max_payload),
      signal: this.#stopSignal.signal,
      parent: contextFromNatsHeaders(msg.headers),
      ...(deadlineAtMs === undefined ? {} : { deadlineAtMs }),
    })
      .then((reply) => {
        if (reply) this.#respond(msg, encodeBatchAnswer(reply));
      })
      .catch(() => {
        // answer() never throws; this is a bug in the batch loop itself. The coordinator reports the
        // country unavailable for the batch.
        this.#logger.error({ code: "BATCH_FAILED" }, "batch could not be answered");
      })
      .finally(() => this.#batches.delete(answering));
    this.#batches.add(answering);
  }

  /** Aggregate queries scan the store in slices; tracked like batches so stop() lets them finish. */
  #startAggregate(msg: Msg): void {
    if (!this.#aggregates) return;
    const answering = this.#aggregates
      .answerBytes(msg.data, contextFromNatsHeaders(msg.headers))
      .then((answer) => this.#respond(msg, encodeEnvelope(answer)))
      .finally(() => this.#batches.delete(answering));
    this.#batches.add(answering);
  }

  #respond(msg: Msg, bytes: Uint8Array): void {
    try {
      msg.respond(bytes);
    } catch {
      this.#logger.warn({ code: "NATS_RESPOND" }, "could not publish an answer");
    }
  }

  /** Stops taking new queries, finishes the ones in hand (batches send what they answered). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all(this.#subscriptions.map((sub) => settleWithin(sub.drain(), 2000)));
      this.#stopSignal.abort();
      await settleWithin(Promise.allSettled([...this.#batches]), BATCH_STOP_GRACE_MS);
    })();
    return this.#stopping;
  }
}
