import { ErrorCode, WatchmeshError } from "./errors.ts";
import type { SigningIdentity } from "./key-files.ts";
import { MemberRole } from "./key-files.ts";
import {
  DEFAULT_CLOCK_SKEW_MS,
  MAX_ENVELOPE_BYTES,
  MAX_QUERY_LIFETIME_MS,
  MIN_NONCE_BYTES,
} from "./limits.ts";
import {
  decodeMatchAnswer,
  decodeMatchQuery,
  encodeMatchAnswer,
  encodeMatchQuery,
  type MatchAnswer,
  type MatchQuery,
  type SignedEnvelope,
} from "./proto.ts";
import type { ResolvedSigner, TrustRegistry } from "./registry.ts";
import { SignatureDomain, sha256, signDetached, verifyDetached } from "./signing.ts";

export function signEnvelope(domain: SignatureDomain, payload: Uint8Array, identity: SigningIdentity): SignedEnvelope {
  return { payload, keyId: identity.keyId, signature: signDetached(domain, payload, identity.secretKey) };
}

/**
 * Checks size, signer and signature of an envelope before anything in its payload is parsed.
 * Returns the registered signer.
 */
export function verifyEnvelope(
  envelope: SignedEnvelope,
  domain: SignatureDomain,
  registry: TrustRegistry,
  options: { nowMs: number; roles: readonly ResolvedSigner["role"][] },
): ResolvedSigner {
  if (envelope.payload.length > MAX_ENVELOPE_BYTES) {
    throw new WatchmeshError(ErrorCode.PayloadTooLarge, `payload exceeds ${MAX_ENVELOPE_BYTES} bytes`);
  }
  if (!envelope.keyId) throw new WatchmeshError(ErrorCode.MalformedMessage, "envelope has no key id");
  const signer = registry.resolveSigner(envelope.keyId, options.nowMs, options.roles);
  if (!verifyDetached(domain, envelope.payload, envelope.signature, signer.publicKey)) {
    throw new WatchmeshError(ErrorCode.BadSignature, "signature does not verify", { context: { keyId: envelope.keyId } });
  }
  return signer;
}

/** Signs a query; the envelope carries the exact bytes that nodes will verify. */
export function signQuery(query: MatchQuery, identity: SigningIdentity): SignedEnvelope {
  return signEnvelope(SignatureDomain.MatchQuery, encodeMatchQuery(query), identity);
}

export interface OpenedQuery {
  query: MatchQuery;
  signer: ResolvedSigner;
  /** SHA-256 of the payload: a digest safe to log and to bind answers to. */
  digest: Uint8Array;
}

export interface QueryCheckOptions {
  nowMs: number;
  clockSkewMs?: number;
  /** Roles allowed to ask; border systems by default, nodes too for country-to-country queries. */
  roles?: readonly ResolvedSigner["role"][];
}

/** Verifies a signed query, decodes it, and checks its identity, lifetime and shape. */
export function openQuery(envelope: SignedEnvelope, registry: TrustRegistry, options: QueryCheckOptions): OpenedQuery {
  const signer = verifyEnvelope(envelope, SignatureDomain.MatchQuery, registry, {
    nowMs: options.nowMs,
    roles: options.roles ?? [MemberRole.Border, MemberRole.Node],
  });
  const query = decodeMatchQuery(envelope.payload);
  checkQuery(query, signer, options.nowMs, options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS);
  return { query, signer, digest: sha256(envelope.payload) };
}

function checkQuery(query: MatchQuery, signer: ResolvedSigner, nowMs: number, skewMs: number): void {
  if (query.requestingCountry !== signer.country || query.requestingAgency !== signer.agency) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "query's requesting country/agency differ from the signer's registration");
  }
  if (!query.queryId || query.queryId.length > 64) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, "query id must be 1..64 characters");
  }
  if (query.nonce.length < MIN_NONCE_BYTES) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, `nonce must be at least ${MIN_NONCE_BYTES} bytes`);
  }
  if (query.expiresAtMs <= query.issuedAtMs) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, "query expires before it is issued");
  }
  if (query.expiresAtMs - query.issuedAtMs > MAX_QUERY_LIFETIME_MS) {
    throw new WatchmeshError(ErrorCode.QueryLifetimeTooLong, `query lifetime exceeds ${MAX_QUERY_LIFETIME_MS} ms`);
  }
  if (query.issuedAtMs > nowMs + skewMs) {
    throw new WatchmeshError(ErrorCode.QueryNotYetValid, "query is issued in the future beyond the tolerated clock skew");
  }
  if (query.expiresAtMs + skewMs < nowMs) {
    throw new WatchmeshError(ErrorCode.QueryExpired, "query has expired");
  }
  const subjects = (query.person ? 1 : 0) + (query.entity ? 1 : 0);
  if (subjects !== 1) throw new WatchmeshError(ErrorCode.MalformedMessage, "query must carry exactly one subject (person or entity)");
}

export function signAnswer(answer: MatchAnswer, identity: SigningIdentity): SignedEnvelope {
  return signEnvelope(SignatureDomain.MatchAnswer, encodeMatchAnswer(answer), identity);
}

export interface AnswerCheckOptions {
  nowMs: number;
  /** The country the answer must come from. */
  expectedCountry: string;
  /** Digest of the query payload the answer must be bound to. */
  expectedQueryDigest: Uint8Array;
}

/**
 * Verifies a node's signed answer: node-role signer of the expected country, bound to the expected
 * query. Used by the coordinator and, independently, by border clients.
 */
export function openAnswer(envelope: SignedEnvelope, registry: TrustRegistry, options: AnswerCheckOptions): MatchAnswer {
  const signer = verifyEnvelope(envelope, SignatureDomain.MatchAnswer, registry, {
    nowMs: options.nowMs,
    roles: [MemberRole.Node],
  });
  if (signer.country !== options.expectedCountry) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "answer is signed by another country's key", {
      context: { keyId: envelope.keyId, expected: options.expectedCountry },
    });
  }
  const answer = decodeMatchAnswer(envelope.payload);
  if (answer.respondingCountry !== signer.country) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "answer's responding country differs from its signer");
  }
  if (!equalBytes(answer.queryDigest, options.expectedQueryDigest)) {
    throw new WatchmeshError(ErrorCode.AnswerInvalid, "answer is bound to a different query");
  }
  return answer;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hexDigest(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
