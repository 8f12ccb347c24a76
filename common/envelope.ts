import { ErrorCode, WatchmeshError } from "./errors.ts";
import type { SigningIdentity } from "./key-files.ts";
import { MemberRole } from "./key-files.ts";
import {
  DEFAULT_CLOCK_SKEW_MS,
  MAX_ENVELOPE_BYTES,
  MAX_ENVELOPE_WIRE_BYTES,
  MAX_QUERY_LIFETIME_MS,
  MIN_NONCE_BYTES,
  QUERY_SUBJECT_LIMITS,
} from "./limits.ts";
import {
  answerStatusOf,
  type AnswerStatus,
  decodeEnvelope,
  decodeMatchAnswer,
  decodeMatchQuery,
  encodeMatchAnswer,
  encodeMatchQuery,
  type Hit,
  type MatchAnswer,
  type MatchQuery,
  type SignedEnvelope,
} from "./proto.ts";
import type { PairKeyring } from "./pair-tags.ts";
import type { ResolvedSigner, TrustRegistry } from "./registry.ts";
import { SignatureDomain, sha256, signDetached, verifyDetached } from "./signing.ts";
import { readAnswerSummary, type AnswerSummary } from "./wire-reader.ts";

/**
 * Decodes an envelope as read off the wire: PAYLOAD_TOO_LARGE above MAX_ENVELOPE_WIRE_BYTES (before
 * decoding anything), MALFORMED_MESSAGE when it is not a SignedEnvelope.
 */
export function decodeWireEnvelope(bytes: Uint8Array): SignedEnvelope {
  if (bytes.length > MAX_ENVELOPE_WIRE_BYTES) throw new WatchmeshError(ErrorCode.PayloadTooLarge, "envelope too large");
  return decodeEnvelope(bytes);
}

export function signEnvelope(domain: SignatureDomain, payload: Uint8Array, identity: SigningIdentity): SignedEnvelope {
  return { payload, keyId: identity.keyId, signature: signDetached(domain, payload, identity.secretKey) };
}

export interface AuthenticatedEnvelope {
  signer: ResolvedSigner;
  /** True when the Ed25519 signature was checked; false when a pair tag alone authenticated it. */
  signatureVerified: boolean;
}

export interface AuthenticateOptions {
  nowMs: number;
  roles: readonly ResolvedSigner["role"][];
  /** The reader's pair keys: a tag addressed to it is checked first, the signature only without one. */
  keyring?: PairKeyring | undefined;
}

/**
 * Checks size, signer and then a pair tag addressed to the reader or the Ed25519 signature, before
 * anything in the payload is parsed.
 */
export function authenticateEnvelope(envelope: SignedEnvelope, domain: SignatureDomain, registry: TrustRegistry, options: AuthenticateOptions): AuthenticatedEnvelope {
  return authenticateFrom(envelope, domain, claimedSigner(envelope, registry, options), options.keyring);
}

/** The registered signer (valid now, in one of `roles`) that the envelope's key id names; not yet checked. */
function claimedSigner(envelope: SignedEnvelope, registry: TrustRegistry, options: { nowMs: number; roles: readonly ResolvedSigner["role"][] }): ResolvedSigner {
  checkPayloadSize(envelope);
  if (!envelope.keyId) throw new WatchmeshError(ErrorCode.MalformedMessage, "envelope has no key id");
  return registry.resolveSigner(envelope.keyId, options.nowMs, options.roles);
}

/**
 * The tag addressed to the reader, or the Ed25519 signature, for a signer the caller already resolved
 * from the envelope's key id (with the roles allowed to send this message).
 */
export function authenticateFrom(envelope: SignedEnvelope, domain: SignatureDomain, signer: ResolvedSigner, keyring: PairKeyring | undefined): AuthenticatedEnvelope {
  checkPayloadSize(envelope);
  if (keyring?.verifyTagFrom(signer, envelope.tags, domain, envelope.payload)) {
    return { signer, signatureVerified: false };
  }
  if (envelope.signature.length === 0) {
    throw new WatchmeshError(ErrorCode.BadSignature, "envelope carries neither a signature nor a valid tag for this reader", {
      context: { keyId: envelope.keyId },
    });
  }
  requireSignature(envelope, domain, signer);
  return { signer, signatureVerified: true };
}

function checkPayloadSize(envelope: SignedEnvelope): void {
  if (envelope.payload.length > MAX_ENVELOPE_BYTES) {
    throw new WatchmeshError(ErrorCode.PayloadTooLarge, `payload exceeds ${MAX_ENVELOPE_BYTES} bytes`);
  }
}

/**
 * Checks size, signer and Ed25519 signature of an envelope before anything in its payload is parsed.
 * Returns the registered signer. For messages that must be evidence (registry, follow-ups, seals).
 */
export function verifyEnvelope(
  envelope: SignedEnvelope,
  domain: SignatureDomain,
  registry: TrustRegistry,
  options: { nowMs: number; roles: readonly ResolvedSigner["role"][] },
): ResolvedSigner {
  return authenticateEnvelope(envelope, domain, registry, { nowMs: options.nowMs, roles: options.roles }).signer;
}

/** Throws BAD_SIGNATURE unless the envelope's Ed25519 signature verifies against `signer`. */
export function requireSignature(envelope: SignedEnvelope, domain: SignatureDomain, signer: ResolvedSigner): void {
  if (!verifyDetached(domain, envelope.payload, envelope.signature, signer.publicKey)) {
    throw new WatchmeshError(ErrorCode.BadSignature, "signature does not verify", { context: { keyId: envelope.keyId } });
  }
}

export interface QuerySigningOptions {
  /** Adds pair tags for these node keys, so each node can authenticate the query with one MAC. */
  tagFor?: readonly ResolvedSigner[];
  /** The signer's pair keys (side "asker"); required with `tagFor`. */
  keyring?: PairKeyring;
}

/**
 * Signs a query; the envelope carries the exact bytes that nodes will verify. With `tagFor`, it also
 * carries a pair tag per node key, which nodes check instead of the signature on the hot path.
 */
export function signQuery(query: MatchQuery, identity: SigningIdentity, options: QuerySigningOptions = {}): SignedEnvelope {
  const envelope = signEnvelope(SignatureDomain.MatchQuery, encodeMatchQuery(query), identity);
  const peers = options.tagFor ?? [];
  if (peers.length === 0) return envelope;
  if (!options.keyring || options.keyring.identity.keyId !== identity.keyId) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, "tagging a query needs the signer's own keyring");
  }
  return { ...envelope, tags: options.keyring.tagsFor(peers, SignatureDomain.MatchQuery, envelope.payload) };
}

export interface OpenedQuery extends AuthenticatedEnvelope {
  query: MatchQuery;
  /** SHA-256 of the payload: a digest safe to log and to bind answers to. */
  digest: Uint8Array;
}

export interface QueryCheckOptions {
  nowMs: number;
  clockSkewMs?: number;
  /** Roles allowed to ask; border systems by default, nodes too for country-to-country queries. */
  roles?: readonly ResolvedSigner["role"][];
  /** The reader's pair keys (a node's or a coordinator's): a query tagged for it is authenticated with a MAC instead of Ed25519. */
  keyring?: PairKeyring | undefined;
  /** SHA-256 of the payload when the caller has it already. */
  digest?: Uint8Array | undefined;
}

/** Authenticates a query (tag or signature), decodes it, and checks its identity, lifetime and shape. */
export function openQuery(envelope: SignedEnvelope, registry: TrustRegistry, options: QueryCheckOptions): OpenedQuery {
  const authenticated = authenticateEnvelope(envelope, SignatureDomain.MatchQuery, registry, {
    nowMs: options.nowMs,
    roles: options.roles ?? [MemberRole.Border, MemberRole.Node],
    keyring: options.keyring,
  });
  const query = decodeMatchQuery(envelope.payload);
  checkQuery(query, authenticated.signer, options.nowMs, options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS);
  return { query, digest: options.digest ?? sha256(envelope.payload), ...authenticated };
}

/** The fields every signed request carries (MatchQuery, AggregateQuery), checked the same way. */
export interface RequestHeader {
  queryId: string;
  requestingCountry: string;
  requestingAgency: string;
  issuedAtMs: number;
  expiresAtMs: number;
  nonce: Uint8Array;
}

/** Checks a request's identity (as registered for its signer), id, nonce and lifetime against `nowMs`. */
export function checkRequestHeader(request: RequestHeader, signer: ResolvedSigner, nowMs: number, skewMs: number): void {
  if (request.requestingCountry !== signer.country || request.requestingAgency !== signer.agency) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "query's requesting country/agency differ from the signer's registration");
  }
  if (!request.queryId || request.queryId.length > 64) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, "query id must be 1..64 characters");
  }
  if (request.nonce.length < MIN_NONCE_BYTES) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, `nonce must be at least ${MIN_NONCE_BYTES} bytes`);
  }
  if (request.expiresAtMs <= request.issuedAtMs) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, "query expires before it is issued");
  }
  if (request.expiresAtMs - request.issuedAtMs > MAX_QUERY_LIFETIME_MS) {
    throw new WatchmeshError(ErrorCode.QueryLifetimeTooLong, `query lifetime exceeds ${MAX_QUERY_LIFETIME_MS} ms`);
  }
  if (request.issuedAtMs > nowMs + skewMs) {
    throw new WatchmeshError(ErrorCode.QueryNotYetValid, "query is issued in the future beyond the tolerated clock skew");
  }
  if (request.expiresAtMs + skewMs < nowMs) {
    throw new WatchmeshError(ErrorCode.QueryExpired, "query has expired");
  }
}

function checkQuery(query: MatchQuery, signer: ResolvedSigner, nowMs: number, skewMs: number): void {
  checkRequestHeader(query, signer, nowMs, skewMs);
  const subjects = (query.person ? 1 : 0) + (query.entity ? 1 : 0);
  if (subjects !== 1) throw new WatchmeshError(ErrorCode.MalformedMessage, "query must carry exactly one subject (person or entity)");
  checkSubjectLimits(query);
}

/** Refuses a subject larger than QUERY_SUBJECT_LIMITS (INVALID_ARGUMENT naming the field), before anyone matches it. */
function checkSubjectLimits(query: MatchQuery): void {
  const limits = QUERY_SUBJECT_LIMITS;
  const tooLarge = (what: string) => new WatchmeshError(ErrorCode.InvalidArgument, `query field ${what}`);
  const { person, entity } = query;
  if (person) {
    if (person.names.length > limits.names) throw tooLarge(`names: at most ${limits.names} names`);
    if (person.names.some((name) => name.length > limits.nameLength)) throw tooLarge(`names: at most ${limits.nameLength} characters a name`);
    if (person.nationality.length > limits.nationalities) throw tooLarge(`nationality: at most ${limits.nationalities} countries`);
    if (person.documents.length > limits.documents) throw tooLarge(`documents: at most ${limits.documents} documents`);
    if (person.documents.some((document) => document.number.length > limits.documentNumberLength)) {
      throw tooLarge(`documents: at most ${limits.documentNumberLength} characters a document number`);
    }
    if (person.mrz.reduce((sum, line) => sum + line.length, 0) > limits.mrzLength) throw tooLarge(`mrz: at most ${limits.mrzLength} characters`);
  }
  if (entity && (entity.type.length > limits.entityTypeLength || entity.value.length > limits.entityValueLength)) {
    throw tooLarge(`entity: at most ${limits.entityTypeLength} characters of type and ${limits.entityValueLength} of value`);
  }
}

export function signAnswer(answer: MatchAnswer, identity: SigningIdentity): SignedEnvelope {
  return signEnvelope(SignatureDomain.MatchAnswer, encodeMatchAnswer(answer), identity);
}

export interface AnswerSealOptions {
  identity: SigningIdentity;
  /** The node's pair keys (side "answerer"). */
  keyring: PairKeyring;
  /** Readers to tag the answer for: the authenticated requester, the relaying coordinator. */
  tagFor: readonly ResolvedSigner[];
  /** Also sign with Ed25519: hits (evidence) and answers a reader cannot check by tag. */
  sign: boolean;
}

/** Encodes an answer and authenticates it with tags for its readers and, when asked, a signature. */
export function sealAnswer(answer: MatchAnswer, options: AnswerSealOptions): SignedEnvelope {
  const payload = encodeMatchAnswer(answer);
  const signature = options.sign ? signDetached(SignatureDomain.MatchAnswer, payload, options.identity.secretKey) : new Uint8Array(0);
  const envelope: SignedEnvelope = { payload, keyId: options.identity.keyId, signature };
  if (options.tagFor.length > 0) envelope.tags = options.keyring.tagsFor(options.tagFor, SignatureDomain.MatchAnswer, payload);
  return envelope;
}

export interface AnswerCheckOptions {
  nowMs: number;
  /** The country the answer must come from. */
  expectedCountry: string;
  /** Digest of the query payload the answer must be bound to. */
  expectedQueryDigest: Uint8Array;
  /** The reader's pair keys (side "asker"); without them only signed answers can be checked. */
  keyring?: PairKeyring | undefined;
}

/**
 * Verifies a node's answer — a pair tag addressed to the reader, or the node's signature — from a
 * node-role key of the expected country, bound to the expected query. Used by the coordinator and,
 * independently, by border clients.
 */
export function openAnswer(envelope: SignedEnvelope, registry: TrustRegistry, options: AnswerCheckOptions): MatchAnswer {
  const { signer } = authenticateEnvelope(envelope, SignatureDomain.MatchAnswer, registry, {
    nowMs: options.nowMs,
    roles: [MemberRole.Node],
    keyring: options.keyring,
  });
  checkAnswerSigner(envelope, signer, options);
  const answer = decodeMatchAnswer(envelope.payload);
  checkAnswerBinding(answer, signer, options);
  return answer;
}

/**
 * openAnswer for a gatherer, which resolved the node signer of the envelope's key id already (role
 * node): the same checks, and only the answer fields a gathered result needs (a fan-out reads 196).
 */
export function openAnswerSummary(envelope: SignedEnvelope, nodeSigner: ResolvedSigner, options: AnswerCheckOptions): AnswerSummary {
  authenticateFrom(envelope, SignatureDomain.MatchAnswer, nodeSigner, options.keyring);
  checkAnswerSigner(envelope, nodeSigner, options);
  const summary = readAnswerSummary(envelope.payload);
  checkAnswerBinding(summary, nodeSigner, options);
  return summary;
}

/** What a reader of a whole fan-out needs of one answer. */
export interface AnswerOutcome {
  status: AnswerStatus;
  errorCode: string;
  hits: Hit[];
}

/**
 * openAnswer for a reader of many answers (a border client reading 196 of them): the same checks, with
 * the answer read by the wire reader, and decoded whole only when it has hits.
 */
export function openAnswerOutcome(envelope: SignedEnvelope, registry: TrustRegistry, options: AnswerCheckOptions): AnswerOutcome {
  const signer = claimedSigner(envelope, registry, { nowMs: options.nowMs, roles: [MemberRole.Node] });
  const summary = openAnswerSummary(envelope, signer, options);
  return {
    status: answerStatusOf(summary.statusNumber),
    errorCode: summary.errorCode,
    hits: summary.hitCount > 0 ? decodeMatchAnswer(envelope.payload).hits : [],
  };
}

function checkAnswerSigner(envelope: SignedEnvelope, signer: ResolvedSigner, options: AnswerCheckOptions): void {
  if (signer.country !== options.expectedCountry) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "answer is signed by another country's key", {
      context: { keyId: envelope.keyId, expected: options.expectedCountry },
    });
  }
}

function checkAnswerBinding(answer: { respondingCountry: string; queryDigest: Uint8Array }, signer: ResolvedSigner, options: AnswerCheckOptions): void {
  if (answer.respondingCountry !== signer.country) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "answer's responding country differs from its signer");
  }
  if (!equalBytes(answer.queryDigest, options.expectedQueryDigest)) {
    throw new WatchmeshError(ErrorCode.AnswerInvalid, "answer is bound to a different query");
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hexDigest(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
