import { describe, expect, it } from "vitest";
import { CountryStatus, encodeCheckResponse, encodeEnvelope, watchmeshGrpcPackage } from "../../common/proto.ts";

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
