import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { isValidPartialDate, parseRecordLine, validateRecordLine } from "../../node/record-schema.ts";

const person = {
  kind: "person",
  id: "FRA-000123",
  names: ["Jean Dupont", "Jean-Pierre Dupont"],
  dob: "1980-05-01",
  nationality: ["FRA"],
  sex: "M",
  documents: [{ type: "passport", number: "12AB34567", country: "FRA" }],
  action: "discreet_check",
};
const entity = { kind: "entity", id: "FRA-E-0042", type: "phone", value: "+33 6 12 34 56 78", links: ["FRA-000123"], action: "inform_owner" };

function line(value: unknown): string {
  return JSON.stringify(value);
}

/** Parses and returns the InvalidRecord error, failing the test when the line is accepted. */
function rejectionOf(text: string): WatchmeshError {
  try {
    parseRecordLine(text);
  } catch (error) {
    expect(error).toBeInstanceOf(WatchmeshError);
    expect((error as WatchmeshError).code).toBe(ErrorCode.InvalidRecord);
    return error as WatchmeshError;
  }
  throw new Error("line was accepted");
}

describe("parseRecordLine: valid lines", () => {
  it("parses the documented person, entity and delete examples", () => {
    expect(parseRecordLine(line(person))).toEqual(person);
    expect(parseRecordLine(line(entity))).toEqual(entity);
    expect(parseRecordLine('{"op":"delete","id":"FRA-000123"}')).toEqual({ op: "delete", id: "FRA-000123" });
  });

  it("fills defaults and trims names so equal records compare equal", () => {
    const parsed = parseRecordLine(line({ kind: "person", id: "P1", names: ["  Anna Nowak "] }));
    expect(parsed).toEqual({ kind: "person", id: "P1", names: ["Anna Nowak"], nationality: [], documents: [], action: "inform_owner" });
    const parsedEntity = parseRecordLine(line({ kind: "entity", id: "E1", type: "email", value: "a@b.example" }));
    expect(parsedEntity).toEqual({ kind: "entity", id: "E1", type: "email", value: "a@b.example", links: [], action: "inform_owner" });
  });

  it("accepts and keeps valid DNA profiles and face templates on persons, and rejects invalid ones naming the field", () => {
    const dna = { D3S1358: [15, 16], VWA: [17, 18], D8S1179: [13, 14], D21S11: [29, 30], D18S51: [12, 15], TH01: [6, 9.3], AMEL: ["X", "Y"] };
    const face = { model: "arcface-r100-v1", vector: Array.from({ length: 512 }, (_, i) => Math.sin(i + 1)) };
    const withBiometrics = { ...person, dna, face };
    expect(parseRecordLine(line(withBiometrics))).toEqual(withBiometrics);
    expect(() => parseRecordLine(line({ ...person, dna: { D3S1358: [15, 16] } }))).toThrow(/dna/);
    expect(() => parseRecordLine(line({ ...person, dna: { ...dna, VWA: [17, 18, 19] } }))).toThrow(/mixture/);
    expect(() => parseRecordLine(line({ ...person, face: { model: "arcface-r100-v1", vector: [0.1, 0.2] } }))).toThrow(/face/);
  });

  it("keeps recordedAt on both kinds and a designation on device components and precursors", () => {
    const precursor = { kind: "entity", id: "E9", type: "precursor", value: "Lot 7", designation: "ammonium_nitrate", recordedAt: "2025-04-30" };
    expect(parseRecordLine(line(precursor))).toMatchObject({ designation: "ammonium_nitrate", recordedAt: "2025-04-30" });
    expect(parseRecordLine(line({ ...person, recordedAt: "2020-02-29" }))).toMatchObject({ recordedAt: "2020-02-29" });
    expect(() => parseRecordLine(line({ ...person, recordedAt: "2021-02-29" }))).toThrow(/recordedAt/);
    expect(() => parseRecordLine(line({ ...person, recordedAt: "2999-01-01" }))).toThrow(/not in the future/);
    expect(() => parseRecordLine(line({ ...precursor, type: "phone", value: "+33 6 12 34 56 78" }))).toThrow(/designation/);
    expect(() => parseRecordLine(line({ ...precursor, designation: "x".repeat(65) }))).toThrow(/designation/);
  });

  it("accepts partial dates of birth", () => {
    for (const dob of ["1980", "1980-05", "1980-05-01", "2000-02-29"]) {
      expect(parseRecordLine(line({ ...person, dob }))).toMatchObject({ dob });
    }
  });

  it("accepts ids in any script without whitespace", () => {
    expect(parseRecordLine(line({ ...person, id: "ΕΛΛ-Π/0001#a" }))).toMatchObject({ id: "ΕΛΛ-Π/0001#a" });
  });

  it("validates already-parsed values the same way", () => {
    expect(validateRecordLine(person)).toEqual(person);
    expect(() => validateRecordLine({ ...person, sex: "Q" })).toThrow(WatchmeshError);
  });
});

describe("isValidPartialDate", () => {
  it("rejects dates that are not on the calendar", () => {
    for (const bad of ["1980-02-30", "1981-02-29", "1900-02-29", "1980-04-31", "1980-13", "1980-00", "1980-01-00", "1980-01-32"]) {
      expect(isValidPartialDate(bad), bad).toBe(false);
    }
  });

  it("rejects other shapes, years before 1800 and dates in the future", () => {
    const now = Date.UTC(2025, 5, 15);
    for (const bad of ["80-05-01", "1980-5-1", "19800501", "1980/05/01", "", " 1980", "1799", "2025-06-16", "2025-07", "2026"]) {
      expect(isValidPartialDate(bad, now), bad).toBe(false);
    }
    for (const good of ["2025-06-15", "2025-06", "2025", "1800"]) expect(isValidPartialDate(good, now), good).toBe(true);
  });
});

describe("parseRecordLine: invalid lines name the field, never the value", () => {
  const secret = "Zq9SECRET";
  const cases: { name: string; value: unknown; field: string; hidden?: string }[] = [
    { name: "id with whitespace", value: { ...person, id: `FRA ${secret}` }, field: '"id"' },
    { name: "id too long", value: { ...person, id: `${secret}${"x".repeat(130)}` }, field: '"id"' },
    { name: "no names", value: { ...person, names: [] }, field: '"names"' },
    { name: "too many names", value: { ...person, names: Array.from({ length: 11 }, (_, i) => `${secret} ${i}`) }, field: '"names"' },
    { name: "blank name", value: { ...person, names: ["Jean Dupont", "   "] }, field: '"names[1]"' },
    { name: "name too long", value: { ...person, names: [`${secret}${"a".repeat(200)}`] }, field: '"names[0]"' },
    { name: "name without letters", value: { ...person, names: ["--- ..."] }, field: '"names[0]"', hidden: "--- ..." },
    { name: "name not a string", value: { ...person, names: [987654321] }, field: '"names[0]"', hidden: "987654321" },
    { name: "impossible dob", value: { ...person, dob: "1980-02-30" }, field: '"dob"', hidden: "1980-02-30" },
    { name: "dob in another format", value: { ...person, dob: "01/05/1980" }, field: '"dob"', hidden: "01/05/1980" },
    { name: "nationality not alpha-3", value: { ...person, nationality: ["FRA", secret] }, field: '"nationality[1]"' },
    { name: "unknown sex", value: { ...person, sex: secret }, field: '"sex"' },
    { name: "unknown document type", value: { ...person, documents: [{ type: secret, number: "1", country: "FRA" }] }, field: '"documents[0].type"' },
    { name: "empty document number", value: { ...person, documents: [{ type: "visa", number: " ", country: "FRA" }] }, field: '"documents[0].number"' },
    { name: "document country", value: { ...person, documents: [{ type: "visa", number: "X1", country: secret }] }, field: '"documents[0].country"' },
    { name: "missing document number", value: { ...person, documents: [{ type: "visa", country: "FRA" }] }, field: '"documents[0].number" is required' },
    { name: "unknown action", value: { ...person, action: secret }, field: '"action"' },
    { name: "missing names", value: { kind: "person", id: "P1" }, field: '"names" is required' },
    { name: "entity type", value: { ...entity, type: secret }, field: '"type"' },
    { name: "phone without digits", value: { ...entity, value: `phone ${secret}`.replace(/9/g, "") }, field: '"value"', hidden: "SECRET" },
    { name: "entity value too long", value: { ...entity, type: "email", value: `${secret}@${"a".repeat(500)}` }, field: '"value"' },
    { name: "entity link with whitespace", value: { ...entity, links: [`FRA ${secret}`] }, field: '"links[0]"' },
    { name: "kind unknown", value: { ...person, kind: secret }, field: '"kind"' },
    { name: "delete with another op", value: { op: secret, id: "P1" }, field: '"op"' },
    { name: "delete without id", value: { op: "delete" }, field: '"id" is required' },
  ];

  for (const testCase of cases) {
    it(testCase.name, () => {
      const error = rejectionOf(line(testCase.value));
      expect(error.message).toContain(testCase.field);
      expect(error.message).not.toContain(testCase.hidden ?? secret);
    });
  }

  it("rejects a line without kind or op", () => {
    const error = rejectionOf(line({ id: "P1", names: [secret] }));
    expect(error.message).toContain('"kind" is required');
    expect(error.message).not.toContain(secret);
  });

  it("rejects unknown fields by name, but no values", () => {
    const error = rejectionOf(line({ ...person, nationalty: [secret] }));
    expect(error.message).toContain('unknown field "nationalty"');
    expect(error.message).not.toContain(secret);
    const nested = rejectionOf(line({ ...person, documents: [{ type: "visa", number: "1", country: "FRA", issued: secret }] }));
    expect(nested.message).toContain('"issued" in documents[0]');
    expect(nested.message).not.toContain(secret);
    expect(rejectionOf(line({ op: "delete", id: "P1", reason: secret })).message).toContain('"reason"');
  });

  it("accepts dna and face only on persons", () => {
    expect(rejectionOf(line({ ...entity, dna: { loci: {} } })).message).toContain('unknown field "dna"');
  });

  it("rejects invalid JSON without quoting it", () => {
    const error = rejectionOf(`{"kind":"person","id":"${secret}"`);
    expect(error.message).toBe("invalid record: line is not valid JSON");
    expect(error.cause).toBeUndefined();
  });

  it("rejects JSON that is not an object", () => {
    for (const text of ["[]", "null", "42", `"${secret}"`]) {
      const error = rejectionOf(text);
      expect(error.message).toContain("must be a JSON object");
      expect(error.message).not.toContain(secret);
    }
  });

  it("names the first field in the error context and caps the number of issues listed", () => {
    const error = rejectionOf(line({ kind: "person", id: " ", names: [], sex: "Q", action: "q", nationality: ["x"], documents: 1 }));
    expect(error.context["field"]).toBe("id");
    expect(error.message).toMatch(/\(\+\d+ more\)$/);
  });
});
