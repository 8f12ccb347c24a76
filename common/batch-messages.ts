/**
 * How a batch check is cut into NATS messages (proto/watchmesh/v1/batch.proto): the coordinator cuts
 * its queries into BatchQuery parts that fit one message, and a node stops filling its one BatchAnswer
 * before it could outgrow one. Sizes come from the protobuf wire format (an element of a repeated
 * message field is a tag, a length and the body), so nothing is encoded twice to be measured.
 */
import { PAIR_TAG_RECORD_BYTES } from "./pair-tags.ts";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import { MAX_BATCH_MESSAGE_BYTES, MAX_ENVELOPE_BYTES, NATS_HEADER_ROOM_BYTES } from "./limits.ts";
import type { SignedEnvelope } from "./proto.ts";

/** A batch message's own field, first_index: a tag and a varint of at most 5 bytes. */
export const BATCH_FIXED_BYTES = 6;

/** Longest key id assumed when reserving room for an answer not yet made. */
const MAX_KEY_ID_BYTES = 256;
const SIGNATURE_BYTES = 64;
/** An answer is tagged for at most two readers: its requester and the relaying coordinator. */
const ANSWER_TAGS_BYTES = 2 * PAIR_TAG_RECORD_BYTES;

function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) bytes += 1;
  return bytes;
}

/** A length-delimited field: one tag byte (field numbers below 16), the length, the body. */
function fieldBytes(bodyBytes: number): number {
  return 1 + varintBytes(bodyBytes) + bodyBytes;
}

/**
 * The batch message limit on a connection to a server that allows `serverMaxPayloadBytes` (its
 * INFO max_payload, headers included): MAX_BATCH_MESSAGE_BYTES, or less on a stricter server.
 */
export function batchMessageLimitBytes(serverMaxPayloadBytes?: number): number {
  if (serverMaxPayloadBytes === undefined || serverMaxPayloadBytes <= 0) return MAX_BATCH_MESSAGE_BYTES;
  return Math.min(MAX_BATCH_MESSAGE_BYTES, serverMaxPayloadBytes - NATS_HEADER_ROOM_BYTES);
}

/** Bytes an envelope takes as one element of BatchQuery.queries or BatchAnswer.answers (at most). */
export function envelopeFieldBytes(envelope: SignedEnvelope): number {
  return fieldBytes(
    fieldBytes(envelope.payload.length) +
      fieldBytes(Buffer.byteLength(envelope.keyId, "utf8")) +
      fieldBytes(envelope.signature.length) +
      (envelope.tags === undefined ? 0 : fieldBytes(envelope.tags.length)),
  );
}

/**
 * The most one signed answer can take in a BatchAnswer: what a node keeps free before answering the
 * next query of a batch (answers beyond MAX_ENVELOPE_BYTES are refused by every verifier anyway).
 */
export const MAX_ANSWER_FIELD_BYTES = fieldBytes(
  fieldBytes(MAX_ENVELOPE_BYTES) + fieldBytes(MAX_KEY_ID_BYTES) + fieldBytes(SIGNATURE_BYTES) + fieldBytes(ANSWER_TAGS_BYTES),
);

export interface BatchPart {
  /** Position of the part's first query in the batch. */
  start: number;
  /** Position after its last query. */
  end: number;
}

/**
 * Cuts a batch into consecutive parts whose BatchQuery fits `limitBytes`, given each query's
 * envelopeFieldBytes: one part whenever the whole batch fits.
 */
export function cutIntoParts(fieldSizes: readonly number[], limitBytes: number): BatchPart[] {
  const parts: BatchPart[] = [];
  let start = 0;
  let used = BATCH_FIXED_BYTES;
  fieldSizes.forEach((size, index) => {
    if (BATCH_FIXED_BYTES + size > limitBytes) {
      throw new WatchmeshError(ErrorCode.PayloadTooLarge, `queries[${index}] does not fit one NATS message of ${limitBytes} bytes`);
    }
    if (used + size > limitBytes) {
      parts.push({ start, end: index });
      start = index;
      used = BATCH_FIXED_BYTES;
    }
    used += size;
  });
  if (fieldSizes.length > start) parts.push({ start, end: fieldSizes.length });
  return parts;
}
