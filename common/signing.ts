import { createHash } from "node:crypto";
import { sodium } from "./sodium.ts";

/** Message kinds that get their own domain-separation prefix. */
export const SignatureDomain = {
  MatchQuery: "match-query",
  MatchAnswer: "match-answer",
  AggregateQuery: "aggregate-query",
  AggregateAnswer: "aggregate-answer",
  Registry: "registry",
  FollowupRequest: "followup-request",
  FollowupReply: "followup-reply",
  /** A node's seal over its audit log's hash chain (node/audit-log.ts). */
  AuditSeal: "audit-seal",
} as const;
export type SignatureDomain = (typeof SignatureDomain)[keyof typeof SignatureDomain];

const prefixCache = new Map<SignatureDomain, Uint8Array>();

/** "watchmesh/v1/<kind>" followed by a NUL byte; see proto/watchmesh/v1/envelope.proto. */
export function domainPrefix(domain: SignatureDomain): Uint8Array {
  let prefix = prefixCache.get(domain);
  if (!prefix) {
    prefix = new TextEncoder().encode(`watchmesh/v1/${domain}\0`);
    prefixCache.set(domain, prefix);
  }
  return prefix;
}

function signedBytes(domain: SignatureDomain, payload: Uint8Array): Uint8Array {
  const prefix = domainPrefix(domain);
  const message = new Uint8Array(prefix.length + payload.length);
  message.set(prefix, 0);
  message.set(payload, prefix.length);
  return message;
}

export interface Ed25519KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function generateKeyPair(): Ed25519KeyPair {
  const pair = sodium().crypto_sign_keypair();
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
}

export function signDetached(domain: SignatureDomain, payload: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return sodium().crypto_sign_detached(signedBytes(domain, payload), secretKey);
}

export function verifyDetached(
  domain: SignatureDomain,
  payload: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return sodium().crypto_sign_verify_detached(signature, signedBytes(domain, payload), publicKey);
  } catch {
    return false;
  }
}

/** Short, stable fingerprint of a public key, used in key ids. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return createHash("sha256").update(publicKey).digest("hex").slice(0, 16);
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}
