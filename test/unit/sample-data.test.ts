import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { parseRecordLine, type EntityRecord, type NativeRecord, type PersonRecord } from "../../node/record-schema.ts";
import { generateSampleRecords, sampleRecordsToNdjson } from "../../node/sample-data.ts";
import { NAME_POOLS } from "../../node/sample-names.ts";

const persons = (records: NativeRecord[]): PersonRecord[] => records.filter((r): r is PersonRecord => r.kind === "person");
const entities = (records: NativeRecord[]): EntityRecord[] => records.filter((r): r is EntityRecord => r.kind === "entity");

describe("generateSampleRecords", () => {
  it("is deterministic for a seed and differs between seeds and countries", () => {
    const options = { country: "FRA", persons: 200, entities: 100, seed: 42 };
    const first = generateSampleRecords(options);
    expect(generateSampleRecords(options)).toEqual(first);
    expect(generateSampleRecords({ ...options, seed: 43 })).not.toEqual(first);
    const deu = generateSampleRecords({ ...options, country: "DEU" });
    expect(persons(deu).map((p) => p.dob)).not.toEqual(persons(first).map((p) => p.dob));
  });

  it("keeps the persons when more entities are asked for", () => {
    const few = generateSampleRecords({ country: "ESP", persons: 50, entities: 5, seed: 1 });
    const many = generateSampleRecords({ country: "ESP", persons: 50, entities: 80, seed: 1 });
    expect(persons(many)).toEqual(persons(few));
  });

  it("produces records that are valid native lines and survive the round trip", () => {
    for (const country of ["FRA", "DEU", "ESP", "TUR", "UKR", "GRC", "CHN", "MAR", "BRA"]) {
      const records = generateSampleRecords({ country, persons: 150, entities: 80, seed: 9 });
      const lines = sampleRecordsToNdjson(records).split("\n");
      expect(lines.pop()).toBe("");
      expect(lines).toHaveLength(records.length);
      lines.forEach((line, i) => expect(parseRecordLine(line), `${country} line ${i + 1}`).toEqual(records[i]));
    }
  });

  it("gives unique ids in the documented shapes, persons first", () => {
    const records = generateSampleRecords({ country: "TUR", persons: 1000, entities: 500, seed: 5 });
    const ids = records.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe("TUR-P-000001");
    expect(ids[999]).toBe("TUR-P-001000");
    expect(ids[1000]).toBe("TUR-E-000001");
    expect(records.slice(0, 1000).every((r) => r.kind === "person")).toBe(true);
  });

  it("writes names in non-Latin scripts as well as Latin ones", () => {
    const names = ["FRA", "DEU", "UKR", "GRC", "CHN", "MAR"].flatMap((country) =>
      persons(generateSampleRecords({ country, persons: 300, entities: 0, seed: 11 })).flatMap((p) => p.names),
    );
    for (const script of ["Latin", "Arabic", "Cyrillic", "Greek", "Han"]) {
      const pattern = new RegExp(`\\p{Script=${script}}`, "u");
      expect(names.some((name) => pattern.test(name)), script).toBe(true);
    }
    // Latin letters with diacritics appear too (umlauts, Turkish, Polish).
    expect(names.some((name) => /[äöüßçğışłńś]/u.test(name))).toBe(true);
  });

  it("varies the date precision, documents and requested actions", () => {
    const people = persons(generateSampleRecords({ country: "ITA", persons: 1000, entities: 0, seed: 2 }));
    const precisions = new Set(people.map((p) => p.dob?.length));
    expect([...precisions].sort()).toEqual([10, 4, 7]);
    expect(people.filter((p) => p.dob?.length === 10).length).toBeGreaterThan(700);
    const actions = people.map((p) => p.action);
    expect(new Set(actions)).toEqual(new Set(["inform_owner", "discreet_check", "specific_check", "arrest"]));
    expect(actions.filter((a) => a === "inform_owner").length).toBeGreaterThan(actions.filter((a) => a === "arrest").length * 5);
    const documentCounts = new Set(people.map((p) => p.documents?.length ?? 0));
    expect(documentCounts).toEqual(new Set([0, 1, 2]));
    expect(people.some((p) => p.names.length > 1)).toBe(true);
  });

  it("creates every entity type, linked only to generated persons", () => {
    const records = generateSampleRecords({ country: "UKR", persons: 100, entities: 400, seed: 4 });
    const personIds = new Set(persons(records).map((p) => p.id));
    const things = entities(records);
    expect(new Set(things.map((e) => e.type))).toEqual(new Set(["phone", "email", "vehicle", "organisation", "device_component", "precursor"]));
    expect(things.every((e) => (e.links ?? []).every((id) => personIds.has(id)))).toBe(true);
    expect(things.some((e) => (e.links ?? []).length > 0)).toBe(true);
    const unlinked = generateSampleRecords({ country: "UKR", persons: 0, entities: 10, seed: 4 });
    expect(entities(unlinked).every((e) => e.links?.length === 0)).toBe(true);
  });

  it("rejects invalid options", () => {
    expect(() => generateSampleRecords({ country: "fr", persons: 1, entities: 1, seed: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => generateSampleRecords({ country: "FRA", persons: -1, entities: 1, seed: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => generateSampleRecords({ country: "FRA", persons: 1, entities: 1.5, seed: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(generateSampleRecords({ country: "FRA", persons: 0, entities: 0, seed: 1 })).toEqual([]);
    expect(sampleRecordsToNdjson([])).toBe("");
  });
});

describe("sample name pools", () => {
  it("have tens of names each and a native script where the culture has one", () => {
    for (const [culture, pool] of Object.entries(NAME_POOLS)) {
      expect(pool.surnames.length, culture).toBeGreaterThanOrEqual(20);
      expect(pool.male.length + pool.female.length, culture).toBeGreaterThanOrEqual(30);
    }
    for (const culture of ["arabic", "russian", "ukrainian", "greek", "chinese"] as const) {
      expect(NAME_POOLS[culture].surnames.every((form) => form[1] !== undefined), culture).toBe(true);
    }
  });
});
