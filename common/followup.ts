/**
 * Step two of the two-step model (see proto/watchmesh/v1/followup.proto): signed follow-up requests
 * and replies, and the sealed box that carries an approved record's details to the requester only.
 *
 * The details are sealed to the X25519 form of the requester's registered Ed25519 signing key, so no
 * second key needs distributing: whoever holds the requester's private key file can read them, and no
 * one else — not the coordinator, not NATS, not the stream's storage.
 */
import { MemberRole, type SigningIdentity } from "./key-files.ts";
import { signEnvelope, verifyEnvelope } from "./envelope.ts";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import {
  decodeFollowupReply,
  decodeFollowupRequest,
  encodeFollowupReply,
  encodeFollowupRequest,
  type FollowupReply,
  type FollowupRequest,
  type SignedEnvelope,
} from "./proto.ts";
import type { ResolvedSigner, TrustRegistry } from "./registry.ts";
import { SignatureDomain } from "./signing.ts";
import { sodium } from "./sodium.ts";

/** Prüm II's deadline for answering a follow-up request; configurable where requests are listed. */
export const DEFAULT_FOLLOWUP_DEADLINE_MS = 48 * 3600 * 1000;

export function signFollowupRequest(request: FollowupRequest, identity: SigningIdentity): SignedEnvelope {
  return signEnvelope(SignatureDomain.FollowupRequest, encodeFollowupRequest(request), identity);
}

/** Verifies a request: a border system or node of the requesting country and agency signed it. */
export function openFollowupRequest(envelope: SignedEnvelope, registry: TrustRegistry, nowMs: number): { request: FollowupRequest; signer: ResolvedSigner } {
  const signer = verifyEnvelope(envelope, SignatureDomain.FollowupRequest, registry, { nowMs, roles: [MemberRole.Border, MemberRole.Node] });
  const request = decodeFollowupRequest(envelope.payload);
  if (request.requestingCountry !== signer.country || request.requestingAgency !== signer.agency) {
    throw new WatchmeshError(ErrorCode.SignerMismatch, "follow-up request names another requester than its signer");
  }
  if (request.requestId === "" || request.reference === "") throw new WatchmeshError(ErrorCode.InvalidArgument, "follow-up request lacks an id or reference");
  return { request, signer };
}

export function signFollowupReply(reply: FollowupReply, identity: SigningIdentity): SignedEnvelope {
  return signEnvelope(SignatureDomain.FollowupReply, encodeFollowupReply(reply), identity);
}

/** Verifies a reply: a node of the owner country it names signed it. */
export function openFollowupReply(envelope: SignedEnvelope, registry: TrustRegistry, nowMs: number): FollowupReply {
  const signer = verifyEnvelope(envelope, SignatureDomain.FollowupReply, registry, { nowMs, roles: [MemberRole.Node] });
  const reply = decodeFollowupReply(envelope.payload);
  if (reply.ownerCountry !== signer.country) throw new WatchmeshError(ErrorCode.SignerMismatch, "follow-up reply names another owner than its signer");
  return reply;
}

/** Seals JSON details to the holder of an Ed25519 signing key (its X25519 form). */
export function sealDetails(details: unknown, recipientSigningKey: Uint8Array): Uint8Array {
  const lib = sodium();
  const recipient = lib.crypto_sign_ed25519_pk_to_curve25519(recipientSigningKey);
  return lib.crypto_box_seal(new TextEncoder().encode(JSON.stringify(details)), recipient);
}

/** Opens details sealed to `identity`; a box for another key or a damaged box → BAD_SIGNATURE. */
export function openSealedDetails(sealed: Uint8Array, identity: SigningIdentity): unknown {
  const lib = sodium();
  const publicKey = lib.crypto_sign_ed25519_pk_to_curve25519(identity.publicKey);
  const secretKey = lib.crypto_sign_ed25519_sk_to_curve25519(identity.secretKey);
  let plain: Uint8Array;
  try {
    plain = lib.crypto_box_seal_open(sealed, publicKey, secretKey);
  } catch (error) {
    throw new WatchmeshError(ErrorCode.BadSignature, "sealed details cannot be opened with this key", { cause: error });
  }
  return JSON.parse(new TextDecoder().decode(plain)) as unknown;
}
