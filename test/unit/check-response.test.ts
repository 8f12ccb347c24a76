import { describe, expect, it } from "vitest";
import protobuf from "protobufjs";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { CountryStatus, decodeCheckResponse, encodeCheckResponse, encodeEnvelope, watchmeshGrpcPackage } from "../../common/proto.ts";

type Serializers = {
  service: { Check: { responseSerialize: (value: unknown) => Buffer; responseDeserialize: (bytes: Buffer) => unknown } };
};

describe("encodeCheckResponse", () => {
  it("decodes to what the generic gRPC serializer writes, with each answer envelope copied in as received", () => {
    const { Check } = (watchmeshGrpcPackage()["Coordinator"] as unknown as Serializers).service;
    const answer = { payload: new Uint8Array([1, 2, 3, 250]), keyId: "DEU:node:0011223344556677", signature: new Uint8Array(0), tags: new Uint8Array(20).fill(7) };
    const results = [
      { country: "DEU", status: CountryStatus.NoHit, answer, elapsedMs: 12, errorCode: "" },
      { country: "ESP", status: CountryStatus.Refused, answer: { ...answer, keyId: "ESP:node:1" }, elapsedMs: 0, errorCode: "POLICY_PURPOSE_DENIED" },
      { country: "FRA", status: CountryStatus.Unavailable, answer: null, elapsedMs: 1500, errorCode: "" },
    ];
    const generic = Check.responseSerialize({ queryId: "q-1", traceId: "abc", results });
    const direct = encodeCheckResponse({
      queryId: "q-1",
      traceId: "abc",
      results: results.map((result) => ({ ...result, answerBytes: result.answer ? encodeEnvelope(result.answer) : undefined })),
    });
    expect(Check.responseDeserialize(Buffer.from(direct))).toEqual(Check.responseDeserialize(generic));
    // Field for field the same message; the answer's bytes appear verbatim.
    expect(Buffer.from(direct).includes(Buffer.from(encodeEnvelope(answer)))).toBe(true);
    expect(direct.length).toBeLessThanOrEqual(generic.length);
  });

  it("agrees with the generic serializer on every field size: empty, multi-byte text, large times and answers", () => {
    const { Check } = (watchmeshGrpcPackage()["Coordinator"] as unknown as Serializers).service;
    const statuses = Object.values(CountryStatus);
    const results = Array.from({ length: 60 }, (_, index) => {
      const answer = { payload: new Uint8Array(index * 397).fill(index), keyId: `K${index}`, signature: new Uint8Array(index % 2 ? 64 : 0), tags: new Uint8Array(20) };
      return {
        country: index % 7 === 0 ? "" : `C${index}`,
        status: statuses[index % statuses.length] ?? CountryStatus.NoHit,
        answer: index % 5 === 0 ? null : answer,
        elapsedMs: [0, 1, 127, 128, 16_383, 16_384, 2 ** 21, 2 ** 28, 2 ** 32 - 1][index % 9] ?? 0,
        errorCode: index % 3 === 0 ? "" : `CODE_${"é".repeat(index)}`,
      };
    });
    const generic = Check.responseSerialize({ queryId: "q-ü", traceId: "", results });
    const direct = encodeCheckResponse({
      queryId: "q-ü",
      traceId: "",
      results: results.map((result) => ({ ...result, answerBytes: result.answer ? encodeEnvelope(result.answer) : undefined })),
    });
    expect(Check.responseDeserialize(Buffer.from(direct))).toEqual(Check.responseDeserialize(generic));
  });
});

/** Byte fields as plain arrays, so that views (the wire reader) and Buffers (the generic decoder) compare. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, plain(field)]));
  return value;
}

describe("decodeCheckResponse", () => {
  const { Check } = (watchmeshGrpcPackage()["Coordinator"] as unknown as Serializers).service;

  it("reads what the generic decoder reads, answers as views of the response", () => {
    const statuses = Object.values(CountryStatus);
    const results = Array.from({ length: 40 }, (_, index) => ({
      country: index % 9 === 0 ? "" : `C${index}`,
      status: statuses[index % statuses.length] ?? CountryStatus.NoHit,
      answer:
        index % 4 === 0
          ? null
          : { payload: new Uint8Array(index * 131).fill(index), keyId: index % 6 ? `K${index}` : "", signature: new Uint8Array(index % 2 ? 64 : 0), tags: new Uint8Array(index % 3 ? 20 : 0) },
      elapsedMs: [0, 1, 128, 2 ** 21, 2 ** 32 - 1][index % 5] ?? 0,
      errorCode: index % 3 === 0 ? "" : `CODE_${"ü".repeat(index)}`,
    }));
    const bytes = Check.responseSerialize({ queryId: "q-é", traceId: "4bf92f3577b34da6a3ce929d0e0e4736", results });
    const decoded = decodeCheckResponse(bytes);
    expect(plain(decoded)).toEqual(plain(Check.responseDeserialize(bytes)));
    const withPayload = decoded.results.find((result) => (result.answer?.payload.length ?? 0) > 0);
    expect(withPayload?.answer?.payload.buffer).toBe(bytes.buffer);
  });

  it("skips unknown fields, reads an unknown status as unspecified, and refuses malformed input with MALFORMED_MESSAGE", () => {
    const result = protobuf.Writer.create().uint32((1 << 3) | 2).string("DEU").uint32((2 << 3) | 0).uint32(99).uint32((9 << 3) | 0).uint32(5).finish();
    const bytes = protobuf.Writer.create().uint32((1 << 3) | 2).string("q").uint32((2 << 3) | 2).bytes(result).uint32((7 << 3) | 2).string("new").finish();
    expect(decodeCheckResponse(bytes)).toEqual({
      queryId: "q",
      traceId: "",
      results: [{ country: "DEU", status: CountryStatus.Unspecified, answer: null, elapsedMs: 0, errorCode: "" }],
    });
    const codeOf = (input: Uint8Array) => {
      try {
        decodeCheckResponse(input);
        return undefined;
      } catch (error) {
        return error instanceof WatchmeshError ? error.code : "untyped";
      }
    };
    expect(codeOf(bytes.subarray(0, bytes.length - 2))).toBe(ErrorCode.MalformedMessage);
    expect(codeOf(new Uint8Array([(2 << 3) | 0, 1]))).toBe(ErrorCode.MalformedMessage); // a result as a varint
    expect(codeOf(new Uint8Array([(2 << 3) | 2, 2, (3 << 3) | 0, 1]))).toBe(ErrorCode.MalformedMessage); // an answer as a varint
  });
});
