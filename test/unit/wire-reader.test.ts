import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { AnswerStatus, answerStatusOf, decodeMatchAnswer, encodeEnvelope, encodeMatchAnswer, RequestedAction, type MatchAnswer } from "../../common/proto.ts";
import { readAnswerSummary, readSignedEnvelope } from "../../common/wire-reader.ts";
import { Fuzzer } from "../helpers/fuzz.ts";

const fuzz = new Fuzzer(20261203);

/**
 * Random text made well-formed: a lone surrogate has no UTF-8 form (protobufjs writes one anyway, which
 * the reader, like every WHATWG decoder, reads back as U+FFFD), so only well-formed text can round-trip.
 */
function text(maxLength: number): string {
  return Buffer.from(fuzz.text(maxLength), "utf8").toString("utf8");
}

function randomAnswer(): MatchAnswer {
  const statuses = Object.values(AnswerStatus);
  return {
    queryId: text(36),
    respondingCountry: fuzz.pick(["DEU", "ESP", "", "Ελλ", "TÜR"]),
    status: fuzz.pick(statuses),
    hits: Array.from({ length: fuzz.int(4) }, (_, index) => ({
      reference: `R-${index}-${text(10)}`,
      score: fuzz.float(),
      category: "person",
      action: RequestedAction.DiscreetCheck,
      matchedFeatures: ["name"],
    })),
    errorCode: fuzz.chance(0.5) ? "" : text(20),
    nodeElapsedUs: fuzz.int(1_000_000),
    answeredAtMs: fuzz.chance(0.5) ? 0 : 1_780_000_000_000 + fuzz.int(1_000_000),
    queryDigest: fuzz.chance(0.9) ? fuzz.bytes(32) : new Uint8Array(0),
  };
}

function malformedCode(read: () => unknown): string | undefined {
  try {
    read();
    return undefined;
  } catch (error) {
    if (!(error instanceof WatchmeshError)) throw error;
    return error.code;
  }
}

/** Unknown fields of every wire type, as a newer peer might add them. */
function unknownFields(): Uint8Array {
  const writer = protobuf.Writer.create();
  writer.uint32((20 << 3) | 0).uint64(2 ** 40 + 7);
  writer.uint32((21 << 3) | 1).fixed64(123);
  writer.uint32((22 << 3) | 2).bytes(new Uint8Array([1, 2, 3]));
  writer.uint32((23 << 3) | 5).fixed32(9);
  writer.uint32((24 << 3) | 3).uint32((1 << 3) | 0).uint32(5).uint32((24 << 3) | 4);
  return writer.finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

describe("hot-path protobuf reader", () => {
  it("reads what protobufjs wrote: envelopes with and without each field, byte fields as views of the input", () => {
    for (let i = 0; i < 500; i++) {
      const envelope = {
        payload: fuzz.bytes(fuzz.int(300)),
        keyId: fuzz.chance(0.9) ? text(30) : "",
        signature: fuzz.chance(0.5) ? fuzz.bytes(64) : new Uint8Array(0),
        tags: fuzz.chance(0.7) ? fuzz.bytes(20 * fuzz.int(5)) : new Uint8Array(0),
      };
      const bytes = encodeEnvelope(envelope);
      const read = readSignedEnvelope(bytes);
      expect({ ...read, payload: [...read.payload], signature: [...read.signature], tags: [...read.tags] }).toEqual({
        ...envelope,
        payload: [...envelope.payload],
        signature: [...envelope.signature],
        tags: [...envelope.tags],
      });
      if (read.payload.length > 0) expect(read.payload.buffer).toBe(bytes.buffer);
    }
  });

  it("summarises an answer as the full decoder reads it: status, country, hit count, error code, digest", () => {
    for (let i = 0; i < 500; i++) {
      const bytes = encodeMatchAnswer(randomAnswer());
      const full = decodeMatchAnswer(bytes);
      const summary = readAnswerSummary(bytes);
      expect(answerStatusOf(summary.statusNumber)).toBe(full.status);
      expect(summary.respondingCountry).toBe(full.respondingCountry);
      expect(summary.hitCount).toBe(full.hits.length);
      expect(summary.errorCode).toBe(full.errorCode);
      expect([...summary.queryDigest]).toEqual([...full.queryDigest]);
    }
  });

  it("reads short and long strings, ill-formed UTF-8 included, as TextDecoder reads them", () => {
    const decoder = new TextDecoder();
    const samples = [[0x41], [0xff], [0x44, 0x45, 0x55], [0xc3, 0xa9], [0xc3], [0x80, 0x41], [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0xe2]];
    for (let i = 0; i < 300; i++) samples.push(Array.from(fuzz.bytes(1 + fuzz.int(12))));
    for (const sample of samples) {
      const bytes = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(Uint8Array.from(sample)).finish();
      expect(readAnswerSummary(bytes).respondingCountry).toBe(decoder.decode(Uint8Array.from(sample)));
    }
  });

  it("reads key ids met again, and ones never met, as they were written", () => {
    // More distinct key ids than the table of repeated ones holds, ASCII and not, each read several times.
    const keyIds = Array.from({ length: 5000 }, (_, index) => (index % 7 === 0 ? `clé-${index}-${text(12)}` : `node-${index}-${fuzz.int(1e9)}`));
    for (let round = 0; round < 3; round++) {
      for (const keyId of keyIds) {
        const bytes = encodeEnvelope({ payload: new Uint8Array([1]), keyId, signature: new Uint8Array(0) });
        expect(readSignedEnvelope(bytes).keyId).toBe(keyId);
      }
    }
    // The same bytes at another offset of a larger buffer, and ill-formed bytes, read as TextDecoder reads them.
    const decoder = new TextDecoder();
    for (const sample of [[0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x41, 0x2d, 0x31, 0x32], [0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x41, 0x2d, 0x31, 0xff], [0xff, 0xfe, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]]) {
      const field = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(Uint8Array.from(sample)).finish();
      const shifted = concat(new Uint8Array(7), field).subarray(7);
      expect(readSignedEnvelope(field).keyId).toBe(decoder.decode(Uint8Array.from(sample)));
      expect(readSignedEnvelope(shifted).keyId).toBe(decoder.decode(Uint8Array.from(sample)));
    }
  });

  it("tells apart key ids whose hashes collide", () => {
    // The table hashes a key id's length and last bytes: these share both, and differ before them.
    const tail = "0123456789abcdef";
    const keyIds = ["DEU:node:", "ESP:node:", "DEU:bord:", "XDEU:nod:"].map((head) => head + tail);
    for (let round = 0; round < 3; round++) {
      for (const keyId of keyIds) {
        expect(readSignedEnvelope(encodeEnvelope({ payload: new Uint8Array([1]), keyId, signature: new Uint8Array(0) })).keyId).toBe(keyId);
      }
    }
  });

  it("skips unknown fields of every wire type, and keeps the last value of a repeated field", () => {
    const envelope = { payload: new Uint8Array([7, 8]), keyId: "DEU:node:1", signature: new Uint8Array(0), tags: new Uint8Array(0) };
    const read = readSignedEnvelope(concat(unknownFields(), encodeEnvelope(envelope), unknownFields()));
    expect(read.keyId).toBe("DEU:node:1");
    expect([...read.payload]).toEqual([7, 8]);
    const again = readSignedEnvelope(concat(encodeEnvelope(envelope), encodeEnvelope({ ...envelope, keyId: "ESP:node:2" })));
    expect(again.keyId).toBe("ESP:node:2");
    const answer = randomAnswer();
    const summary = readAnswerSummary(concat(encodeMatchAnswer({ ...answer, hits: [] }), unknownFields()));
    expect(summary.respondingCountry).toBe(answer.respondingCountry);
  });

  it("refuses malformed input with MALFORMED_MESSAGE: truncation, wrong wire types, field 0, overlong varints", () => {
    const valid = encodeEnvelope({ payload: new Uint8Array(40).fill(1), keyId: "DEU:node:1", signature: new Uint8Array(64), tags: new Uint8Array(20) });
    expect(malformedCode(() => readSignedEnvelope(valid.subarray(0, 10)))).toBe(ErrorCode.MalformedMessage);
    expect(malformedCode(() => readSignedEnvelope(new Uint8Array([(1 << 3) | 0, 5])))).toBe(ErrorCode.MalformedMessage); // payload as a varint
    expect(malformedCode(() => readSignedEnvelope(new Uint8Array([(9 << 3) | 6, 0])))).toBe(ErrorCode.MalformedMessage); // wire type 6
    expect(malformedCode(() => readSignedEnvelope(new Uint8Array([0 << 3 | 0, 1])))).toBe(ErrorCode.MalformedMessage); // field 0
    expect(malformedCode(() => readSignedEnvelope(new Uint8Array([(9 << 3) | 0, ...new Array<number>(10).fill(0xff), 1])))).toBe(ErrorCode.MalformedMessage);
    expect(malformedCode(() => readSignedEnvelope(new Uint8Array([(9 << 3) | 3, (1 << 3) | 0, 1])))).toBe(ErrorCode.MalformedMessage); // open group
    expect(malformedCode(() => readAnswerSummary(new Uint8Array([(3 << 3) | 2, 1, 0])))).toBe(ErrorCode.MalformedMessage); // status as bytes
    expect(malformedCode(() => readAnswerSummary(new Uint8Array([(8 << 3) | 2, 33, 1])))).toBe(ErrorCode.MalformedMessage); // digest past the end
  });

  it("never throws anything but a typed error on truncated or mutated messages", () => {
    const valid = encodeEnvelope({ payload: encodeMatchAnswer(randomAnswer()), keyId: "DEU:node:1", signature: new Uint8Array(64), tags: new Uint8Array(40) });
    for (let end = 0; end <= valid.length; end++) {
      expect([undefined, ErrorCode.MalformedMessage]).toContain(malformedCode(() => readSignedEnvelope(valid.subarray(0, end))));
    }
    for (let i = 0; i < 5000; i++) {
      const mutated = fuzz.mutate(valid);
      expect([undefined, ErrorCode.MalformedMessage]).toContain(malformedCode(() => readAnswerSummary(readSignedEnvelope(mutated).payload)));
    }
  });
});
