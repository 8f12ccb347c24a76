import { headers as natsHeaders, type MsgHdrs, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Context } from "@opentelemetry/api";
import { batchMessageLimitBytes, cutIntoParts, envelopeFieldBytes, type BatchPart } from "../common/batch-messages.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { settleWithin } from "../common/nats-connection.ts";
import { CountryStatus, decodeBatchAnswer, encodeBatchQuery, type BatchAnswer, type SignedEnvelope } from "../common/proto.ts";
import type { TrustRegistry } from "../common/registry.ts";
import type { PairKeyring } from "../common/pair-tags.ts";
import { BATCH_QUERY_KIND, COORDINATOR_KEY_HEADER, coordinatorBatchInboxPrefix, DEADLINE_HEADER, KIND_HEADER, matchCountrySubject } from "../common/subjects.ts";
import { injectIntoNatsHeaders } from "../common/telemetry.ts";
import { claimedNodeSigner, invalidResult, verifiedResult, type GatheredResult } from "./gatherer.ts";

export interface BatchGatherRequest {
  /** Each traveller's query envelope, exactly as the border system signed it. */
  envelopes: readonly SignedEnvelope[];
  /** SHA-256 of each query's payload, in the same order: each answer must be bound to its own query. */
  queryDigests: readonly Uint8Array[];
  /** Subjects to publish every part on (the all-countries subject, or one per asked country). */
  subjects: readonly string[];
  expectedCountries: readonly string[];
  deadlineAtMs: number;
  parentContext: Context;
  registry: TrustRegistry;
}

export interface BatchGatherOutcome {
  /** One entry per query, in request order: one result per expected country, sorted by country. */
  travellers: GatheredResult[][];
  /** BatchQuery messages the batch was cut into (1 unless it did not fit one NATS message). */
  parts: number;
  /** NATS messages published: parts × subjects, plus remainders sent again to a country. */
  messagesPublished: number;
}

/** What one country answered so far, by query position. */
interface CountryAnswers {
  results: (GatheredResult | undefined)[];
  /** Answers claiming this country's key whose signature failed: replaced by an authentic one. */
  provisional: Map<number, GatheredResult>;
  answered: number;
  /** Positions from which the rest of a part was already sent again to this country. */
  resentFrom: Set<number>;
}

interface PendingBatch {
  request: BatchGatherRequest;
  startedAt: number;
  parts: BatchPart[];
  countries: Map<string, CountryAnswers>;
  completeCountries: number;
  messagesPublished: number;
  /** `${inbox prefix}.<batch token>`: each message published gets its own reply subject below it. */
  replyPrefix: string;
  headers: MsgHdrs;
  finish: () => void;
}

/**
 * Scatter/gather of batch checks on one wildcard inbox per coordinator instance (beside the single-check
 * Gatherer's): publishes each part of a batch once per subject, files every country's signed answers
 * by query position as its BatchAnswer arrives, verifying each against its own query's digest, and
 * resolves when every country answered every query or at the deadline.
 *
 * A node replies with one message; when its answers would not fit one, it answers a prefix of the part
 * and this sends the rest again to that country only (the queries it did not answer are untouched).
 */
export class BatchGatherer {
  readonly #connection: NatsConnection;
  readonly #prefix: string;
  readonly #pending = new Map<string, PendingBatch>();
  readonly #subscription: Subscription;
  readonly #keyring: PairKeyring | undefined;
  #nextToken = 0;

  constructor(connection: NatsConnection, instanceId: string, keyring?: PairKeyring) {
    this.#connection = connection;
    this.#keyring = keyring;
    this.#prefix = coordinatorBatchInboxPrefix(instanceId);
    this.#subscription = connection.subscribe(`${this.#prefix}.*.*`, {
      callback: (error, msg) => {
        if (!error) this.#onReply(msg);
      },
    });
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Publishes the batch and gathers the answers. Throws PAYLOAD_TOO_LARGE, before publishing anything,
   * when a single query would not fit one NATS message on this server.
   */
  gather(request: BatchGatherRequest): Promise<BatchGatherOutcome> {
    const parts = cutIntoParts(request.envelopes.map(envelopeFieldBytes), batchMessageLimitBytes(this.#connection.info?.max_payload));
    const token = (this.#nextToken++).toString(36);
    const startedAt = performance.now();
    const headers = natsHeaders();
    headers.set(DEADLINE_HEADER, String(request.deadlineAtMs));
    headers.set(KIND_HEADER, BATCH_QUERY_KIND);
    if (this.#keyring) headers.set(COORDINATOR_KEY_HEADER, this.#keyring.identity.keyId);
    injectIntoNatsHeaders(headers, request.parentContext);
    return new Promise<BatchGatherOutcome>((resolve) => {
      const pending: PendingBatch = {
        request,
        startedAt,
        parts,
        countries: new Map(
          request.expectedCountries.map((country) => [
            country,
            { results: new Array<GatheredResult | undefined>(request.envelopes.length), provisional: new Map(), answered: 0, resentFrom: new Set() },
          ]),
        ),
        completeCountries: 0,
        messagesPublished: 0,
        replyPrefix: `${this.#prefix}.${token}`,
        headers,
        finish: () => {
          clearTimeout(timer);
          this.#pending.delete(token);
          resolve({ travellers: this.#collect(pending), parts: parts.length, messagesPublished: pending.messagesPublished });
        },
      };
      const timer = setTimeout(pending.finish, Math.max(0, request.deadlineAtMs - Date.now()));
      this.#pending.set(token, pending);
      try {
        for (const part of parts) {
          for (const subject of request.subjects) this.#publish(pending, subject, part.start, part.end);
        }
      } catch {
        // Publishing failed (connection closed): every country is unavailable, reported by #collect.
        pending.finish();
      }
    });
  }

  #publish(pending: PendingBatch, subject: string, start: number, end: number): void {
    const queries = pending.request.envelopes.slice(start, end);
    // A reply subject per message: a node may send one response per request it received (the hub's
    // allow_responses), and several parts of one batch may reach the same node.
    const reply = `${pending.replyPrefix}.${pending.messagesPublished.toString(36)}`;
    this.#connection.publish(subject, encodeBatchQuery({ queries, firstIndex: start }), { reply, headers: pending.headers });
    pending.messagesPublished += 1;
  }

  #onReply(msg: Msg): void {
    const [token = ""] = msg.subject.slice(this.#prefix.length + 1).split(".");
    const pending = this.#pending.get(token);
    if (!pending) return; // Late reply for a finished batch.
    const elapsedMs = Math.round(performance.now() - pending.startedAt);
    let reply: BatchAnswer;
    try {
      reply = decodeBatchAnswer(msg.data);
    } catch {
      return; // Not attributable to any country: its results stay unavailable unless it replies properly.
    }
    const { registry, queryDigests } = pending.request;
    const nowMs = Date.now();
    // The country that authentically answered the first query of this reply, if any.
    let replier: string | undefined;
    reply.answers.forEach((envelope, offset) => {
      const index = reply.firstIndex + offset;
      const digest = queryDigests[index];
      const signer = claimedNodeSigner(registry, envelope.keyId);
      const country = signer?.country;
      const answers = country === undefined ? undefined : pending.countries.get(country);
      if (!digest || !signer || !country || !answers || answers.results[index]) return;
      try {
        const options = { nowMs, expectedCountry: country, expectedQueryDigest: digest, keyring: this.#keyring };
        this.#file(pending, answers, index, verifiedResult(envelope, signer, options, elapsedMs));
      } catch (error) {
        const code = WatchmeshError.from(error, ErrorCode.AnswerInvalid).code;
        // Anyone can claim a key id, and anyone who saw an old answer can replay it (bound to another
        // query): remember the failure, but keep waiting for an authentic answer to this query.
        answers.provisional.set(index, invalidResult(country, elapsedMs, code));
        return;
      }
      if (offset === 0) replier = country;
    });
    if (replier !== undefined) this.#sendRest(pending, replier, reply.firstIndex + reply.answers.length);
    if (pending.completeCountries >= pending.countries.size) pending.finish();
  }

  #file(pending: PendingBatch, answers: CountryAnswers, index: number, result: GatheredResult): void {
    answers.results[index] = result;
    answers.answered += 1;
    if (answers.answered === pending.request.envelopes.length) pending.completeCountries += 1;
  }

  /** When a country answered a part only up to `next`, sends it the rest of that part, once. */
  #sendRest(pending: PendingBatch, country: string, next: number): void {
    const part = pending.parts.find((candidate) => candidate.start < next && next < candidate.end);
    const answers = pending.countries.get(country);
    if (!part || !answers || answers.results[next] || answers.resentFrom.has(next)) return;
    if (Date.now() >= pending.request.deadlineAtMs) return;
    answers.resentFrom.add(next);
    try {
      this.#publish(pending, matchCountrySubject(country), next, part.end);
    } catch {
      // Connection closed: the rest stays unavailable for this country.
    }
  }

  #collect(pending: PendingBatch): GatheredResult[][] {
    const elapsedMs = Math.round(performance.now() - pending.startedAt);
    const countries = [...pending.countries.keys()].sort();
    return pending.request.envelopes.map((_, index) =>
      countries.map((country) => {
        const answers = pending.countries.get(country);
        return (
          answers?.results[index] ??
          answers?.provisional.get(index) ?? { country, status: CountryStatus.Unavailable, elapsedMs, errorCode: "", hitCount: 0 }
        );
      }),
    );
  }

  /** Finishes every pending batch with what it has, then unsubscribes. */
  async close(): Promise<void> {
    for (const pending of [...this.#pending.values()]) pending.finish();
    await settleWithin(this.#subscription.drain(), 2000);
  }
}
