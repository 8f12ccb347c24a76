import { randomBytes, randomUUID } from "node:crypto";
import { credentials as grpcCredentials, type ChannelCredentials, type Client } from "@grpc/grpc-js";
import { SpanKind, context as otelContext, trace } from "@opentelemetry/api";
import { DIMENSION_NAMES, openAggregateAnswer, signAggregateQuery, validateAggregateQuery, type DimensionName } from "../common/aggregate-query.ts";
import { sumByRegion } from "../common/aggregate-totals.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { MemberRole, type SigningIdentity } from "../common/key-files.ts";
import { DEFAULT_QUERY_LIFETIME_MS, MAX_CHECK_DEADLINE_MS } from "../common/limits.ts";
import {
  AggregateMeasure,
  AggregateStatus,
  Purpose,
  watchmeshGrpcPackage,
  type AggregateAnswer,
  type AggregateCell,
  type AggregateQuery,
  type SignedEnvelope,
} from "../common/proto.ts";
import { regionOf } from "../common/regions.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { sha256 } from "../common/signing.ts";
import { initSodium } from "../common/sodium.ts";
import { currentTraceId, markSpanError, tracer } from "../common/telemetry.ts";
import { callCoordinator, type UnaryRpc } from "./coordinator-rpc.ts";

/** What an analyst asks (the `watchmesh report` options). */
export interface AggregateRequestOptions {
  /** "YYYY-MM", inclusive. */
  fromMonth: string;
  toMonth: string;
  /** Default: month, category and designation (the finest grouping; reports sum it up as needed). */
  groupBy?: DimensionName[];
  /** Record categories to count; default all. */
  categories?: string[];
  /** > 0: ask every node for noised counts (differential privacy); default 0 (exact counts, still k-suppressed). */
  epsilon?: number;
  /** Countries to ask; default every node country of the registry. */
  countries?: string[];
  legalBasis?: string;
  deadlineMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type AggregateMeasureName = "records" | "hits";

/** A released count as the JSON outputs show it (`watchmesh report --json`). */
export interface ReleasedCell {
  measure: AggregateMeasureName;
  /** "" for a dimension not grouped by. */
  month: string;
  category: string;
  designation: string;
  /** 0 when suppressed. */
  count: number;
  suppressed: boolean;
}

export type CountryAggregateStatus = "answered" | "refused" | "error" | "unavailable";

/** One country's verified answer. */
export interface CountryAggregate {
  country: string;
  region: string;
  status: CountryAggregateStatus;
  errorCode?: string;
  cells: ReleasedCell[];
  suppressedCells: number;
  minCellCount: number;
  epsilon: number;
  undatedRecords: number;
  ms: number;
}

export interface RegionSums {
  /** Region name, or "" for all regions together. */
  region: string;
  cells: ReleasedCell[];
  countries: number;
  suppressedCells: number;
}

/** The outcome of one aggregate query, every number checked against its country's signature. */
export interface AggregateResult {
  queryId: string;
  traceId: string;
  fromMonth: string;
  toMonth: string;
  groupBy: DimensionName[];
  categories: string[];
  epsilon: number;
  countries: CountryAggregate[];
  /** Sums of the verified answers per region, then overall (region ""). */
  totals: RegionSums[];
}

export interface AnalystClientOptions {
  coordinatorAddress: string;
  /** The analyst's signing identity (role "analyst"). */
  identity: SigningIdentity;
  /** Verifies every country's signed answer independently of the coordinator. */
  registry: TrustRegistry;
  credentials?: ChannelCredentials;
}

interface AggregateResponseMessage {
  queryId: string;
  traceId: string;
  results: { country: string; status: AggregateStatus; answer: SignedEnvelope | null; elapsedMs: number; errorCode: string }[];
}

const MEASURE_NAMES: Record<string, AggregateMeasureName> = {
  [AggregateMeasure.Records]: "records",
  [AggregateMeasure.Hits]: "hits",
};

const STATUS_NAMES: Record<string, CountryAggregateStatus> = {
  [AggregateStatus.Answered]: "answered",
  [AggregateStatus.Refused]: "refused",
  [AggregateStatus.Error]: "error",
};

/**
 * The analyst SDK for federated analysis: signs an AggregateQuery with the analyst's key, sends it to a
 * coordinator (Coordinator.Aggregate), verifies each country's signed counts itself and sums them per
 * region. A coordinator can drop a country (unavailable) but cannot change a count.
 */
export class AnalystClient {
  readonly #options: AnalystClientOptions;
  readonly #client: Client;
  readonly #aggregateRpc: UnaryRpc<AggregateResponseMessage>;

  private constructor(options: AnalystClientOptions) {
    this.#options = options;
    const Constructor = watchmeshGrpcPackage()["Coordinator"] as unknown as new (address: string, credentials: ChannelCredentials) => Client & {
      Aggregate: UnaryRpc<AggregateResponseMessage>;
    };
    const client = new Constructor(options.coordinatorAddress, options.credentials ?? grpcCredentials.createInsecure());
    this.#client = client;
    this.#aggregateRpc = client.Aggregate.bind(client);
  }

  static async connect(options: AnalystClientOptions): Promise<AnalystClient> {
    await initSodium();
    if (options.identity.role !== MemberRole.Analyst) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `aggregate queries must be signed with an "analyst" key, not "${options.identity.role}"`);
    }
    return new AnalystClient(options);
  }

  /** Builds and signs the query; INVALID_ARGUMENT when the options break the query's rules. */
  buildQuery(options: AggregateRequestOptions): { query: AggregateQuery; envelope: SignedEnvelope } {
    const { identity } = this.#options;
    const issuedAtMs = Date.now();
    const query: AggregateQuery = {
      queryId: randomUUID(),
      requestingCountry: identity.country,
      requestingAgency: identity.agency,
      purpose: Purpose.Analysis,
      legalBasis: options.legalBasis ?? "",
      issuedAtMs,
      expiresAtMs: issuedAtMs + DEFAULT_QUERY_LIFETIME_MS,
      nonce: new Uint8Array(randomBytes(16)),
      fromMonth: options.fromMonth,
      toMonth: options.toMonth,
      groupBy: (options.groupBy ?? ["month", "category", "designation"]).map((name) => DIMENSION_NAMES[name]),
      categories: options.categories ?? [],
      epsilon: options.epsilon ?? 0,
    };
    validateAggregateQuery(query);
    return { query, envelope: signAggregateQuery(query, identity) };
  }

  async aggregate(options: AggregateRequestOptions): Promise<AggregateResult> {
    const { query, envelope } = this.buildQuery(options);
    const span = tracer().startSpan("watchmesh.client.aggregate", { kind: SpanKind.CLIENT });
    span.setAttributes({ "watchmesh.query_id": query.queryId, "watchmesh.requester_country": query.requestingCountry });
    const ctx = trace.setSpan(otelContext.active(), span);
    try {
      const deadlineMs = options.deadlineMs ?? 0;
      const response = await callCoordinator(
        this.#aggregateRpc,
        { query: envelope, deadlineMs, countries: options.countries ?? [] },
        ctx,
        options.timeoutMs ?? (deadlineMs || MAX_CHECK_DEADLINE_MS) + 5000,
        this.#options.coordinatorAddress,
        options.signal,
      );
      if (response.queryId !== query.queryId) throw new WatchmeshError(ErrorCode.AnswerInvalid, "coordinator answered for another query");
      const asked = options.countries?.length ? options.countries : this.#options.registry.nodeCountries();
      const verified = this.#verify(response, sha256(envelope.payload), asked);
      return {
        queryId: query.queryId,
        traceId: currentTraceId(span),
        fromMonth: query.fromMonth,
        toMonth: query.toMonth,
        groupBy: options.groupBy ?? ["month", "category", "designation"],
        categories: query.categories,
        epsilon: query.epsilon,
        countries: verified.map(({ result }) => result),
        totals: sumByRegion(verified.flatMap(({ answer }) => (answer ? [answer] : []))).map((total) => ({ ...total, cells: total.cells.map(releasedCell) })),
      };
    } catch (error) {
      const failure = WatchmeshError.from(error);
      markSpanError(span, failure.code);
      throw failure;
    } finally {
      span.end();
    }
  }

  /** One line per country asked, believed only as far as its signed answer. */
  #verify(response: AggregateResponseMessage, digest: Uint8Array, asked: readonly string[]): { result: CountryAggregate; answer?: AggregateAnswer }[] {
    const byCountry = new Map(response.results.map((result) => [result.country, result]));
    return [...new Set(asked)].sort().map((country) => {
      const reported = byCountry.get(country);
      const base = { country, region: regionOf(country), cells: [], suppressedCells: 0, minCellCount: 0, epsilon: 0, undatedRecords: 0, ms: reported?.elapsedMs ?? 0 };
      if (!reported?.answer || reported.answer.payload.length === 0) {
        return reported?.status === AggregateStatus.Error
          ? { result: { ...base, status: "error", errorCode: reported.errorCode || ErrorCode.AnswerInvalid } }
          : { result: { ...base, status: "unavailable" } };
      }
      let answer: AggregateAnswer;
      try {
        answer = openAggregateAnswer(reported.answer, this.#options.registry, { nowMs: Date.now(), expectedCountry: country, expectedQueryDigest: digest });
      } catch (error) {
        return { result: { ...base, status: "error", errorCode: WatchmeshError.from(error, ErrorCode.AnswerInvalid).code } };
      }
      const result: CountryAggregate = {
        ...base,
        status: STATUS_NAMES[answer.status] ?? "error",
        ...(answer.errorCode ? { errorCode: answer.errorCode } : {}),
        cells: answer.cells.map(releasedCell),
        suppressedCells: answer.cells.filter((cell) => cell.suppressed).length,
        minCellCount: answer.minCellCount,
        epsilon: answer.epsilon,
        undatedRecords: answer.undatedRecords,
      };
      return answer.status === AggregateStatus.Answered ? { result, answer } : { result };
    });
  }

  close(): void {
    this.#client.close();
  }
}

function releasedCell(cell: AggregateCell): ReleasedCell {
  return {
    measure: MEASURE_NAMES[cell.measure] ?? "records",
    month: cell.month,
    category: cell.category,
    designation: cell.designation,
    count: Number(cell.count),
    suppressed: cell.suppressed,
  };
}
