import type { NatsConnection } from "@nats-io/transport-node";
import type { ServerCredentials } from "@grpc/grpc-js";
import { SpanKind, context as otelContext, trace, type Context, type Span } from "@opentelemetry/api";
import { hexDigest, openQuery, type RequestHeader } from "../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { startGrpcServer, type RunningGrpcServer } from "../common/grpc-server.ts";
import { MemberRole, type SigningIdentity } from "../common/key-files.ts";
import { PairKeyring, TagRouter } from "../common/pair-tags.ts";
import { RateLimiter, type RateLimit } from "../common/rate-limiter.ts";
import {
  DEFAULT_BATCH_DEADLINE_MS,
  DEFAULT_CHECK_DEADLINE_MS,
  DEFAULT_COORDINATOR_RATE_PER_SECOND,
  MAX_BATCH_QUERIES,
  MAX_BATCH_REQUEST_BYTES,
  MAX_CHECK_DEADLINE_MS,
} from "../common/limits.ts";
import { silentLogger, type Logger } from "../common/logger.ts";
import { connectNats, drainOrClose, type NatsAuth } from "../common/nats-connection.ts";
import { CountryStatus, encodeEnvelope, withTagsField, type MatchQuery, type SignedEnvelope } from "../common/proto.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { initSodium } from "../common/sodium.ts";
import { MATCH_ALL_SUBJECT, matchCountrySubject } from "../common/subjects.ts";
import { currentTraceId, markSpanError, tracer } from "../common/telemetry.ts";
import { ensureNotifyStream, isJetStreamDisabled } from "../common/jetstream.ts";
import { DEFAULT_AGGREGATE_DEADLINE_MS, openAggregateQuery } from "../common/aggregate-query.ts";
import { sumByRegion, type RegionTotal } from "../common/aggregate-totals.ts";
import { AggregateGatherer, type GatheredAggregate } from "./aggregate-gatherer.ts";
import { BatchGatherer } from "./batch-gatherer.ts";
import { FanoutPlanner } from "./fanout-plan.ts";
import { Gatherer, type GatheredResult, type Publication } from "./gatherer.ts";
import { HitNotifier } from "./hit-notifier.ts";
import { coordinatorGrpcBinding } from "./grpc-service.ts";
import type { CoordinatorMetrics } from "./coordinator-metrics.ts";

const EMPTY_TAGS = new Uint8Array(0);

/**
 * Subjects for a message every asked country receives whole (batches, aggregate queries): match.all
 * when every country is asked, else each country's own subject.
 */
function wholeEnvelopeSubjects(askAll: boolean, countries: readonly string[]): string[] {
  return askAll ? [MATCH_ALL_SUBJECT] : countries.map(matchCountrySubject);
}

/** Per registry: which country each tag record is for, and which subjects reach which countries. */
interface Routing {
  registry: TrustRegistry;
  router: TagRouter;
  planner: FanoutPlanner;
}

export interface CoordinatorOptions {
  registry: TrustRegistry;
  /**
   * The coordinator's own registered key (role "coordinator"). Nodes then authenticate their answers to
   * it with pair tags (a MAC each) instead of Ed25519 signatures: the fast path at world scale. Without
   * it nodes sign every answer, which costs a signature verification per country and check. Border
   * systems tag their queries for it too, so it checks a MAC per query instead of a signature.
   */
  identity?: SigningIdentity;
  natsServers: string | string[];
  natsAuth?: NatsAuth;
  /** host:port for the Coordinator gRPC API; port 0 picks a free one. */
  grpcAddress: string;
  grpcCredentials?: ServerCredentials;
  defaultDeadlineMs?: number;
  /** Gathering deadline of a batch check when the caller gives none (default DEFAULT_BATCH_DEADLINE_MS). */
  defaultBatchDeadlineMs?: number;
  clockSkewMs?: number;
  logger?: Logger;
  /**
   * Publish a durable notification to the owner of every hit (JetStream stream WATCHMESH_NOTIFY).
   * Default true; without JetStream on the server the coordinator logs a warning and checks go on.
   */
  notifyHits?: boolean;
  /** Counts checks, rejections and per-country results for a Prometheus registry (coordinator-metrics.ts). */
  metrics?: CoordinatorMetrics;
  /** Per border-system-key rate limit (default DEFAULT_COORDINATOR_RATE_PER_SECOND, bursts of twice that). */
  rateLimit?: RateLimit;
}

export interface CheckOptions {
  /** Gathering deadline; 0 or undefined means the default. */
  deadlineMs?: number;
  /** Countries to ask; empty means every node country in the registry. */
  countries?: readonly string[];
  /** Absolute time (ms since epoch) the caller stops waiting, e.g. the gRPC call deadline. */
  callerDeadlineAtMs?: number;
  parentContext?: Context;
}

export interface CheckOutcome {
  queryId: string;
  traceId: string;
  results: GatheredResult[];
}

export interface AggregateOutcome {
  queryId: string;
  traceId: string;
  /** One per asked country, sorted by country. */
  results: GatheredAggregate[];
  /** Released cells of the answered countries, summed per region and overall (region ""). */
  totals: RegionTotal[];
}

export interface TravellerOutcome {
  queryId: string;
  /** One per asked country, sorted by country. */
  results: GatheredResult[];
}

export interface BatchCheckOutcome {
  traceId: string;
  /** One per query, in request order. */
  travellers: TravellerOutcome[];
}

/**
 * The stateless coordinator: verifies a border system's signed query, publishes it once on NATS,
 * gathers and verifies the countries' signed answers until all answered or the deadline passed.
 * It keeps no copy of queries or answers; any number of instances can run side by side.
 */
export class Coordinator implements AsyncDisposable {
  readonly #options: CoordinatorOptions;
  readonly #nats: NatsConnection;
  readonly #gatherer: Gatherer;
  readonly #batchGatherer: BatchGatherer;
  readonly #aggregateGatherer: AggregateGatherer;
  readonly #logger: Logger;
  #grpc: RunningGrpcServer | undefined;
  #notifier: HitNotifier | undefined;
  readonly #rejections = new Map<string, number>();
  readonly #rateLimiter: RateLimiter;
  /** The coordinator's pair keys as the reader of border systems' queries (undefined without an identity). */
  readonly #queryKeyring: PairKeyring | undefined;
  /** How queries' tag records and subjects are split; made again when the registry is replaced. */
  #routingFor: Routing | undefined;
  #registry: TrustRegistry;
  #stopping: Promise<void> | undefined;

  private constructor(options: CoordinatorOptions, nats: NatsConnection, logger: Logger) {
    this.#options = options;
    this.#registry = options.registry;
    this.#nats = nats;
    this.#logger = logger;
    const instanceId = Gatherer.newInstanceId();
    this.#rateLimiter = new RateLimiter(options.rateLimit ?? { perSecond: DEFAULT_COORDINATOR_RATE_PER_SECOND, burst: 2 * DEFAULT_COORDINATOR_RATE_PER_SECOND });
    const keyring = options.identity ? new PairKeyring(options.identity, { side: "asker" }) : undefined;
    this.#queryKeyring = options.identity ? new PairKeyring(options.identity, { side: "answerer" }) : undefined;
    this.#gatherer = new Gatherer(nats, instanceId, keyring);
    this.#batchGatherer = new BatchGatherer(nats, instanceId, keyring);
    this.#aggregateGatherer = new AggregateGatherer(nats, instanceId);
  }

  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    await initSodium();
    if (options.identity) {
      if (options.identity.role !== MemberRole.Coordinator) {
        throw new WatchmeshError(ErrorCode.ConfigInvalid, `a coordinator key needs role "coordinator", not "${options.identity.role}"`);
      }
      options.registry.resolveSigner(options.identity.keyId, Date.now(), [MemberRole.Coordinator]);
    }
    const logger = options.logger ?? silentLogger();
    const nats = await connectNats({
      servers: options.natsServers,
      name: "watchmesh-coordinator",
      ...(options.natsAuth ? { auth: options.natsAuth } : {}),
    });
    const coordinator = new Coordinator(options, nats, logger);
    try {
      await nats.flush(); // The inbox subscription is live before the first check.
      if (options.notifyHits ?? true) coordinator.#notifier = await startNotifier(nats, logger);
      coordinator.#grpc = await startGrpcServer({
        address: options.grpcAddress,
        services: [coordinatorGrpcBinding(coordinator)],
        // A CheckBatchRequest carries up to MAX_BATCH_QUERIES envelopes; each is still size-checked when verified.
        maxReceiveMessageBytes: MAX_BATCH_REQUEST_BYTES,
        ...(options.grpcCredentials ? { credentials: options.grpcCredentials } : {}),
      });
    } catch (error) {
      await coordinator.stop();
      throw error;
    }
    logger.info({ grpcPort: coordinator.grpcPort }, "coordinator started");
    return coordinator;
  }

  get grpcPort(): number {
    return this.#grpc?.port ?? 0;
  }

  get registry(): TrustRegistry {
    return this.#registry;
  }

  updateRegistry(registry: TrustRegistry): void {
    if (registry.version < this.#registry.version) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, "refusing to downgrade the trust registry");
    }
    this.#registry = registry;
  }

  /** Checks rejected so far (bad signature, unknown countries, expired, …), by error code; a rejected batch counts once. */
  rejectionCounts(): Record<string, number> {
    return Object.fromEntries(this.#rejections);
  }

  /** Runs one federated check. Throws a WatchmeshError only when the query itself is not acceptable. */
  async check(envelope: SignedEnvelope, options: CheckOptions = {}): Promise<CheckOutcome> {
    if (this.#stopping) throw new WatchmeshError(ErrorCode.Unavailable, "coordinator is shutting down");
    const parent = options.parentContext ?? otelContext.active();
    const span = tracer().startSpan("watchmesh.coordinator.check", { kind: SpanKind.SERVER }, parent);
    const startedMs = performance.now();
    const spanContext = trace.setSpan(parent, span);
    try {
      const registry = this.#registry;
      const nowMs = Date.now();
      const { query, digest } = openQuery(envelope, registry, {
        nowMs,
        roles: [MemberRole.Border],
        keyring: this.#queryKeyring,
        ...(this.#options.clockSkewMs === undefined ? {} : { clockSkewMs: this.#options.clockSkewMs }),
      });
      this.#rateLimiter.take(envelope.keyId, nowMs);
      const plan = this.#plan(span, query, digest, options, this.#options.defaultDeadlineMs ?? DEFAULT_CHECK_DEADLINE_MS, nowMs);
      const { countries } = plan;
      const results = await this.#gatherer.gather({
        deadlineAtMs: plan.deadlineAtMs,
        publications: this.#publications(envelope, countries, plan.askAll, registry),
        queryDigest: digest,
        expectedCountries: countries,
        parentContext: spanContext,
        registry,
      });
      const counts = countByStatus(results);
      this.#options.metrics?.checkCompleted(results, performance.now() - startedMs);
      span.setAttributes({
        "watchmesh.countries_answered": results.length - (counts[CountryStatus.Unavailable] ?? 0),
        "watchmesh.hit_countries": counts[CountryStatus.Hit] ?? 0,
        "watchmesh.refused_countries": counts[CountryStatus.Refused] ?? 0,
        "watchmesh.unavailable_countries": counts[CountryStatus.Unavailable] ?? 0,
        "watchmesh.error_countries": counts[CountryStatus.Error] ?? 0,
      });
      this.#logger.info(
        { queryId: query.queryId, traceId: currentTraceId(span), asked: countries.length, ...counts },
        "check completed",
      );
      this.#notifier?.notify(query, results, Date.now());
      return { queryId: query.queryId, traceId: currentTraceId(span), results };
    } catch (error) {
      const failure = WatchmeshError.from(error);
      this.#rejections.set(failure.code, (this.#rejections.get(failure.code) ?? 0) + 1);
      this.#options.metrics?.checkRejected(failure.code, performance.now() - startedMs);
      markSpanError(span, failure.code);
      this.#logger.warn({ code: failure.code, traceId: currentTraceId(span) }, "check rejected");
      throw failure;
    } finally {
      span.end();
    }
  }

  /**
   * Screens many travellers with one fan-out: verifies every query (one unacceptable query refuses the
   * whole batch, naming its position), publishes the batch once (in parts only when it would not fit
   * one NATS message), and returns one result per traveller and country. Nodes answer each query as
   * if it came alone, so replay protection, sharing policies and quotas apply per traveller.
   */
  async checkBatch(envelopes: readonly SignedEnvelope[], options: CheckOptions = {}): Promise<BatchCheckOutcome> {
    if (this.#stopping) throw new WatchmeshError(ErrorCode.Unavailable, "coordinator is shutting down");
    const parent = options.parentContext ?? otelContext.active();
    const startedMs = performance.now();
    const span = tracer().startSpan("watchmesh.coordinator.check_batch", { kind: SpanKind.SERVER }, parent);
    const spanContext = trace.setSpan(parent, span);
    try {
      span.setAttribute("watchmesh.batch_size", envelopes.length);
      const registry = this.#registry;
      const nowMs = Date.now();
      const opened = this.#openBatch(envelopes, registry, nowMs);
      this.#rateLimiter.take(envelopes[0]?.keyId ?? "", nowMs, envelopes.length);
      const countries = this.#expectedCountries(registry, options.countries ?? []);
      const deadlineMs = this.#deadlineMs(options.deadlineMs, this.#options.defaultBatchDeadlineMs ?? DEFAULT_BATCH_DEADLINE_MS);
      const deadlineAtMs = Math.min(
        nowMs + deadlineMs,
        ...opened.map(({ query }) => query.expiresAtMs),
        options.callerDeadlineAtMs ?? Number.POSITIVE_INFINITY,
      );
      const first = opened[0]?.query;
      span.setAttributes({
        "watchmesh.requester_country": first?.requestingCountry ?? "",
        "watchmesh.requester_agency": first?.requestingAgency ?? "",
        "watchmesh.countries_asked": countries.length,
        "watchmesh.deadline_ms": deadlineMs,
      });
      const askAll = (options.countries ?? []).length === 0;
      const gathered = await this.#batchGatherer.gather({
        envelopes,
        queryDigests: opened.map(({ digest }) => digest),
        subjects: wholeEnvelopeSubjects(askAll, countries),
        expectedCountries: countries,
        deadlineAtMs,
        parentContext: spanContext,
        registry,
      });
      const counts = countByStatus(gathered.travellers.flat());
      const hitTravellers = gathered.travellers.filter((results) => results.some((result) => result.status === CountryStatus.Hit)).length;
      span.setAttributes({
        "watchmesh.batch_parts": gathered.parts,
        "watchmesh.nats_messages_published": gathered.messagesPublished,
        "watchmesh.hit_travellers": hitTravellers,
        "watchmesh.hit_answers": counts[CountryStatus.Hit] ?? 0,
        "watchmesh.refused_answers": counts[CountryStatus.Refused] ?? 0,
        "watchmesh.unavailable_answers": counts[CountryStatus.Unavailable] ?? 0,
        "watchmesh.error_answers": counts[CountryStatus.Error] ?? 0,
      });
      this.#logger.info(
        { traceId: currentTraceId(span), travellers: envelopes.length, asked: countries.length, parts: gathered.parts, hitTravellers, ...counts },
        "batch check completed",
      );
      this.#options.metrics?.batchCompleted(gathered.travellers, performance.now() - startedMs);
      const notifiedAtMs = Date.now();
      const travellers = opened.map(({ query }, index): TravellerOutcome => {
        const results = gathered.travellers[index] ?? [];
        this.#notifier?.notify(query, results, notifiedAtMs);
        return { queryId: query.queryId, results };
      });
      return { traceId: currentTraceId(span), travellers };
    } catch (error) {
      const failure = WatchmeshError.from(error);
      this.#rejections.set(failure.code, (this.#rejections.get(failure.code) ?? 0) + 1);
      this.#options.metrics?.batchRejected(failure.code, performance.now() - startedMs);
      markSpanError(span, failure.code);
      this.#logger.warn({ code: failure.code, traceId: currentTraceId(span) }, "batch check rejected");
      throw failure;
    } finally {
      span.end();
    }
  }

  /**
   * Runs one federated aggregate query: verifies the analyst's signed query, publishes it once, gathers
   * and verifies the countries' signed counts, and sums the released cells per region. Throws a
   * WatchmeshError only when the query itself is not acceptable.
   */
  async aggregate(envelope: SignedEnvelope, options: CheckOptions = {}): Promise<AggregateOutcome> {
    if (this.#stopping) throw new WatchmeshError(ErrorCode.Unavailable, "coordinator is shutting down");
    const parent = options.parentContext ?? otelContext.active();
    const span = tracer().startSpan("watchmesh.coordinator.aggregate", { kind: SpanKind.SERVER }, parent);
    const spanContext = trace.setSpan(parent, span);
    try {
      const registry = this.#registry;
      const nowMs = Date.now();
      const { query, digest } = openAggregateQuery(envelope, registry, { nowMs, clockSkewMs: this.#options.clockSkewMs });
      this.#rateLimiter.take(envelope.keyId, nowMs);
      const plan = this.#plan(span, query, digest, options, DEFAULT_AGGREGATE_DEADLINE_MS, nowMs);
      const { countries } = plan;
      const results = await this.#aggregateGatherer.gather({
        subjects: wholeEnvelopeSubjects(plan.askAll, countries),
        deadlineAtMs: plan.deadlineAtMs,
        envelopeBytes: encodeEnvelope(envelope),
        queryDigest: digest,
        expectedCountries: countries,
        parentContext: spanContext,
        registry,
      });
      const answered = results.flatMap((result) => (result.content ? [result.content] : []));
      span.setAttribute("watchmesh.countries_answered", answered.length);
      this.#logger.info({ queryId: query.queryId, traceId: currentTraceId(span), asked: countries.length, answered: answered.length }, "aggregate query completed");
      return { queryId: query.queryId, traceId: currentTraceId(span), results, totals: sumByRegion(answered) };
    } catch (error) {
      const failure = WatchmeshError.from(error);
      this.#rejections.set(failure.code, (this.#rejections.get(failure.code) ?? 0) + 1);
      markSpanError(span, failure.code);
      this.#logger.warn({ code: failure.code, traceId: currentTraceId(span) }, "aggregate query rejected");
      throw failure;
    } finally {
      span.end();
    }
  }

  /** Verifies every query of a batch: count, signatures, one border system for all, distinct ids. */
  #openBatch(envelopes: readonly SignedEnvelope[], registry: TrustRegistry, nowMs: number): { query: MatchQuery; digest: Uint8Array }[] {
    if (envelopes.length === 0) throw new WatchmeshError(ErrorCode.InvalidArgument, "a batch needs at least one query");
    if (envelopes.length > MAX_BATCH_QUERIES) {
      throw new WatchmeshError(ErrorCode.PayloadTooLarge, `a batch holds at most ${MAX_BATCH_QUERIES} queries, not ${envelopes.length}`);
    }
    const firstKeyId = envelopes[0]?.keyId ?? "";
    const positions = new Map<string, number>();
    return envelopes.map((envelope, index) => {
      if (envelope.keyId !== firstKeyId) {
        throw new WatchmeshError(
          ErrorCode.InvalidArgument,
          `every query of a batch must be signed by the same border system: queries[${index}] is signed by ${envelope.keyId || "no key"}, queries[0] by ${firstKeyId || "no key"}`,
        );
      }
      let opened: { query: MatchQuery; digest: Uint8Array };
      try {
        opened = openQuery(envelope, registry, {
          nowMs,
          roles: [MemberRole.Border],
          keyring: this.#queryKeyring,
          ...(this.#options.clockSkewMs === undefined ? {} : { clockSkewMs: this.#options.clockSkewMs }),
        });
      } catch (error) {
        // Same code as for a single check, with the position, so the border system can find the query.
        const failure = WatchmeshError.from(error);
        throw new WatchmeshError(failure.code, `queries[${index}]: ${failure.message}`, { cause: failure, context: { ...failure.context, batchIndex: index } });
      }
      const earlier = positions.get(opened.query.queryId);
      if (earlier !== undefined) {
        throw new WatchmeshError(ErrorCode.InvalidArgument, `queries[${earlier}] and queries[${index}] have the same query id`);
      }
      positions.set(opened.query.queryId, index);
      return opened;
    });
  }

  /**
   * Whom one fan-out asks (the registry's node countries, or those requested; `askAll` when none were), and
   * until when (the requested or default deadline, the query's expiry, the caller's deadline); recorded
   * on the span with the query's non-personal fields.
   */
  #plan(
    span: Span,
    query: RequestHeader & { purpose: string; legalBasis: string },
    digest: Uint8Array,
    options: CheckOptions,
    defaultDeadlineMs: number,
    nowMs: number,
  ): { countries: string[]; askAll: boolean; deadlineAtMs: number } {
    const countries = this.#expectedCountries(this.#registry, options.countries ?? []);
    const deadlineMs = this.#deadlineMs(options.deadlineMs, defaultDeadlineMs);
    const deadlineAtMs = Math.min(nowMs + deadlineMs, query.expiresAtMs, options.callerDeadlineAtMs ?? Number.POSITIVE_INFINITY);
    span.setAttributes({
      "watchmesh.query_id": query.queryId,
      "watchmesh.query_digest": hexDigest(digest).slice(0, 32),
      "watchmesh.requester_country": query.requestingCountry,
      "watchmesh.requester_agency": query.requestingAgency,
      "watchmesh.purpose": query.purpose,
      "watchmesh.legal_basis": query.legalBasis,
      "watchmesh.countries_asked": countries.length,
      "watchmesh.deadline_ms": deadlineMs,
    });
    return { countries, askAll: (options.countries ?? []).length === 0, deadlineAtMs };
  }

  /**
   * The fan-out's messages (see FanoutPlanner: a shard's subject or a country's), each with only the
   * query's tag records for the node keys of the countries it reaches. A query carries a 20-byte record
   * per node key of the mesh (about 4 KB at 196 countries): published whole to every node, NATS would
   * carry every record to every node, about 0.8 MB per check. The signature covers the payload only,
   * so each message's envelope still verifies.
   */
  #publications(envelope: SignedEnvelope, countries: readonly string[], askAll: boolean, registry: TrustRegistry): Publication[] {
    const { tags, ...untagged } = envelope;
    const base = encodeEnvelope(untagged);
    const { router, planner } = this.#routing(registry);
    const { targets, targetOf } = askAll ? planner.planForAll() : planner.plan(countries);
    const records = tags && tags.length > 0 ? router.group(tags, targetOf, targets.length) : [];
    return targets.map(({ subject }, index) => ({ subject, bytes: withTagsField(base, records[index] ?? EMPTY_TAGS) }));
  }

  #routing(registry: TrustRegistry): Routing {
    if (this.#routingFor?.registry !== registry) {
      this.#routingFor = { registry, router: new TagRouter(registry.listedNodeKeys()), planner: new FanoutPlanner(registry.nodeCountries()) };
    }
    return this.#routingFor;
  }

  #expectedCountries(registry: TrustRegistry, requested: readonly string[]): string[] {
    const nodeCountries = registry.nodeCountries();
    if (requested.length === 0) return nodeCountries;
    const known = new Set(nodeCountries);
    const unknown = requested.filter((country) => !known.has(country));
    if (unknown.length > 0) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, `not node countries of the registry: ${unknown.join(", ")}`);
    }
    return [...new Set(requested)].sort();
  }

  #deadlineMs(requested: number | undefined, defaultMs: number): number {
    if (requested === undefined || requested === 0) return defaultMs;
    if (!Number.isFinite(requested) || requested < 0 || requested > MAX_CHECK_DEADLINE_MS) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, `deadline must be between 1 and ${MAX_CHECK_DEADLINE_MS} ms`);
    }
    return requested;
  }

  /** Stops the gRPC API, lets in-flight checks finish, then drains NATS. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#grpc?.stop();
      await this.#gatherer.close();
      await this.#batchGatherer.close();
      await this.#aggregateGatherer.close();
      await this.#notifier?.close();
      await drainOrClose(this.#nats);
      this.#logger.info("coordinator stopped");
    })();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** A notifier when the server runs JetStream; the stream is created when missing and allowed. */
async function startNotifier(nats: NatsConnection, logger: Logger): Promise<HitNotifier | undefined> {
  try {
    await ensureNotifyStream(nats);
  } catch (error) {
    if (isJetStreamDisabled(error)) {
      logger.warn("NATS has no JetStream: hit notifications are off");
      return undefined;
    }
    // Typically no right to manage streams: operators create the stream (deploy/README.md).
    logger.warn({ code: WatchmeshError.from(error).code }, "could not check the notification stream; publishing anyway");
  }
  return new HitNotifier(nats, logger);
}

function countByStatus(results: GatheredResult[]): Partial<Record<CountryStatus, number>> {
  const counts: Partial<Record<CountryStatus, number>> = {};
  for (const result of results) counts[result.status] = (counts[result.status] ?? 0) + 1;
  return counts;
}
