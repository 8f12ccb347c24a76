import { randomBytes, randomUUID } from "node:crypto";
import { credentials as grpcCredentials, type ChannelCredentials, type Client } from "@grpc/grpc-js";
import { SpanKind, context as otelContext, trace } from "@opentelemetry/api";
import { openAnswerOutcome, signQuery, type AnswerOutcome } from "../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import {
  DEFAULT_QUERY_LIFETIME_MS,
  MAX_BATCH_QUERIES,
  MAX_BATCH_RESPONSE_BYTES,
  MAX_CHECK_DEADLINE_MS,
  MAX_ENVELOPE_BYTES,
} from "../common/limits.ts";
import {
  AnswerStatus,
  CountryStatus,
  decodeCheckResponse,
  Purpose,
  RequestedAction,
  watchmeshGrpcPackage,
  type CheckResponseMessage,
  type EntityQuery,
  type MatchQuery,
  type PersonQuery,
  type SignedEnvelope,
} from "../common/proto.ts";
import { PairKeyring } from "../common/pair-tags.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { initSodium } from "../common/sodium.ts";
import { sha256 } from "../common/signing.ts";
import { currentTraceId, markSpanError, tracer } from "../common/telemetry.ts";
import { callCoordinator, type UnaryRpc } from "./coordinator-rpc.ts";

/** Per-country status as shown to officers and in `watchmesh check --json`. */
export type ResultStatus = "hit" | "no_hit" | "refused" | "unavailable" | "error";
export type ActionName = "discreet_check" | "specific_check" | "arrest" | "inform_owner";

export interface CheckHit {
  reference: string;
  score: number;
  category: string;
  action: ActionName;
  matchedFeatures: string[];
}

export interface CountryCheckResult {
  country: string;
  status: ResultStatus;
  hits: CheckHit[];
  /** Milliseconds from publication to the answer's arrival at the coordinator. */
  ms: number;
  /** Stable code for refused/error results. */
  errorCode?: string;
}

export interface CheckResult {
  queryId: string;
  traceId: string;
  results: CountryCheckResult[];
}

export type CheckSubject = { person: Partial<PersonQuery> } | { entity: EntityQuery };

/** One traveller of a batch: its query id and one result per asked country, sorted by country. */
export interface TravellerCheckResult {
  queryId: string;
  results: CountryCheckResult[];
}

export interface BatchCheckResult {
  traceId: string;
  /** One per subject, in the order given. */
  travellers: TravellerCheckResult[];
}

/** Where a batch check is: signing each query, waiting for the coordinator, verifying each traveller's answers. */
export interface BatchProgress {
  phase: "signing" | "sending" | "verifying";
  done: number;
  total: number;
}

export interface CheckCallOptions {
  purpose?: Purpose;
  legalBasis?: string;
  /** Border post or terminal id (not personal data). */
  location?: string;
  /** Coordinator's gathering deadline; the coordinator's default when omitted. */
  deadlineMs?: number;
  countries?: string[];
  /** Whole-call budget; defaults to the gathering deadline plus a margin. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface BatchCallOptions extends CheckCallOptions {
  /** Called as queries are signed and travellers verified (synchronously; keep it cheap). */
  onProgress?: (progress: BatchProgress) => void;
}

export interface BorderClientOptions {
  /** host:port of a coordinator. */
  coordinatorAddress: string;
  /** The border system's signing identity (role "border"). */
  identity: SigningIdentity;
  /** Used to verify every country's signed answer independently of the coordinator. */
  registry: TrustRegistry;
  credentials?: ChannelCredentials;
}

interface CountryResultMessage {
  country: string;
  status: CountryStatus;
  answer: SignedEnvelope | null;
  elapsedMs: number;
  errorCode: string;
}

interface CheckBatchResponseMessage {
  traceId: string;
  travellers: { queryId: string; results: CountryResultMessage[] }[];
}

const ACTION_NAMES: Record<string, ActionName> = {
  [RequestedAction.DiscreetCheck]: "discreet_check",
  [RequestedAction.SpecificCheck]: "specific_check",
  [RequestedAction.Arrest]: "arrest",
  [RequestedAction.InformOwner]: "inform_owner",
  [RequestedAction.Unspecified]: "inform_owner",
};

const STATUS_FROM_ANSWER: Record<string, ResultStatus> = {
  [AnswerStatus.Hit]: "hit",
  [AnswerStatus.NoHit]: "no_hit",
  [AnswerStatus.Refused]: "refused",
  [AnswerStatus.Error]: "error",
};

/**
 * The border-system SDK. Signs queries with the border system's key, sends them to a coordinator,
 * and verifies every country's signed answer itself: a compromised coordinator can drop answers
 * (they show as unavailable) but can forge neither a hit nor a no-hit.
 */
export class BorderClient {
  readonly #options: BorderClientOptions;
  readonly #keyring: PairKeyring;
  readonly #client: Client;
  readonly #checkRpc: UnaryRpc<CheckResponseMessage>;
  readonly #checkBatchRpc: UnaryRpc<CheckBatchResponseMessage>;

  private constructor(options: BorderClientOptions) {
    this.#options = options;
    this.#keyring = new PairKeyring(options.identity, { side: "asker" });
    const Constructor = watchmeshGrpcPackage()["Coordinator"] as unknown as new (
      address: string,
      credentials: ChannelCredentials,
      channelOptions: Record<string, number>,
    ) => Client & { Check: UnaryRpc<CheckResponseMessage>; CheckBatch: UnaryRpc<CheckBatchResponseMessage> };
    const client = new Constructor(options.coordinatorAddress, options.credentials ?? grpcCredentials.createInsecure(), {
      // A batch response carries every country's signed answer for up to MAX_BATCH_QUERIES travellers.
      "grpc.max_receive_message_length": MAX_BATCH_RESPONSE_BYTES,
    });
    this.#client = client;
    // Check responses are read with the wire reader rather than the generic decoder, which copies the
    // bytes of every country's answer into new buffers and converts each field.
    const check = (Constructor as unknown as { service: { Check: { path: string; requestSerialize: (value: unknown) => Buffer } } }).service.Check;
    this.#checkRpc = (request, metadata, callOptions, callback) =>
      client.makeUnaryRequest(check.path, check.requestSerialize, decodeCheckResponse, request, metadata, callOptions, callback);
    this.#checkBatchRpc = client.CheckBatch.bind(client);
  }

  static async connect(options: BorderClientOptions): Promise<BorderClient> {
    await initSodium();
    if (options.identity.role !== "border") {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `checks must be signed with a "border" key, not "${options.identity.role}"`);
    }
    return new BorderClient(options);
  }

  /** Builds and signs the query for a subject; exposed for callers that send it themselves. */
  buildQuery(subject: CheckSubject, options: CheckCallOptions = {}): { query: MatchQuery; envelope: SignedEnvelope } {
    const { identity } = this.#options;
    const issuedAtMs = Date.now();
    const query: MatchQuery = {
      queryId: randomUUID(),
      requestingCountry: identity.country,
      requestingAgency: identity.agency,
      purpose: options.purpose ?? Purpose.BorderCheck,
      legalBasis: options.legalBasis ?? "",
      issuedAtMs,
      expiresAtMs: issuedAtMs + DEFAULT_QUERY_LIFETIME_MS,
      nonce: new Uint8Array(randomBytes(16)),
      requesterLocation: options.location ?? "",
      ...("person" in subject ? { person: completePerson(subject.person) } : { entity: subject.entity }),
    };
    // Tagged for every node key of the countries asked and for every coordinator key: each node, and
    // the coordinator that relays it, authenticates it with one MAC.
    const { registry } = this.#options;
    const tagFor = [...registry.nodeKeys(issuedAtMs, options.countries), ...registry.coordinatorKeys(issuedAtMs)];
    return { query, envelope: signQuery(query, identity, { tagFor, keyring: this.#keyring }) };
  }

  async check(subject: CheckSubject, options: CheckCallOptions = {}): Promise<CheckResult> {
    const { query, envelope } = this.buildQuery(subject, options);
    const span = tracer().startSpan("watchmesh.client.check", { kind: SpanKind.CLIENT });
    span.setAttributes({ "watchmesh.query_id": query.queryId, "watchmesh.requester_country": query.requestingCountry });
    const ctx = trace.setSpan(otelContext.active(), span);
    try {
      // 0 lets the coordinator apply its own default deadline.
      const deadlineMs = options.deadlineMs ?? 0;
      const response = await callCoordinator(
        this.#checkRpc,
        { query: envelope, deadlineMs, countries: options.countries ?? [] },
        ctx,
        options.timeoutMs ?? (deadlineMs || MAX_CHECK_DEADLINE_MS) + 5000,
        this.#options.coordinatorAddress,
        options.signal,
      );
      const asked = options.countries?.length ? options.countries : this.#options.registry.nodeCountries();
      if (response.queryId !== query.queryId) {
        throw new WatchmeshError(ErrorCode.AnswerInvalid, "coordinator answered for another query");
      }
      const results = this.#verifyResults(response.results, sha256(envelope.payload), asked);
      span.setAttribute("watchmesh.hit_countries", results.filter((result) => result.status === "hit").length);
      return { queryId: query.queryId, traceId: currentTraceId(span), results };
    } catch (error) {
      const failure = WatchmeshError.from(error);
      markSpanError(span, failure.code);
      throw failure;
    } finally {
      span.end();
    }
  }

  /**
   * Screens many travellers in one call (Coordinator.CheckBatch): signs one query per subject, sends
   * them together, and verifies every country's signed answer for every traveller itself, as check()
   * does. At most MAX_BATCH_QUERIES subjects, all signed with this client's key.
   */
  async checkBatch(subjects: readonly CheckSubject[], options: BatchCallOptions = {}): Promise<BatchCheckResult> {
    if (subjects.length === 0) throw new WatchmeshError(ErrorCode.InvalidArgument, "a batch needs at least one subject");
    if (subjects.length > MAX_BATCH_QUERIES) {
      throw new WatchmeshError(ErrorCode.PayloadTooLarge, `a batch holds at most ${MAX_BATCH_QUERIES} travellers, not ${subjects.length}`);
    }
    const { onProgress } = options;
    const total = subjects.length;
    const span = tracer().startSpan("watchmesh.client.check_batch", { kind: SpanKind.CLIENT });
    span.setAttributes({ "watchmesh.batch_size": total, "watchmesh.requester_country": this.#options.identity.country });
    const ctx = trace.setSpan(otelContext.active(), span);
    try {
      const built = subjects.map((subject, index) => {
        const query = this.buildQuery(subject, options);
        if (query.envelope.payload.length > MAX_ENVELOPE_BYTES) {
          throw new WatchmeshError(ErrorCode.PayloadTooLarge, `subject ${index}: its query exceeds ${MAX_ENVELOPE_BYTES} bytes`);
        }
        onProgress?.({ phase: "signing", done: index + 1, total });
        return query;
      });
      onProgress?.({ phase: "sending", done: 0, total });
      const deadlineMs = options.deadlineMs ?? 0;
      const response = await callCoordinator(
        this.#checkBatchRpc,
        { queries: built.map(({ envelope }) => envelope), deadlineMs, countries: options.countries ?? [] },
        ctx,
        options.timeoutMs ?? (deadlineMs || MAX_CHECK_DEADLINE_MS) + 5000,
        this.#options.coordinatorAddress,
        options.signal,
      );
      const asked = options.countries?.length ? options.countries : this.#options.registry.nodeCountries();
      // The coordinator may drop a traveller (its countries show unavailable) but cannot swap answers:
      // each is checked against its own query's digest.
      const byQueryId = new Map(response.travellers.map((traveller) => [traveller.queryId, traveller.results]));
      const travellers = built.map(({ query, envelope }, index): TravellerCheckResult => {
        const results = this.#verifyResults(byQueryId.get(query.queryId) ?? [], sha256(envelope.payload), asked);
        onProgress?.({ phase: "verifying", done: index + 1, total });
        return { queryId: query.queryId, results };
      });
      span.setAttribute("watchmesh.hit_travellers", travellers.filter((traveller) => traveller.results.some((result) => result.status === "hit")).length);
      return { traceId: currentTraceId(span), travellers };
    } catch (error) {
      const failure = WatchmeshError.from(error);
      markSpanError(span, failure.code);
      throw failure;
    } finally {
      span.end();
    }
  }

  /** Verifies one query's country results: every country asked gets a line, believed only as far as its signed answer. */
  #verifyResults(reported: readonly CountryResultMessage[], queryDigest: Uint8Array, expected: readonly string[]): CountryCheckResult[] {
    const byCountry = new Map(reported.map((result) => [result.country, result]));
    // Every country asked gets a line, whether or not the coordinator reported it.
    return [...new Set(expected)].sort().map((country) => {
      const result = byCountry.get(country);
      const ms = result?.elapsedMs ?? 0;
      if (!result) return { country, status: "unavailable" as const, hits: [], ms };
      if (!result.answer || result.answer.payload.length === 0) {
        // Without a signed answer nothing can be verified; only "unavailable" or "error" can be believed.
        return result.status === CountryStatus.Error
          ? { country, status: "error" as const, hits: [], ms, errorCode: result.errorCode || ErrorCode.AnswerInvalid }
          : { country, status: "unavailable" as const, hits: [], ms };
      }
      let answer: AnswerOutcome;
      try {
        answer = openAnswerOutcome(result.answer, this.#options.registry, {
          nowMs: Date.now(),
          expectedCountry: country,
          expectedQueryDigest: queryDigest,
          keyring: this.#keyring,
        });
      } catch (error) {
        return { country, status: "error" as const, hits: [], ms, errorCode: WatchmeshError.from(error, ErrorCode.AnswerInvalid).code };
      }
      const status = STATUS_FROM_ANSWER[answer.status] ?? "error";
      return {
        country,
        status,
        hits: answer.hits.map((hit) => ({
          reference: hit.reference,
          score: hit.score,
          category: hit.category,
          action: ACTION_NAMES[hit.action] ?? "inform_owner",
          matchedFeatures: hit.matchedFeatures,
        })),
        ms,
        ...(answer.errorCode ? { errorCode: answer.errorCode } : {}),
      };
    });
  }

  close(): void {
    this.#client.close();
  }
}

function completePerson(person: Partial<PersonQuery>): PersonQuery {
  return {
    names: person.names ?? [],
    dob: person.dob ?? "",
    nationality: person.nationality ?? [],
    sex: person.sex ?? "",
    documents: person.documents ?? [],
    mrz: person.mrz ?? [],
    ...(person.dna ? { dna: person.dna } : {}),
    ...(person.face ? { face: person.face } : {}),
  };
}
