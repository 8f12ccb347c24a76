import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Context } from "@opentelemetry/api";
import { openAggregateAnswer } from "../common/aggregate-query.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { settleWithin } from "../common/nats-connection.ts";
import { AggregateStatus, decodeEnvelope, type AggregateAnswer, type SignedEnvelope } from "../common/proto.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { AGGREGATE_QUERY_KIND, coordinatorInboxPrefix, DEADLINE_HEADER, KIND_HEADER } from "../common/subjects.ts";
import { injectIntoNatsHeaders } from "../common/telemetry.ts";
import { claimedNodeCountry } from "./gatherer.ts";

/** One country's outcome of an aggregate query. */
export interface GatheredAggregate {
  country: string;
  /** UNSPECIFIED when the country gave no valid answer before the deadline. */
  status: AggregateStatus;
  /** The node's signed answer, forwarded unmodified. */
  answer?: SignedEnvelope;
  /** The verified content of `answer`. */
  content?: AggregateAnswer;
  elapsedMs: number;
  errorCode: string;
}

export interface AggregateGatherRequest {
  envelopeBytes: Uint8Array;
  queryDigest: Uint8Array;
  subjects: readonly string[];
  expectedCountries: readonly string[];
  deadlineAtMs: number;
  parentContext: Context;
  registry: TrustRegistry;
}

interface PendingAggregate {
  request: AggregateGatherRequest;
  startedAt: number;
  results: Map<string, GatheredAggregate>;
  /** Answers claiming a country's key that failed verification: replaced by an authentic one. */
  provisional: Map<string, GatheredAggregate>;
  finish: () => void;
}

/**
 * Scatter/gather of aggregate queries on one wildcard inbox per coordinator instance (beside those of
 * single and batch checks): publishes the signed query once per subject with the Watchmesh-Kind
 * header, verifies each node's signed answer against the query digest, and resolves when every
 * country answered or at the deadline.
 */
export class AggregateGatherer {
  readonly #connection: NatsConnection;
  readonly #prefix: string;
  readonly #pending = new Map<string, PendingAggregate>();
  readonly #subscription: Subscription;
  #nextToken = 0;

  constructor(connection: NatsConnection, instanceId: string) {
    this.#connection = connection;
    this.#prefix = `${coordinatorInboxPrefix(instanceId)}.aggregate`;
    this.#subscription = connection.subscribe(`${this.#prefix}.*`, {
      callback: (error, msg) => {
        if (!error) this.#onAnswer(msg);
      },
    });
  }

  gather(request: AggregateGatherRequest): Promise<GatheredAggregate[]> {
    const token = (this.#nextToken++).toString(36);
    return new Promise<GatheredAggregate[]>((resolve) => {
      const pending: PendingAggregate = {
        request,
        startedAt: performance.now(),
        results: new Map(),
        provisional: new Map(),
        finish: () => {
          clearTimeout(timer);
          this.#pending.delete(token);
          resolve(
            request.expectedCountries.map(
              (country) =>
                pending.results.get(country) ??
                pending.provisional.get(country) ?? { country, status: AggregateStatus.Unspecified, elapsedMs: Math.round(performance.now() - pending.startedAt), errorCode: "" },
            ),
          );
        },
      };
      const timer = setTimeout(pending.finish, Math.max(0, request.deadlineAtMs - Date.now()));
      this.#pending.set(token, pending);
      const hdrs = natsHeaders();
      hdrs.set(DEADLINE_HEADER, String(request.deadlineAtMs));
      hdrs.set(KIND_HEADER, AGGREGATE_QUERY_KIND);
      injectIntoNatsHeaders(hdrs, request.parentContext);
      try {
        for (const subject of request.subjects) {
          this.#connection.publish(subject, request.envelopeBytes, { reply: `${this.#prefix}.${token}`, headers: hdrs });
        }
      } catch {
        pending.finish();
      }
    });
  }

  #onAnswer(msg: Msg): void {
    const pending = this.#pending.get(msg.subject.slice(this.#prefix.length + 1));
    if (!pending) return; // Late answer for a finished query.
    const elapsedMs = Math.round(performance.now() - pending.startedAt);
    let envelope: SignedEnvelope;
    try {
      envelope = decodeEnvelope(msg.data);
    } catch {
      return; // Not attributable to any country.
    }
    const { registry, expectedCountries, queryDigest } = pending.request;
    const country = claimedNodeCountry(registry, envelope.keyId);
    if (!country || !expectedCountries.includes(country) || pending.results.has(country)) return;
    try {
      const content = openAggregateAnswer(envelope, registry, { nowMs: Date.now(), expectedCountry: country, expectedQueryDigest: queryDigest });
      pending.results.set(country, { country, status: content.status, answer: envelope, content, elapsedMs, errorCode: content.errorCode });
    } catch (error) {
      const errorCode = WatchmeshError.from(error, ErrorCode.AnswerInvalid).code;
      pending.provisional.set(country, { country, status: AggregateStatus.Error, elapsedMs, errorCode });
      return;
    }
    if (pending.results.size === expectedCountries.length) pending.finish();
  }

  async close(): Promise<void> {
    for (const pending of [...this.#pending.values()]) pending.finish();
    await settleWithin(this.#subscription.drain(), 2000);
  }
}
