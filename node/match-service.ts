import { SpanKind, type Context } from "@opentelemetry/api";
import { decodeWireEnvelope, hexDigest, openQuery, requireSignature, sealAnswer, type OpenedQuery } from "../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { MemberRole, type SigningIdentity } from "../common/key-files.ts";
import type { Logger } from "../common/logger.ts";
import { MAX_HITS_PER_ANSWER } from "../common/limits.ts";
import {
  AnswerStatus,
  type Hit,
  type MatchAnswer,
  type MatchQuery,
  type SignedEnvelope,
} from "../common/proto.ts";
import { PairKeyring } from "../common/pair-tags.ts";
import type { ResolvedSigner, TrustRegistry } from "../common/registry.ts";
import { SignatureDomain, sha256 } from "../common/signing.ts";
import { markSpanError, tracer } from "../common/telemetry.ts";
import type { AuditEntryInput, AuditStatus } from "./audit-log.ts";
import { toRequestedAction, type Matcher } from "./matcher.ts";
import type { QuotaLedger } from "./quota-ledger.ts";
import type { ReplayGuard } from "./replay-guard.ts";
import type { RateLimiter } from "../common/rate-limiter.ts";
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
  /** Short-term limit per requesting country/agency (RATE_LIMITED beyond it); none without it. */
  rateLimiter?: RateLimiter;
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

/**
 * How an answer reaches its reader. Direct (gRPC CountryNode.Match): only the requester reads it, so a
 * tag for the requester suffices. Relayed (NATS fan-out): the coordinator checks it too, so it gets a
 * tag when it named a registered coordinator key, and the answer is signed otherwise.
 */
export interface AnswerDelivery {
  relayed: boolean;
  /** Key id the relaying coordinator gave (Watchmesh-Coordinator-Key header); unchecked until resolved. */
  relayKeyId?: string | undefined;
}

const DIRECT: AnswerDelivery = { relayed: false };

/** What an answer observer learns: the status, the refusal or error code ("" for none), time and hit count. */
export interface AnsweredEvent {
  status: AnswerStatus;
  errorCode: string;
  elapsedMs: number;
  hits: number;
}

/** Codes that mean "the asker or the request is not acceptable": answered REFUSED, not ERROR. */
export const REFUSAL_CODES: ReadonlySet<string> = new Set<string>([
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
  ErrorCode.PolicyPrivacyDenied,
  ErrorCode.QuotaExhausted,
  ErrorCode.RateLimited,
  ErrorCode.InvalidArgument,
  ErrorCode.InvalidMrz,
]);

/**
 * Answers one signed query with one signed answer, whatever arrives: the transport-independent core
 * of a country node, shared by its gRPC service and its NATS responder. Never throws.
 */
export class MatchService {
  readonly #options: MatchServiceOptions;
  readonly #keyring: PairKeyring;
  readonly #now: () => number;
  #answered = 0;
  readonly #refusals = new Map<string, number>();

  constructor(options: MatchServiceOptions) {
    this.#options = options;
    this.#keyring = new PairKeyring(options.identity, { side: "answerer" });
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
  answerBytes(bytes: Uint8Array, parent?: Context, delivery: AnswerDelivery = DIRECT): SignedEnvelope {
    let envelope: SignedEnvelope;
    try {
      envelope = decodeWireEnvelope(bytes);
    } catch (error) {
      return this.#refuse(sha256(bytes), "", WatchmeshError.from(error, ErrorCode.MalformedMessage), process.hrtime.bigint(), delivery);
    }
    return this.answer(envelope, parent, delivery);
  }

  answer(envelope: SignedEnvelope, parent?: Context, delivery: AnswerDelivery = DIRECT): SignedEnvelope {
    const started = process.hrtime.bigint();
    const span = tracer().startSpan("watchmesh.node.match", { kind: SpanKind.SERVER }, parent);
    span.setAttribute("watchmesh.country", this.country);
    const digest = sha256(envelope.payload ?? new Uint8Array());
    // Hex is made only for a span that is recorded: without a tracer this runs once per query for nothing.
    if (span.isRecording()) span.setAttribute("watchmesh.query_digest", hexDigest(digest).slice(0, 32));
    // Set once the query opened (tag or signature checked): only then are its requester and purpose known.
    let opened: OpenedQuery | undefined;
    try {
      let query: MatchQuery;
      try {
        const nowMs = this.#now();
        opened = openQuery(envelope, this.#options.registry(), {
          nowMs,
          keyring: this.#keyring,
          digest,
          ...(this.#options.clockSkewMs === undefined ? {} : { clockSkewMs: this.#options.clockSkewMs }),
        });
        query = opened.query;
        // Only an authentic, unexpired query is remembered: forgeries cannot fill the replay cache.
        this.#options.replayGuard?.check(envelope.keyId, query.nonce, query.expiresAtMs, nowMs);
        // The owner's sharing policy, then its quota: a denied query is not counted.
        const admission = (this.#options.policy?.() ?? SHARE_ALL).admit(query);
        this.#options.rateLimiter?.take(admission.requester, nowMs);
        this.#options.quotas?.charge(admission, nowMs);
      } catch (error) {
        const refusal = WatchmeshError.from(error, ErrorCode.MalformedMessage);
        markSpanError(span, refusal.code);
        span.setAttribute("watchmesh.status", "refused");
        return this.#refuse(digest, "", refusal, started, delivery, opened);
      }
      span.setAttributes({
        "watchmesh.query_id": query.queryId,
        "watchmesh.requester_country": query.requestingCountry,
        "watchmesh.requester_agency": query.requestingAgency,
        "watchmesh.purpose": query.purpose,
      });
      try {
        const hits = this.#match(query);
        // A hit is evidence: it answers only a query whose Ed25519 signature checked, not just its tag.
        if (hits.length > 0 && !opened.signatureVerified) requireSignature(envelope, SignatureDomain.MatchQuery, opened.signer);
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
          delivery,
          opened,
        });
      } catch (error) {
        const failure = WatchmeshError.from(error);
        markSpanError(span, failure.code);
        span.setAttribute("watchmesh.status", REFUSAL_CODES.has(failure.code) ? "refused" : "error");
        this.#options.logger.error({ queryId: query.queryId, code: failure.code }, "query failed");
        return REFUSAL_CODES.has(failure.code)
          ? this.#refuse(digest, query.queryId, failure, started, delivery, opened)
          : this.#sign({ queryId: query.queryId, status: AnswerStatus.Error, hits: [], errorCode: failure.code, digest, started, delivery, opened });
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

  #refuse(digest: Uint8Array, queryId: string, error: WatchmeshError, started: bigint, delivery: AnswerDelivery, opened?: OpenedQuery): SignedEnvelope {
    this.#refusals.set(error.code, (this.#refusals.get(error.code) ?? 0) + 1);
    this.#options.logger.warn({ queryId: queryId || undefined, code: error.code, ...error.context }, "query refused");
    return this.#sign({ queryId, status: AnswerStatus.Refused, hits: [], errorCode: error.code, digest, started, delivery, ...(opened ? { opened } : {}) });
  }

  #sign(parts: {
    queryId: string;
    status: MatchAnswer["status"];
    hits: Hit[];
    errorCode: string;
    digest: Uint8Array;
    started: bigint;
    delivery: AnswerDelivery;
    /** The query, when it opened (e.g. refused by policy after it was authenticated): its requester reads the answer. */
    opened?: OpenedQuery;
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
    const sealed = this.#seal(answer, parts.opened?.signer, parts.delivery);
    this.#audit(answer, parts.opened?.query);
    return sealed;
  }

  /**
   * Tags the answer for each reader that can check a tag — the authenticated requester, and the
   * registered coordinator relaying it — and signs it when it is a hit (evidence for notifications and
   * follow-ups) or when some reader could not be tagged (unauthenticated requester, unnamed relay).
   */
  #seal(answer: MatchAnswer, requester: ResolvedSigner | undefined, delivery: AnswerDelivery): SignedEnvelope {
    const relay = delivery.relayed ? this.#relaySigner(delivery.relayKeyId) : undefined;
    const tagFor = [requester, relay].filter((reader): reader is ResolvedSigner => reader !== undefined);
    const sign = answer.status === AnswerStatus.Hit || !requester || (delivery.relayed && !relay);
    return sealAnswer(answer, { identity: this.#options.identity, keyring: this.#keyring, tagFor, sign });
  }

  #relaySigner(keyId: string | undefined): ResolvedSigner | undefined {
    if (!keyId) return undefined;
    try {
      return this.#options.registry().resolveSigner(keyId, this.#now(), [MemberRole.Coordinator]);
    } catch {
      return undefined; // Not a registered coordinator: the answer is signed instead, which anyone can check.
    }
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
