import { SpanKind, type Context } from "@opentelemetry/api";
import { openQuery, signAnswer, hexDigest } from "../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import type { Logger } from "../common/logger.ts";
import { MAX_ENVELOPE_BYTES, MAX_HITS_PER_ANSWER } from "../common/limits.ts";
import {
  AnswerStatus,
  decodeEnvelope,
  type Hit,
  type MatchAnswer,
  type MatchQuery,
  type SignedEnvelope,
} from "../common/proto.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { sha256 } from "../common/signing.ts";
import { markSpanError, tracer } from "../common/telemetry.ts";
import type { AuditEntryInput, AuditStatus } from "./audit-log.ts";
import { toRequestedAction, type Matcher } from "./matcher.ts";
import type { QuotaLedger } from "./quota-ledger.ts";
import type { ReplayGuard } from "./replay-guard.ts";
import { SharingPolicy } from "./sharing-policy.ts";

const SHARE_ALL = SharingPolicy.allowAll();

const AUDIT_STATUS: Record<AnswerStatus, AuditStatus> = {
  [AnswerStatus.Unspecified]: "error",
  [AnswerStatus.Hit]: "hit",
  [AnswerStatus.NoHit]: "no_hit",
  [AnswerStatus.Refused]: "refused",
  [AnswerStatus.Error]: "error",
};

/** As for the JSON query format (common/query-json.ts): a date of birth or nationality alone finds nobody. */
function hasSearchableField(query: MatchQuery): boolean {
  const person = query.person;
  if (query.entity) return true;
  if (!person) return false;
  return (
    person.names.some((name) => name.trim() !== "") ||
    person.documents.length > 0 ||
    person.mrz.length > 0 ||
    Object.keys(person.dna?.loci ?? {}).length > 0 ||
    (person.face?.embedding.length ?? 0) > 0
  );
}

export interface MatchServiceOptions {
  identity: SigningIdentity;
  /** Returns the current registry, so a reloaded registry takes effect on the next query. */
  registry: () => TrustRegistry;
  matcher: Matcher;
  /** Opaque reference of a record; the only thing about a record that leaves the node. */
  referenceFor: (recordId: string) => string;
  logger: Logger;
  clockSkewMs?: number;
  /** Refuses a query whose (signer, nonce) was seen before; optional so tests can run without a store. */
  replayGuard?: ReplayGuard;
  /** Returns the sharing policy in force (default: share everything), so a reloaded policy applies next query. */
  policy?: () => SharingPolicy;
  /** Counts admitted queries against the policy's daily quotas; without it quotas are not enforced. */
  quotas?: QuotaLedger;
  now?: () => number;
  /**
   * Called once per signed answer (hit, no-hit, refusal, error) with only closed-set facts, so an
   * observer such as NodeMetrics never sees query content. It must not throw.
   */
  onAnswered?: (event: AnsweredEvent) => void;
  /**
   * Called once per signed answer with the audit log's safe fields (ids, codes, purpose, status, hit
   * references, query digest); e.g. `AuditLog.record`. Must not block: the answer does not wait for it.
   */
  audit?: (entry: AuditEntryInput) => void;
}

/** What an answer observer learns: the status, the refusal or error code ("" for none), time and hit count. */
export interface AnsweredEvent {
  status: AnswerStatus;
  errorCode: string;
  elapsedMs: number;
  hits: number;
}

/** Codes that mean "the asker or the request is not acceptable": answered REFUSED, not ERROR. */
const REFUSAL_CODES = new Set<string>([
  ErrorCode.MalformedMessage,
  ErrorCode.PayloadTooLarge,
  ErrorCode.BadSignature,
  ErrorCode.UnknownSigner,
  ErrorCode.KeyNotValid,
  ErrorCode.RoleNotAllowed,
  ErrorCode.SignerMismatch,
  ErrorCode.QueryExpired,
  ErrorCode.QueryNotYetValid,
  ErrorCode.QueryLifetimeTooLong,
  ErrorCode.QueryReplayed,
  ErrorCode.PolicyRequesterDenied,
  ErrorCode.PolicyPurposeDenied,
  ErrorCode.PolicyCategoryDenied,
  ErrorCode.QuotaExhausted,
  ErrorCode.InvalidArgument,
  ErrorCode.InvalidMrz,
]);

/**
 * Answers one signed query with one signed answer, whatever arrives: the transport-independent core
 * of a country node, shared by its gRPC service and its NATS responder. Never throws.
 */
export class MatchService {
  readonly #options: MatchServiceOptions;
  readonly #now: () => number;
  #answered = 0;
  readonly #refusals = new Map<string, number>();

  constructor(options: MatchServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get country(): string {
    return this.#options.identity.country;
  }

  /** Queries refused so far, by error code (malformed, oversized, bad signature, policy, …). */
  refusalCounts(): Record<string, number> {
    return Object.fromEntries(this.#refusals);
  }

  /** Answers signed so far (hits, no-hits, refusals and errors). */
  get answeredCount(): number {
    return this.#answered;
  }

  /** Answers raw envelope bytes as received from NATS. */
  answerBytes(bytes: Uint8Array, parent?: Context): SignedEnvelope {
    if (bytes.length > MAX_ENVELOPE_BYTES + 1024) {
      return this.#refuse(sha256(bytes), "", new WatchmeshError(ErrorCode.PayloadTooLarge, "envelope too large"), process.hrtime.bigint());
    }
    let envelope: SignedEnvelope;
    try {
      envelope = decodeEnvelope(bytes);
    } catch (error) {
      return this.#refuse(sha256(bytes), "", WatchmeshError.from(error, ErrorCode.MalformedMessage), process.hrtime.bigint());
    }
    return this.answer(envelope, parent);
  }

  answer(envelope: SignedEnvelope, parent?: Context): SignedEnvelope {
    const started = process.hrtime.bigint();
    const span = tracer().startSpan("watchmesh.node.match", { kind: SpanKind.SERVER }, parent);
    span.setAttribute("watchmesh.country", this.country);
    const digest = sha256(envelope.payload ?? new Uint8Array());
    span.setAttribute("watchmesh.query_digest", hexDigest(digest).slice(0, 32));
    // Set once the query opened (signature verified): only then are its requester and purpose known.
    let opened: MatchQuery | undefined;
    try {
      let query: MatchQuery;
      try {
        const nowMs = this.#now();
        ({ query } = openQuery(envelope, this.#options.registry(), {
          nowMs,
          ...(this.#options.clockSkewMs === undefined ? {} : { clockSkewMs: this.#options.clockSkewMs }),
        }));
        opened = query;
        // Only an authentic, unexpired query is remembered: forgeries cannot fill the replay cache.
        this.#options.replayGuard?.check(envelope.keyId, query.nonce, query.expiresAtMs, nowMs);
        // The owner's sharing policy, then its quota: a denied query is not counted.
        const admission = (this.#options.policy?.() ?? SHARE_ALL).admit(query);
        this.#options.quotas?.charge(admission, nowMs);
      } catch (error) {
        const refusal = WatchmeshError.from(error, ErrorCode.MalformedMessage);
        markSpanError(span, refusal.code);
        span.setAttribute("watchmesh.status", "refused");
        return this.#refuse(digest, "", refusal, started, opened);
      }
      span.setAttributes({
        "watchmesh.query_id": query.queryId,
        "watchmesh.requester_country": query.requestingCountry,
        "watchmesh.requester_agency": query.requestingAgency,
        "watchmesh.purpose": query.purpose,
      });
      try {
        const hits = this.#match(query);
        span.setAttributes({ "watchmesh.status": hits.length > 0 ? "hit" : "no_hit", "watchmesh.hit_count": hits.length });
        this.#options.logger.info(
          { queryId: query.queryId, requester: query.requestingCountry, hits: hits.length },
          "query answered",
        );
        return this.#sign({
          queryId: query.queryId,
          status: hits.length > 0 ? AnswerStatus.Hit : AnswerStatus.NoHit,
          hits,
          errorCode: "",
          digest,
          started,
          query,
        });
      } catch (error) {
        const failure = WatchmeshError.from(error);
        markSpanError(span, failure.code);
        span.setAttribute("watchmesh.status", REFUSAL_CODES.has(failure.code) ? "refused" : "error");
        this.#options.logger.error({ queryId: query.queryId, code: failure.code }, "query failed");
        return REFUSAL_CODES.has(failure.code)
          ? this.#refuse(digest, query.queryId, failure, started, query)
          : this.#sign({ queryId: query.queryId, status: AnswerStatus.Error, hits: [], errorCode: failure.code, digest, started, query });
      }
    } finally {
      span.end();
    }
  }

  #match(query: MatchQuery): Hit[] {
    const { matcher, referenceFor } = this.#options;
    if (!hasSearchableField(query)) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, "query has nothing to search for: give a name, date of birth, document, MRZ, DNA profile, face or entity");
    }
    const context = { requestingCountry: query.requestingCountry };
    const candidates = query.person ? matcher.matchPerson(query.person, context) : query.entity ? matcher.matchEntity(query.entity, context) : [];
    return candidates.slice(0, MAX_HITS_PER_ANSWER).map((candidate) => ({
      reference: referenceFor(candidate.recordId),
      score: candidate.score,
      category: candidate.category,
      action: toRequestedAction(candidate.action),
      matchedFeatures: candidate.matchedFeatures,
    }));
  }

  #refuse(digest: Uint8Array, queryId: string, error: WatchmeshError, started: bigint, query?: MatchQuery): SignedEnvelope {
    this.#refusals.set(error.code, (this.#refusals.get(error.code) ?? 0) + 1);
    this.#options.logger.warn({ queryId: queryId || undefined, code: error.code, ...error.context }, "query refused");
    return this.#sign({ queryId, status: AnswerStatus.Refused, hits: [], errorCode: error.code, digest, started, ...(query ? { query } : {}) });
  }

  #sign(parts: {
    queryId: string;
    status: MatchAnswer["status"];
    hits: Hit[];
    errorCode: string;
    digest: Uint8Array;
    started: bigint;
    /** The query, when it opened (e.g. refused by policy after its signature checked): for the audit entry. */
    query?: MatchQuery;
  }): SignedEnvelope {
    this.#answered += 1;
    const answer: MatchAnswer = {
      queryId: parts.queryId,
      respondingCountry: this.country,
      status: parts.status,
      hits: parts.hits,
      errorCode: parts.errorCode,
      nodeElapsedUs: Number((process.hrtime.bigint() - parts.started) / 1000n),
      answeredAtMs: this.#now(),
      queryDigest: parts.digest,
    };
    this.#options.onAnswered?.({ status: parts.status, errorCode: parts.errorCode, elapsedMs: answer.nodeElapsedUs / 1000, hits: parts.hits.length });
    const signed = signAnswer(answer, this.#options.identity);
    this.#audit(answer, parts.query);
    return signed;
  }

  #audit(answer: MatchAnswer, query: MatchQuery | undefined): void {
    if (!this.#options.audit) return;
    try {
      this.#options.audit({
        atMs: answer.answeredAtMs,
        queryId: query?.queryId ?? answer.queryId,
        requesterCountry: query?.requestingCountry ?? "",
        requesterAgency: query?.requestingAgency ?? "",
        purpose: query?.purpose ?? "",
        status: AUDIT_STATUS[answer.status],
        errorCode: answer.errorCode,
        hitReferences: answer.hits.map((hit) => hit.reference),
        queryDigest: hexDigest(answer.queryDigest),
      });
    } catch (error) {
      // Auditing never turns an answer into a crash; the sink logs its own write failures.
      this.#options.logger.error({ queryId: answer.queryId || undefined, code: WatchmeshError.from(error).code }, "audit hook failed");
    }
  }
}
