import type { NatsConnection } from "@nats-io/transport-node";
import type { ServerCredentials } from "@grpc/grpc-js";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { connectNats, drainOrClose, type NatsAuth } from "../common/nats-connection.ts";
import { startGrpcServer, type RunningGrpcServer } from "../common/grpc-server.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import { silentLogger, type Logger } from "../common/logger.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { initSodium } from "../common/sodium.ts";
import { AggregateService } from "./aggregate-service.ts";
import { countryNodeGrpcBinding } from "./grpc-service.ts";
import { MatchService } from "./match-service.ts";
import type { FaceModelOverrides } from "./matching/face-index.ts";
import { createMatcher } from "./matcher.ts";
import type { MetricsRegistry } from "../common/metrics.ts";
import { AuditLog } from "./audit-log.ts";
import { ExpiryPurger } from "./expiry-purger.ts";
import { NodeMetrics } from "./node-metrics.ts";
import { FollowupDesk, type FollowupDeskOptions } from "./followup-desk.ts";
import { NatsResponder } from "./nats-responder.ts";
import { NotificationInbox, type NotificationInboxOptions } from "./notification-inbox.ts";
import { QuotaLedger } from "./quota-ledger.ts";
import { DEFAULT_NODE_RATE_PER_SECOND } from "../common/limits.ts";
import { RateLimiter, type RateLimit } from "../common/rate-limiter.ts";
import { SharingPolicy } from "./sharing-policy.ts";
import { ReplayGuard } from "./replay-guard.ts";
import { RecordStore } from "./store.ts";

const DEFAULT_PURGE_INTERVAL_MS = 60 * 60 * 1000;

export interface CountryNodeOptions {
  /** The node's signing identity (role "node"); its country is the node's country. */
  identity: SigningIdentity;
  registry: TrustRegistry;
  /** LMDB directory of this country's records (the face index files live there too). */
  dataDir: string;
  /** Per-node face model changes (thresholds, extra models). */
  faceModels?: FaceModelOverrides;
  /** NATS server URL(s); omit to serve gRPC only. */
  natsServers?: string | string[];
  natsAuth?: NatsAuth;
  /** host:port for CountryNode.Match over gRPC; omit to serve NATS only. Port 0 picks a free one. */
  grpcAddress?: string;
  grpcCredentials?: ServerCredentials;
  logger?: Logger;
  clockSkewMs?: number;
  /** Who may query this node, for what, and how often (default: everyone, everything, no quota). */
  sharingPolicy?: SharingPolicy;
  /**
   * Consume this country's hit notifications into the inbox (`watchmesh notifications list`). Default
   * true when serving NATS; without JetStream on the server the node logs a warning and serves on.
   */
  receiveNotifications?: boolean;
  /** Prometheus registry for this node's metrics (node-metrics.ts); the entry point serves it. */
  metricsRegistry?: MetricsRegistry;
  /** Per-requester rate limit (default DEFAULT_NODE_RATE_PER_SECOND, bursts of twice that). */
  rateLimit?: RateLimit;
  /** How often expired records are purged (the first run at start). Default 1 hour. */
  purgeIntervalMs?: number;
  /** Audit entries older than this are purged (whole sealed entries); unset keeps them all. */
  auditRetentionMs?: number;
  /** The audit log is sealed with the node's key every this many entries (and on stop). Default 100. */
  auditSealEvery?: number;
  /** See NotificationInboxOptions.onHandled. */
  onNotificationHandled?: NotificationInboxOptions["onHandled"];
  /** See FollowupDeskOptions.onHandled (follow-up requests are received with notifications). */
  onFollowupHandled?: FollowupDeskOptions["onHandled"];
}

/**
 * A running country node: its LMDB store, the matcher, and the transports answering signed queries.
 * Start with `CountryNode.start()`, stop with `stop()` (idempotent) or `await using`.
 */
export class CountryNode implements AsyncDisposable {
  readonly country: string;
  readonly store: RecordStore;
  readonly #grpc: RunningGrpcServer | undefined;
  readonly #nats: NatsConnection | undefined;
  readonly #responder: NatsResponder | undefined;
  readonly #inbox: NotificationInbox | undefined;
  readonly #followups: FollowupDesk | undefined;
  readonly #purger: ExpiryPurger;
  readonly #logger: Logger;
  readonly #service: MatchService;
  readonly #audit: AuditLog;
  readonly #quotas: QuotaLedger;
  readonly #replayGuard: ReplayGuard;
  /** Shared with the match service, so a registry swapped in here applies to the next query. */
  readonly #registry: { current: TrustRegistry };
  /** Likewise for the sharing policy. */
  readonly #policy: { current: SharingPolicy };
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    country: string;
    store: RecordStore;
    registry: { current: TrustRegistry };
    policy: { current: SharingPolicy };
    grpc: RunningGrpcServer | undefined;
    nats: NatsConnection | undefined;
    responder: NatsResponder | undefined;
    inbox: NotificationInbox | undefined;
    followups: FollowupDesk | undefined;
    purger: ExpiryPurger;
    logger: Logger;
    service: MatchService;
    quotas: QuotaLedger;
    replayGuard: ReplayGuard;
    audit: AuditLog;
  }) {
    this.country = parts.country;
    this.store = parts.store;
    this.#registry = parts.registry;
    this.#policy = parts.policy;
    this.#grpc = parts.grpc;
    this.#nats = parts.nats;
    this.#responder = parts.responder;
    this.#inbox = parts.inbox;
    this.#followups = parts.followups;
    this.#purger = parts.purger;
    this.#logger = parts.logger;
    this.#service = parts.service;
    this.#audit = parts.audit;
    this.#quotas = parts.quotas;
    this.#replayGuard = parts.replayGuard;
  }

  static async start(options: CountryNodeOptions): Promise<CountryNode> {
    await initSodium();
    const { identity } = options;
    if (identity.role !== "node") {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `a country node needs a key with role "node", not "${identity.role}"`);
    }
    // Fail fast if the registry does not know this node's key: nobody could verify its answers.
    options.registry.resolveSigner(identity.keyId, Date.now(), ["node"]);
    const logger = (options.logger ?? silentLogger()).child({ country: identity.country });
    const store = await RecordStore.open({
      path: options.dataDir,
      defaultRegion: identity.country,
      ...(options.faceModels === undefined ? {} : { faceModels: options.faceModels }),
    });

    const audit = await AuditLog.open({
      dataDir: options.dataDir,
      identity,
      logger: logger.child({ component: "audit-log" }),
      ...(options.auditRetentionMs === undefined ? {} : { retentionMs: options.auditRetentionMs }),
      ...(options.auditSealEvery === undefined ? {} : { sealEvery: options.auditSealEvery }),
    }).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    const nodeMetrics = options.metricsRegistry ? new NodeMetrics(options.metricsRegistry) : undefined;
    nodeMetrics?.watchStore(store);
    let grpc: RunningGrpcServer | undefined;
    let nats: NatsConnection | undefined;
    let responder: NatsResponder | undefined;
    let inbox: NotificationInbox | undefined;
    let followups: FollowupDesk | undefined;
    let purger: ExpiryPurger;
    const registry = { current: options.registry };
    const policy = { current: options.sharingPolicy ?? SharingPolicy.allowAll() };
    const quotas = new QuotaLedger(store);
    const replayGuard = ReplayGuard.open(store, {
      ...(options.clockSkewMs === undefined ? {} : { clockSkewMs: options.clockSkewMs }),
      onWriteError: (error) => logger.error({ code: WatchmeshError.from(error).code }, "replay nonces not written"),
    });
    // One budget per requester for match and aggregate queries alike.
    const rateLimiter = new RateLimiter(options.rateLimit ?? { perSecond: DEFAULT_NODE_RATE_PER_SECOND, burst: 2 * DEFAULT_NODE_RATE_PER_SECOND });
    const matcher = createMatcher(store, { country: identity.country });
    // The vocabulary loads now; the key filter is built in the background (it never rejects), and the
    // node answers meanwhile by reading the store without it.
    void matcher.warmUp?.();
    const service = new MatchService({
      identity,
      registry: () => registry.current,
      policy: () => policy.current,
      quotas,
      rateLimiter,
      ...(nodeMetrics ? { onAnswered: nodeMetrics.onAnswered } : {}),
      matcher,
      replayGuard,
      referenceFor: (id) => store.referenceFor(id),
      logger,
      audit: (entry) => audit.record(entry),
      ...(options.clockSkewMs === undefined ? {} : { clockSkewMs: options.clockSkewMs }),
    });
    const aggregates = new AggregateService({
      identity,
      registry: () => registry.current,
      policy: () => policy.current,
      records: () => store.records(),
      recordForReference: (reference) => {
        const id = store.idForReference(reference);
        return id === undefined ? undefined : store.get(id);
      },
      auditEntries: async () => {
        await audit.flush();
        return audit.entries();
      },
      quotas,
      rateLimiter,
      replayGuard,
      logger,
      audit: (entry) => audit.record(entry),
      ...(options.clockSkewMs === undefined ? {} : { clockSkewMs: options.clockSkewMs }),
    });
    try {
      if (options.grpcAddress !== undefined) {
        grpc = await startGrpcServer({
          address: options.grpcAddress,
          services: [countryNodeGrpcBinding(service, aggregates)],
          ...(options.grpcCredentials ? { credentials: options.grpcCredentials } : {}),
        });
      }
      if (options.natsServers !== undefined) {
        nats = await connectNats({
          servers: options.natsServers,
          name: `watchmesh-node-${identity.country}`,
          ...(options.natsAuth ? { auth: options.natsAuth } : {}),
        });
        responder = NatsResponder.start({ connection: nats, service, aggregates, logger });
        await nats.flush(); // Subscriptions are registered on the server before start() returns.
        if (options.receiveNotifications ?? true) {
          inbox = await NotificationInbox.start({
            connection: nats,
            country: identity.country,
            dataDir: options.dataDir,
            registry: () => registry.current,
            logger,
            ...(options.onNotificationHandled ? { onHandled: options.onNotificationHandled } : {}),
          });
          followups = await FollowupDesk.start({
            connection: nats,
            country: identity.country,
            dataDir: options.dataDir,
            registry: () => registry.current,
            logger,
            ...(options.onFollowupHandled ? { onHandled: options.onFollowupHandled } : {}),
          });
        }
      }
      // Expired records are purged at start and then on the interval (a bad interval fails the start).
      purger = ExpiryPurger.start({
        store,
        intervalMs: options.purgeIntervalMs ?? DEFAULT_PURGE_INTERVAL_MS,
        logger: logger.child({ component: "expiry-purger" }),
      });
    } catch (error) {
      await followups?.stop();
      await inbox?.stop();
      await responder?.stop();
      await nats?.close().catch(() => undefined);
      await grpc?.stop(0);
      await audit.close();
      await store.close();
      throw error;
    }
    const node = new CountryNode({ country: identity.country, store, registry, policy, grpc, nats, responder, inbox, followups, purger, logger, service, audit, quotas, replayGuard });
    logger.info({ grpcPort: grpc?.port, nats: nats !== undefined }, "country node started");
    return node;
  }

  get registry(): TrustRegistry {
    return this.#registry.current;
  }

  /** Swaps in a newer verified registry; the next query uses it. */
  updateRegistry(registry: TrustRegistry): void {
    if (registry.version < this.#registry.current.version) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, "refusing to downgrade the trust registry");
    }
    this.#registry.current = registry;
  }

  get sharingPolicy(): SharingPolicy {
    return this.#policy.current;
  }

  /** Swaps in a new sharing policy; the next query is judged by it (quota counts of the day are kept). */
  updateSharingPolicy(policy: SharingPolicy): void {
    this.#policy.current = policy;
  }

  /** This country's received hit notifications; undefined when not consuming them. */
  get inbox(): NotificationInbox | undefined {
    return this.#inbox;
  }

  /** This country's received follow-up requests; undefined when not consuming them. */
  get followups(): FollowupDesk | undefined {
    return this.#followups;
  }

  /** Queries this replica refused so far, by error code. */
  refusalCounts(): Record<string, number> {
    return this.#service.refusalCounts();
  }

  /** Queries answered by this replica so far, over any transport. */
  get queriesAnswered(): number {
    return this.#service.answeredCount;
  }

  /** The gRPC port, when serving gRPC. */
  get grpcPort(): number | undefined {
    return this.#grpc?.port;
  }

  /** Stops accepting queries, finishes those in hand, then closes NATS, gRPC and LMDB. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#responder?.stop();
      await this.#inbox?.stop();
      await this.#followups?.stop();
      if (this.#nats) await drainOrClose(this.#nats);
      await this.#grpc?.stop();
      await this.#purger.stop();
      // After every answer is signed (responder and gRPC stopped): the final seal covers the last entry.
      await this.#audit.close();
      await this.#quotas.flush();
      await this.#replayGuard.flush();
      await this.store.close();
      this.#logger.info("country node stopped");
    })();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
