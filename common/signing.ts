import * as cryptoModule from "node:crypto";
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, type KeyObject } from "node:crypto";
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

/**
 * Ed25519 signatures are deterministic (RFC 8032), so node:crypto (OpenSSL) makes exactly the bytes
 * libsodium makes, in about three quarters of the time. Its key object is made once per secret key;
 * a libsodium secret key is the 32-byte seed followed by the public key.
 */
const PKCS8_ED25519_SEED_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const nodePrivateKeys = new WeakMap<Uint8Array, KeyObject | null>();

/** The node:crypto key of a libsodium secret key, or null when its public half is not its seed's (libsodium signs then). */
function nodePrivateKey(secretKey: Uint8Array): KeyObject | null {
  let key = nodePrivateKeys.get(secretKey);
  if (key === undefined) {
    key = null;
    if (secretKey.length === 64) {
      const candidate = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_SEED_PREFIX, secretKey.subarray(0, 32)]), format: "der", type: "pkcs8" });
      const publicKey = createPublicKey(candidate).export({ format: "der", type: "spki" }).subarray(-32);
      if (publicKey.equals(secretKey.subarray(32))) key = candidate;
    }
    nodePrivateKeys.set(secretKey, key);
  }
  return key;
}

export function signDetached(domain: SignatureDomain, payload: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const key = nodePrivateKey(secretKey);
  if (key === null) return sodium().crypto_sign_detached(signedBytes(domain, payload), secretKey);
  return new Uint8Array(nodeSign(null, signedBytes(domain, payload), key));
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

/**
 * node:crypto's one-shot hash (Node.js 20.12 and later) skips the Hash object that createHash makes:
 * a node digests every query it answers, and that object cost more than the hash of a short payload.
 */
const oneShotHash = (() => {
  const hash = (cryptoModule as { hash?: OneShotHash }).hash;
  try {
    return typeof hash === "function" && hash("sha256", new Uint8Array(0), "buffer") instanceof Uint8Array ? hash : undefined;
  } catch {
    return undefined;
  }
})();

type OneShotHash = {
  (algorithm: string, data: Uint8Array | string, outputEncoding: "buffer"): Buffer;
  (algorithm: string, data: Uint8Array | string, outputEncoding: "hex"): string;
};

/** SHA-256 of a text's UTF-8 bytes, in hex (the audit chain's entry hashes). */
export function sha256Hex(text: string): string {
  return oneShotHash ? oneShotHash("sha256", text, "hex") : createHash("sha256").update(text, "utf8").digest("hex");
}

export function sha256(bytes: Uint8Array): Uint8Array {
  const digest = oneShotHash ? oneShotHash("sha256", bytes, "buffer") : createHash("sha256").update(bytes).digest();
  // A plain Uint8Array view of the digest (no copy): callers compare and encode it as bytes.
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}
