/**
 * The requester's side of follow-ups: send a signed request for the details behind a hit reference,
 * and collect the owners' signed replies, opening the sealed details with the requester's own key.
 */
import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { openFollowupReply, openSealedDetails, signFollowupRequest } from "../common/followup.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import { ensureFollowupStream } from "../common/jetstream.ts";
import { decodeEnvelope, encodeEnvelope, FollowupDecision, type FollowupReply, type FollowupRequest } from "../common/proto.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { FOLLOWUP_STREAM, followupReplySubject, followupRequestSubject } from "../common/subjects.ts";

export interface FollowupRequestOptions {
  connection: NatsConnection;
  /** The requester's signing identity (a border system or node). */
  identity: SigningIdentity;
  reference: string;
  queryId: string;
  justification: string;
  /** The owner; by default the country prefix of the reference (`DEU-R-…`). */
  ownerCountry?: string;
  nowMs?: number;
}

/** The owner country a reference names (`<ISO3>-R-…`). */
export function ownerOfReference(reference: string): string {
  const owner = /^([A-Z]{3})-R-[A-Z2-7]+$/.exec(reference)?.[1];
  if (!owner) throw new WatchmeshError(ErrorCode.InvalidArgument, "not a hit reference (expected <ISO3>-R-<code>); pass the owner country explicitly");
  return owner;
}

/** Publishes a signed follow-up request durably; the owner need not be online. */
export async function requestFollowup(options: FollowupRequestOptions): Promise<FollowupRequest> {
  const { identity } = options;
  if (options.justification.trim() === "") throw new WatchmeshError(ErrorCode.InvalidArgument, "a follow-up request needs a justification");
  const request: FollowupRequest = {
    requestId: randomUUID(),
    reference: options.reference,
    queryId: options.queryId,
    ownerCountry: options.ownerCountry ?? ownerOfReference(options.reference),
    requestingCountry: identity.country,
    requestingAgency: identity.agency,
    justification: options.justification,
    requestedAtMs: options.nowMs ?? Date.now(),
  };
  await ensureFollowupStream(options.connection).catch(() => undefined);
  const envelope = signFollowupRequest(request, identity);
  await jetstream(options.connection).publish(followupRequestSubject(request.ownerCountry), encodeEnvelope(envelope), { msgID: `request:${request.requestId}` });
  return request;
}

export interface ReceivedReply {
  reply: FollowupReply;
  /** The record's details, for an approval sealed to this identity's key. */
  details?: unknown;
}

/** Every reply addressed to the identity's country so far, verified, details opened where sealed to it. */
export async function collectFollowupReplies(options: { connection: NatsConnection; identity: SigningIdentity; registry: TrustRegistry }): Promise<ReceivedReply[]> {
  const { connection, identity, registry } = options;
  const subject = followupReplySubject(identity.country);
  const manager = await jetstreamManager(connection);
  let stored = 0;
  try {
    const info = await manager.streams.info(FOLLOWUP_STREAM, { subjects_filter: subject });
    stored = info.state.subjects?.[subject] ?? 0;
  } catch {
    return []; // no stream yet: nothing was ever sent
  }
  if (stored === 0) return [];
  // One filter subject (not a list): nats-server 2.9, as Debian ships it, supports only that.
  const consumer = await jetstream(connection).consumers.get(FOLLOWUP_STREAM, { filter_subjects: subject });
  const replies: ReceivedReply[] = [];
  while (replies.length < stored) {
    const batch = await consumer.fetch({ max_messages: stored - replies.length, expires: 2000 });
    let got = 0;
    for await (const message of batch) {
      got++;
      const reply = openFollowupReply(decodeEnvelope(message.data), registry, Date.now());
      const sealed = reply.decision === FollowupDecision.Approved && reply.sealedToKeyId === identity.keyId;
      replies.push({ reply, ...(sealed ? { details: openSealedDetails(reply.sealedDetails, identity) } : {}) });
    }
    if (got === 0) break;
  }
  return replies;
}
