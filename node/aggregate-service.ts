import { SpanKind, type Context } from "@opentelemetry/api";
import { openAggregateQuery, signAggregateAnswer, type OpenedAggregateQuery } from "../common/aggregate-query.ts";
import { decodeWireEnvelope, hexDigest } from "../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import type { Logger } from "../common/logger.ts";
import { AggregateStatus, type AggregateAnswer, type SignedEnvelope } from "../common/proto.ts";
import type { RateLimiter } from "../common/rate-limiter.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { sha256 } from "../common/signing.ts";
import { markSpanError, tracer } from "../common/telemetry.ts";
import { CellCounts, countHits, countRecords, type HitEvent } from "./aggregate-counts.ts";
import type { AuditEntryInput, AuditStatus } from "./audit-log.ts";
import { releaseCells, releaseCount, type DisclosureOptions } from "./disclosure-control.ts";
import { REFUSAL_CODES } from "./match-service.ts";
import type { QuotaLedger } from "./quota-ledger.ts";
import { utcDayOf, type NativeRecord } from "./record-schema.ts";
import type { ReplayGuard } from "./replay-guard.ts";
import type { SharingPolicy } from "./sharing-policy.ts";

export interface AggregateServiceOptions {
  identity: SigningIdentity;
  registry: () => TrustRegistry;
  policy: () => SharingPolicy;
  /** Every record of the node's store (read lazily). */
  records: () => Iterable<NativeRecord>;
  /** The record a hit reference points to, if it still exists. */
  recordForReference: (reference: string) => NativeRecord | undefined;
  /** The audit log's entries, the hits the node gave, once the entries queued so far are committed. */
  auditEntries: () => Promise<Iterable<HitEvent>>;
  logger: Logger;
  replayGuard?: ReplayGuard;
  quotas?: QuotaLedger;
  rateLimiter?: RateLimiter;
  /** Records each answered aggregate query in the audit log (safe fields only). */
  audit?: (entry: AuditEntryInput) => void;
  clockSkewMs?: number;
  now?: () => number;
  /** Noise source for tests; crypto-grade by default. */
  random?: () => number;
}

/**
 * Answers aggregate queries (proto/watchmesh/v1/aggregate.proto) with signed counts: checks the analyst's
 * signature, lifetime, replay, the sharing policy (purpose analysis, category "statistics", noise
 * limits), rate and quota like a match query, then counts records and hits and releases them through
 * disclosure control. Never throws: every problem is a signed REFUSED or ERROR answer.
 */
export class AggregateService {
  readonly #options: AggregateServiceOptions;
  readonly #now: () => number;

  constructor(options: AggregateServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get country(): string {
    return this.#options.identity.country;
  }

  /** Answers raw envelope bytes as received from NATS. */
  async answerBytes(bytes: Uint8Array, parent?: Context): Promise<SignedEnvelope> {
    let envelope: SignedEnvelope;
    try {
      envelope = decodeWireEnvelope(bytes);
    } catch (error) {
      return this.#refuse(sha256(bytes), WatchmeshError.from(error, ErrorCode.MalformedMessage));
    }
    return this.answer(envelope, parent);
  }

  async answer(envelope: SignedEnvelope, parent?: Context): Promise<SignedEnvelope> {
    const span = tracer().startSpan("watchmesh.node.aggregate", { kind: SpanKind.SERVER }, parent);
    span.setAttribute("watchmesh.country", this.country);
    const digest = sha256(envelope.payload ?? new Uint8Array());
    span.setAttribute("watchmesh.query_digest", hexDigest(digest).slice(0, 32));
    let opened: OpenedAggregateQuery | undefined;
    try {
      let disclosure: DisclosureOptions;
      try {
        const nowMs = this.#now();
        opened = openAggregateQuery(envelope, this.#options.registry(), { nowMs, clockSkewMs: this.#options.clockSkewMs });
        const { query } = opened;
        this.#options.replayGuard?.check(envelope.keyId, query.nonce, query.expiresAtMs, nowMs);
        const policy = this.#options.policy();
        const admission = policy.admitRequest(query, ["statistics"]);
        disclosure = disclosureFor(policy, query.epsilon, this.#options.random);
        this.#options.rateLimiter?.take(admission.requester, nowMs);
        this.#options.quotas?.charge(admission, nowMs);
      } catch (error) {
        const refusal = WatchmeshError.from(error, ErrorCode.MalformedMessage);
        markSpanError(span, refusal.code);
        span.setAttribute("watchmesh.status", REFUSAL_CODES.has(refusal.code) ? "refused" : "error");
        return this.#refuse(digest, refusal, opened);
      }
      const { query } = opened;
      span.setAttributes({
        "watchmesh.query_id": query.queryId,
        "watchmesh.requester_country": query.requestingCountry,
        "watchmesh.requester_agency": query.requestingAgency,
        "watchmesh.purpose": query.purpose,
      });
      try {
        const counts = new CellCounts(query);
        const undated = await countRecords(this.#options.records(), counts, utcDayOf(this.#now()));
        await countHits(await this.#options.auditEntries(), counts, this.#options.recordForReference);
        const released = releaseCells(counts, disclosure);
        span.setAttributes({ "watchmesh.status": "aggregate", "watchmesh.cells_released": released.cells.length, "watchmesh.cells_suppressed": released.suppressedCells });
        this.#options.logger.info({ queryId: query.queryId, requester: query.requestingCountry, cells: released.cells.length, suppressed: released.suppressedCells }, "aggregate query answered");
        return this.#sign(
          {
            queryId: query.queryId,
            status: AggregateStatus.Answered,
            errorCode: "",
            cells: released.cells,
            minCellCount: disclosure.minCellCount,
            epsilon: disclosure.epsilon,
            undatedRecords: releaseCount(undated, disclosure),
            queryDigest: digest,
          },
          opened,
        );
      } catch (error) {
        const failure = WatchmeshError.from(error);
        markSpanError(span, failure.code);
        span.setAttribute("watchmesh.status", "error");
        this.#options.logger.error({ queryId: query.queryId, code: failure.code }, "aggregate query failed");
        return this.#sign({ ...emptyAnswer(query.queryId, digest), status: AggregateStatus.Error, errorCode: failure.code }, opened);
      }
    } finally {
      span.end();
    }
  }

  #refuse(digest: Uint8Array, error: WatchmeshError, opened?: OpenedAggregateQuery): SignedEnvelope {
    this.#options.logger.warn({ queryId: opened?.query.queryId, code: error.code, ...error.context }, "aggregate query refused");
    const status = REFUSAL_CODES.has(error.code) ? AggregateStatus.Refused : AggregateStatus.Error;
    return this.#sign({ ...emptyAnswer(opened?.query.queryId ?? "", digest), status, errorCode: error.code }, opened);
  }

  #sign(parts: Omit<AggregateAnswer, "respondingCountry" | "answeredAtMs">, opened: OpenedAggregateQuery | undefined): SignedEnvelope {
    const answer: AggregateAnswer = { ...parts, respondingCountry: this.country, answeredAtMs: this.#now() };
    this.#audit(answer, opened);
    return signAggregateAnswer(answer, this.#options.identity);
  }

  #audit(answer: AggregateAnswer, opened: OpenedAggregateQuery | undefined): void {
    if (!this.#options.audit) return;
    const status: AuditStatus = answer.status === AggregateStatus.Answered ? "aggregate" : answer.status === AggregateStatus.Refused ? "refused" : "error";
    try {
      this.#options.audit({
        atMs: answer.answeredAtMs,
        queryId: answer.queryId,
        requesterCountry: opened?.query.requestingCountry ?? "",
        requesterAgency: opened?.query.requestingAgency ?? "",
        purpose: opened?.query.purpose ?? "",
        status,
        errorCode: answer.errorCode,
        hitReferences: [],
        queryDigest: hexDigest(answer.queryDigest),
      });
    } catch (error) {
      this.#options.logger.error({ queryId: answer.queryId || undefined, code: WatchmeshError.from(error).code }, "audit hook failed");
    }
  }
}

/** The node's disclosure settings for a query asking for `epsilon`; POLICY_PRIVACY_DENIED outside the policy. */
function disclosureFor(policy: SharingPolicy, epsilon: number, random: (() => number) | undefined): DisclosureOptions {
  const { minCellCount, maxEpsilon, requireNoise } = policy.analysis;
  if (requireNoise && epsilon === 0) {
    throw new WatchmeshError(ErrorCode.PolicyPrivacyDenied, "this node releases only noised counts: ask with an epsilon");
  }
  if (maxEpsilon !== undefined && epsilon > maxEpsilon) {
    throw new WatchmeshError(ErrorCode.PolicyPrivacyDenied, `this node accepts an epsilon of at most ${maxEpsilon}`);
  }
  return { minCellCount, epsilon, ...(random ? { random } : {}) };
}

function emptyAnswer(queryId: string, digest: Uint8Array): Omit<AggregateAnswer, "respondingCountry" | "answeredAtMs" | "status" | "errorCode"> {
  return { queryId, cells: [], minCellCount: 0, epsilon: 0, undatedRecords: 0, queryDigest: digest };
}
