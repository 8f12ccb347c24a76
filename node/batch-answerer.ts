import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { SpanKind, context as otelContext, trace, type Context } from "@opentelemetry/api";
import { BATCH_FIXED_BYTES, envelopeFieldBytes, MAX_ANSWER_FIELD_BYTES } from "../common/batch-messages.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { decodeBatchQuery, type BatchAnswer, type BatchQuery, type SignedEnvelope } from "../common/proto.ts";
import { markSpanError, tracer } from "../common/telemetry.ts";
import type { AnswerDelivery, MatchService } from "./match-service.ts";

/** Queries answered between two yields to the event loop, so single checks are not held up by a batch. */
const QUERIES_PER_SLICE = 25;

export interface BatchAnswerOptions {
  service: MatchService;
  logger: Logger;
  /** Largest BatchAnswer that fits one NATS message on this connection (batchMessageLimitBytes). */
  limitBytes: number;
  /** Absolute time (ms since epoch) after which the coordinator no longer waits; undefined: no limit. */
  deadlineAtMs?: number;
  /** Aborted when the node stops: the answers made so far are still returned. */
  signal?: AbortSignal;
  parent?: Context;
  /** How the answers travel (relayed by a coordinator over NATS): decides their tags and signatures. */
  delivery?: AnswerDelivery;
}

/**
 * Answers a BatchQuery with one BatchAnswer: each query through `MatchService.answer`, exactly as if it
 * had come alone (signature, replay, sharing policy and quota checks per traveller), in query order.
 *
 * The reply is one NATS message (nodes may send one response per request), so it stops before an
 * answer could make it outgrow `limitBytes`, and before the node stops; the queries after that are
 * left untouched (their nonces unspent), for the coordinator to send again. Returns undefined when
 * there is nothing useful to send: an undecodable batch, or the deadline passed.
 */
export async function answerBatch(bytes: Uint8Array, options: BatchAnswerOptions): Promise<BatchAnswer | undefined> {
  const { service, logger, limitBytes, deadlineAtMs, signal } = options;
  const span = tracer().startSpan("watchmesh.node.batch", { kind: SpanKind.SERVER }, options.parent);
  span.setAttribute("watchmesh.country", service.country);
  // Each traveller's match span is a child of the batch span.
  const parent = trace.setSpan(options.parent ?? otelContext.active(), span);
  try {
    let batch: BatchQuery;
    try {
      batch = decodeBatchQuery(bytes);
    } catch (error) {
      // Answers could not be bound to any query: the countries' results stay unavailable.
      const failure = WatchmeshError.from(error, ErrorCode.MalformedMessage);
      markSpanError(span, failure.code);
      logger.warn({ code: failure.code }, "batch query dropped");
      return undefined;
    }
    span.setAttributes({ "watchmesh.batch_size": batch.queries.length, "watchmesh.batch_first_index": batch.firstIndex });
    const answers: SignedEnvelope[] = [];
    let usedBytes = BATCH_FIXED_BYTES;
    for (const [position, query] of batch.queries.entries()) {
      if (position > 0 && position % QUERIES_PER_SLICE === 0) {
        await yieldToEventLoop();
        if (deadlineAtMs !== undefined && Date.now() > deadlineAtMs) {
          markSpanError(span, ErrorCode.DeadlineExceeded);
          logger.warn({ answered: answers.length, size: batch.queries.length }, "batch deadline passed; no answer sent");
          return undefined;
        }
      }
      if (signal?.aborted && answers.length > 0) break;
      // The first answer always goes in: a single answer that does not fit could not be sent alone either.
      if (answers.length > 0 && usedBytes + MAX_ANSWER_FIELD_BYTES > limitBytes) break;
      const answer = service.answer(query, parent, options.delivery);
      answers.push(answer);
      usedBytes += envelopeFieldBytes(answer);
    }
    span.setAttribute("watchmesh.batch_answered", answers.length);
    if (answers.length < batch.queries.length) {
      logger.info({ answered: answers.length, size: batch.queries.length }, "batch answered in part; the coordinator sends the rest again");
    }
    return { answers, firstIndex: batch.firstIndex };
  } finally {
    span.end();
  }
}
