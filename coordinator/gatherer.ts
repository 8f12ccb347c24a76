import { randomBytes } from "node:crypto";
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Context } from "@opentelemetry/api";
import { openAnswerSummary, type AnswerCheckOptions } from "../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { MemberRole } from "../common/key-files.ts";
import { AnswerStatus, answerStatusOf, CountryStatus, decodeEnvelope, type SignedEnvelope } from "../common/proto.ts";
import type { ResolvedSigner, TrustRegistry } from "../common/registry.ts";
import type { PairKeyring } from "../common/pair-tags.ts";
import { COORDINATOR_KEY_HEADER, coordinatorInboxPrefix, DEADLINE_HEADER } from "../common/subjects.ts";
import { settleWithin } from "../common/nats-connection.ts";
import { injectIntoNatsHeaders } from "../common/telemetry.ts";

/** One country's outcome as gathered by the coordinator. */
export interface GatheredResult {
  country: string;
  status: CountryStatus;
  /** The node's authenticated answer, forwarded unmodified. */
  answer?: SignedEnvelope;
  /** The answer's envelope exactly as received, when it came alone (copied into the response as is). */
  answerBytes?: Uint8Array;
  elapsedMs: number;
  errorCode: string;
  hitCount: number;
}

/** One message of a fan-out: the query envelope's bytes as one country receives them, on its subject. */
export interface Publication {
  subject: string;
  bytes: Uint8Array;
}

export interface GatherRequest {
  /** What to publish: one message per country (see Coordinator.check). */
  publications: readonly Publication[];
  queryDigest: Uint8Array;
  expectedCountries: readonly string[];
  deadlineAtMs: number;
  parentContext: Context;
  registry: TrustRegistry;
}

interface PendingGather {
  request: GatherRequest;
  startedAt: number;
  expected: ExpectedCountries;
  /** Verified results, at each country's place in `expected.sorted`. */
  results: (GatheredResult | undefined)[];
  answered: number;
  /** Answers that were signed by a country's key but failed verification; replaced by a valid one. */
  provisional: Map<string, GatheredResult>;
  finish: () => void;
}

/** A check's expected countries, sorted and without repeats, and each one's place among them. */
interface ExpectedCountries {
  /** The list as the request gave it, to tell whether the next request's is the same. */
  given: readonly string[];
  sorted: readonly string[];
  placeOf: ReadonlyMap<string, number>;
}

function expectedCountries(given: readonly string[]): ExpectedCountries {
  const sorted = [...new Set(given)].sort();
  return { given: [...given], sorted, placeOf: new Map(sorted.map((country, place) => [country, place])) };
}

function sameCountries(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

export const ANSWER_STATUS_TO_COUNTRY: Readonly<Record<string, CountryStatus>> = {
  [AnswerStatus.Hit]: CountryStatus.Hit,
  [AnswerStatus.NoHit]: CountryStatus.NoHit,
  [AnswerStatus.Refused]: CountryStatus.Refused,
  [AnswerStatus.Error]: CountryStatus.Error,
};

/**
 * NATS scatter/gather with one wildcard inbox subscription per coordinator instance: each check gets
 * a token, answers are routed to it by their reply subject, and no per-check subscription is needed.
 */
export class Gatherer {
  readonly #connection: NatsConnection;
  readonly #prefix: string;
  /** In-flight checks by token. */
  readonly #pending = new Map<number, PendingGather>();
  readonly #subscription: Subscription;
  readonly #keyring: PairKeyring | undefined;
  /** The last check's expected countries: checks of every country ask the same list, worked out once. */
  #lastExpected: ExpectedCountries | undefined;
  #nextToken = 0;

  /** `keyring`: the coordinator's pair keys; nodes tag their answers for it. Without it, nodes sign every answer. */
  constructor(connection: NatsConnection, instanceId: string, keyring?: PairKeyring) {
    this.#connection = connection;
    this.#keyring = keyring;
    this.#prefix = coordinatorInboxPrefix(instanceId);
    this.#subscription = connection.subscribe(`${this.#prefix}.*`, {
      callback: (error, msg) => {
        if (!error) this.#onAnswer(msg);
      },
    });
  }

  static newInstanceId(): string {
    return randomBytes(9).toString("base64url");
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Publishes once and resolves with one result per expected country when all answered or at the deadline. */
  gather(request: GatherRequest): Promise<GatheredResult[]> {
    const token = this.#nextToken++;
    const startedAt = performance.now();
    return new Promise<GatheredResult[]>((resolve) => {
      const expected = this.#expected(request.expectedCountries);
      const pending: PendingGather = {
        request,
        startedAt,
        expected,
        results: new Array<GatheredResult | undefined>(expected.sorted.length).fill(undefined),
        answered: 0,
        provisional: new Map(),
        finish: () => {
          clearTimeout(timer);
          this.#pending.delete(token);
          resolve(this.#collect(pending));
        },
      };
      const timer = setTimeout(pending.finish, Math.max(0, request.deadlineAtMs - Date.now()));
      this.#pending.set(token, pending);
      const hdrs = natsHeaders();
      hdrs.set(DEADLINE_HEADER, String(request.deadlineAtMs));
      if (this.#keyring) hdrs.set(COORDINATOR_KEY_HEADER, this.#keyring.identity.keyId);
      injectIntoNatsHeaders(hdrs, request.parentContext);
      encodeOnce(hdrs);
      try {
        const reply = `${this.#prefix}.${token.toString(36)}`;
        for (const { subject, bytes } of request.publications) this.#connection.publish(subject, bytes, { reply, headers: hdrs });
      } catch {
        // Publishing failed (connection closed): every country is unavailable, reported by #collect.
        pending.finish();
      }
    });
  }

  #expected(given: readonly string[]): ExpectedCountries {
    const last = this.#lastExpected;
    if (last && sameCountries(last.given, given)) return last;
    this.#lastExpected = expectedCountries(given);
    return this.#lastExpected;
  }

  #onAnswer(msg: Msg): void {
    const pending = this.#pending.get(answerToken(msg, this.#prefix.length + 1));
    if (!pending) return; // Late answer for a finished check.
    const elapsedMs = Math.round(performance.now() - pending.startedAt);
    let envelope: SignedEnvelope;
    try {
      envelope = decodeEnvelope(msg.data);
    } catch {
      return; // Not attributable to any country: the country stays unavailable unless it answers properly.
    }
    const { registry } = pending.request;
    const nowMs = Date.now();
    const signer = claimedNodeSigner(registry, envelope.keyId, nowMs);
    const country = signer?.country;
    const place = country ? pending.expected.placeOf.get(country) : undefined;
    if (!signer || !country || place === undefined || pending.results[place] !== undefined) return;
    let result: GatheredResult;
    try {
      const options = { nowMs, expectedCountry: country, expectedQueryDigest: pending.request.queryDigest, keyring: this.#keyring };
      result = verifiedResult(envelope, signer, options, elapsedMs, msg.data);
    } catch (error) {
      const code = WatchmeshError.from(error, ErrorCode.AnswerInvalid).code;
      // Anyone can claim a key id, and anyone who saw an old answer can replay it (bound to another
      // query): remember the failure, but keep waiting for an authentic answer to this query.
      pending.provisional.set(country, invalidResult(country, elapsedMs, code));
      return;
    }
    pending.results[place] = result;
    pending.answered += 1;
    if (pending.answered >= pending.results.length) pending.finish();
  }

  /** One result per expected country, sorted by country. */
  #collect(pending: PendingGather): GatheredResult[] {
    return pending.expected.sorted.map(
      (country, place) =>
        pending.results[place] ??
        pending.provisional.get(country) ?? {
          country,
          status: CountryStatus.Unavailable,
          elapsedMs: Math.round(performance.now() - pending.startedAt),
          errorCode: "",
          hitCount: 0,
        },
    );
  }

  /** Finishes every pending check with what it has, then unsubscribes. */
  async close(): Promise<void> {
    for (const pending of [...this.#pending.values()]) pending.finish();
    await settleWithin(this.#subscription.drain(), 2000);
  }
}

/** nats.js's message object keeps the subject's bytes as received, decoded into a string on first read. */
interface UndecodedSubject {
  _msg?: { subject?: unknown };
}

const subjectEncoder = new TextEncoder();

/**
 * The check token at the end of an answer's subject (`<prefix>.<token>`, base 36), or -1. Read from
 * the subject's bytes as nats.js received them when it exposes them (decoding the subject costs about
 * 0.25 µs, 196 times a check), else from the subject string.
 */
export function answerToken(msg: Msg, tokenStart: number): number {
  const undecoded = (msg as unknown as UndecodedSubject)._msg?.subject;
  return base36Token(undecoded instanceof Uint8Array ? undecoded : subjectEncoder.encode(msg.subject), tokenStart);
}

/** 36^10 < 2^53: tokens up to 10 digits are exact numbers. */
const MAX_TOKEN_DIGITS = 10;

function base36Token(bytes: Uint8Array, start: number): number {
  if (start >= bytes.length || bytes.length - start > MAX_TOKEN_DIGITS) return -1;
  let token = 0;
  for (let index = start; index < bytes.length; index++) {
    const byte = bytes[index] as number;
    const digit = byte >= 0x30 && byte <= 0x39 ? byte - 0x30 : byte >= 0x61 && byte <= 0x7a ? byte - 0x57 : -1;
    if (digit < 0) return -1;
    token = token * 36 + digit;
  }
  return token;
}

/**
 * nats.js encodes a message's headers again on every publish (about 1.5 µs each); a fan-out publishes
 * the same headers to every country, so they are encoded once and that encoding is reused. The same
 * bytes either way: if a later nats.js stops calling encode(), this changes nothing.
 */
function encodeOnce(hdrs: MsgHdrs): void {
  const encodable = hdrs as MsgHdrs & { encode?: () => Uint8Array };
  if (typeof encodable.encode !== "function") return;
  const encoded = encodable.encode();
  encodable.encode = () => encoded;
}

const NODE_ROLE = [MemberRole.Node] as const;

/** The country whose node key `keyId` claims to be; verification of the signature comes after. */
export function claimedNodeCountry(registry: TrustRegistry, keyId: string): string | undefined {
  return claimedNodeSigner(registry, keyId)?.country;
}

/** The registered node key (valid now) that `keyId` claims to be; its tag or signature is checked after. */
export function claimedNodeSigner(registry: TrustRegistry, keyId: string, nowMs = Date.now()): ResolvedSigner | undefined {
  try {
    return registry.resolveSigner(keyId, nowMs, NODE_ROLE);
  } catch {
    return undefined;
  }
}

/**
 * A country's answer as a gathered result, once verified (openAnswerSummary: tag or signature of
 * `nodeSigner`, that country, bound to this query); throws when it does not verify.
 */
export function verifiedResult(
  envelope: SignedEnvelope,
  nodeSigner: ResolvedSigner,
  options: AnswerCheckOptions,
  elapsedMs: number,
  answerBytes?: Uint8Array,
): GatheredResult {
  const answer = openAnswerSummary(envelope, nodeSigner, options);
  const result: GatheredResult = {
    country: options.expectedCountry,
    status: ANSWER_STATUS_TO_COUNTRY[answerStatusOf(answer.statusNumber)] ?? CountryStatus.Error,
    answer: envelope,
    elapsedMs,
    errorCode: answer.errorCode,
    hitCount: answer.hitCount,
  };
  // Set afterwards rather than spread into the literal: a spread builds an object per answer.
  if (answerBytes) result.answerBytes = answerBytes;
  return result;
}

export function invalidResult(country: string, elapsedMs: number, errorCode: string): GatheredResult {
  return { country, status: CountryStatus.Error, elapsedMs, errorCode, hitCount: 0 };
}
