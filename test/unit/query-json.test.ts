import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { parseQueryJson, parseQueryText } from "../../common/query-json.ts";

describe("JSON query format", () => {
  it("turns the documented person form into a wire subject", () => {
    const subject = parseQueryJson({
      name: "Muhammad Abd al-Rahman al-Misri",
      dob: "1979",
      nationality: "EGY",
      sex: "M",
      document: { number: "A12345678", country: "EGY" },
      mrz: "P<EGYLINE1\nLINE2",
      dna: { D3S1358: [15, 16], VWA: [17, "18"] },
      face: { model: "arcface-r100-v1", vector: [0.1, 0.2] },
    });
    expect(subject).toEqual({
      person: {
        names: ["Muhammad Abd al-Rahman al-Misri"],
        dob: "1979",
        nationality: ["EGY"],
        sex: "M",
        documents: [{ type: "passport", number: "A12345678", country: "EGY" }],
        mrz: ["P<EGYLINE1", "LINE2"],
        dna: { loci: { D3S1358: "15,16", VWA: "17,18" }, markerSet: "" },
        face: { model: "arcface-r100-v1", embedding: [0.1, 0.2] },
      },
    });
  });

  it("accepts entity queries", () => {
    expect(parseQueryText('{"entity":{"type":"phone","value":"+33 6 12 34 56 78"}}')).toEqual({ entity: { type: "phone", value: "+33 6 12 34 56 78" } });
  });

  it("needs at least one searchable field", () => {
    expect(() => parseQueryJson({ dob: "1980", nationality: "FRA" })).toThrow(/nothing to search for/);
  });

  it("names the invalid field, with a typed error, and never echoes the value", () => {
    try {
      parseQueryJson({ name: "Secret Person", dob: "80-01-01" });
      throw new Error("accepted");
    } catch (error) {
      expect(error).toMatchObject({ code: ErrorCode.InvalidArgument });
      expect((error as Error).message).toMatch(/dob/);
      expect((error as Error).message).not.toMatch(/80-01-01|Secret/);
    }
    expect(() => parseQueryJson({ name: "A", nationality: "Egypt" })).toThrow(/nationality/);
    expect(() => parseQueryJson({ name: "A", shoeSize: 42 })).toThrow(/query/);
    expect(() => parseQueryText("{not json")).toThrow(/not valid JSON/);
  });
});
