import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_FIXED_BYTES,
  batchMessageLimitBytes,
  cutIntoParts,
  envelopeFieldBytes,
  MAX_ANSWER_FIELD_BYTES,
} from "../../common/batch-messages.ts";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { MAX_BATCH_MESSAGE_BYTES, MAX_ENVELOPE_BYTES, NATS_HEADER_ROOM_BYTES } from "../../common/limits.ts";
import { decodeBatchQuery, encodeBatchAnswer, encodeBatchQuery, type SignedEnvelope } from "../../common/proto.ts";
import { initSodium } from "../../common/sodium.ts";

beforeAll(async () => {
  await initSodium();
});

function envelope(payloadBytes: number, keyId = "FRA:border:3f9a1c2b"): SignedEnvelope {
  return { payload: new Uint8Array(randomBytes(payloadBytes)), keyId, signature: new Uint8Array(randomBytes(64)) };
}

describe("batch message sizes", () => {
  it("measures envelopes as protobuf encodes them in a batch, first_index within BATCH_FIXED_BYTES", () => {
    for (const size of [0, 1, 127, 128, 300, 16_383, 16_384, MAX_ENVELOPE_BYTES]) {
      const queries = [envelope(size), envelope(size, "DEU:node:ü")];
      const measured = queries.map(envelopeFieldBytes).reduce((sum, bytes) => sum + bytes, 0);
      for (const firstIndex of [0, 999, 2 ** 32 - 1]) {
        const encodedQuery = encodeBatchQuery({ queries, firstIndex }).length;
        const encodedAnswer = encodeBatchAnswer({ answers: queries, firstIndex }).length;
        for (const encoded of [encodedQuery, encodedAnswer]) {
          expect(encoded).toBeGreaterThanOrEqual(measured);
          expect(encoded).toBeLessThanOrEqual(measured + BATCH_FIXED_BYTES);
        }
      }
    }
  });

  it("reserves enough room for the largest answer a verifier accepts", () => {
    expect(MAX_ANSWER_FIELD_BYTES).toBeGreaterThanOrEqual(envelopeFieldBytes(envelope(MAX_ENVELOPE_BYTES, "X".repeat(256))));
  });

  it("keeps below the server's max_payload, less room for headers", () => {
    expect(batchMessageLimitBytes(undefined)).toBe(MAX_BATCH_MESSAGE_BYTES);
    expect(batchMessageLimitBytes(1024 * 1024)).toBe(MAX_BATCH_MESSAGE_BYTES);
    expect(batchMessageLimitBytes(96 * 1024)).toBe(96 * 1024 - NATS_HEADER_ROOM_BYTES);
  });
});

describe("cutIntoParts", () => {
  it("keeps a batch that fits in one part", () => {
    const queries = Array.from({ length: 1000 }, () => envelope(300));
    expect(cutIntoParts(queries.map(envelopeFieldBytes), MAX_BATCH_MESSAGE_BYTES)).toEqual([{ start: 0, end: 1000 }]);
  });

  it("cuts a larger batch into consecutive parts that each encode within the limit", () => {
    const queries = Array.from({ length: 500 }, (_, index) => envelope(200 + (index % 7) * 300));
    const limit = 64 * 1024;
    const parts = cutIntoParts(queries.map(envelopeFieldBytes), limit);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts[0]?.start).toBe(0);
    expect(parts.at(-1)?.end).toBe(500);
    parts.forEach((part, index) => {
      if (index > 0) expect(part.start).toBe(parts[index - 1]?.end);
      const encoded = encodeBatchQuery({ queries: queries.slice(part.start, part.end), firstIndex: part.start });
      expect(encoded.length).toBeLessThanOrEqual(limit);
      expect(decodeBatchQuery(encoded).firstIndex).toBe(part.start);
    });
  });

  it("refuses a query that could not fit any message", () => {
    let failure: unknown;
    try {
      cutIntoParts([100, 5000, 100], 4096);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(WatchmeshError);
    expect((failure as WatchmeshError).code).toBe(ErrorCode.PayloadTooLarge);
    expect((failure as WatchmeshError).message).toMatch(/queries\[1\]/);
  });
});
