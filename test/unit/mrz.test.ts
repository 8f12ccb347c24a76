import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { mrzCheckDigit, normaliseIcaoStateCode, parseMrz, type MrzCheckedField } from "../../common/mrz.ts";

const NOW = new Date("2025-06-01T00:00:00Z");

// ICAO Doc 9303 specimens (Anna Maria Eriksson of Utopia).
const TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];
const TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
const TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"];
const MRV_A = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"];
const MRV_B = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"];

const cd = (s: string): string => String(mrzCheckDigit(s));

/** A TD3 passport MRZ with correct check digits for the given fields. */
function td3(fields: { number?: string; dob?: string; expiry?: string; personal?: string; sex?: string; state?: string }): string[] {
  const number = (fields.number ?? "L898902C3").padEnd(9, "<");
  const dob = fields.dob ?? "740812";
  const expiry = fields.expiry ?? "320415";
  const personal = (fields.personal ?? "ZE184226B").padEnd(14, "<");
  const upper = `${number}${cd(number)}UTO${dob}${cd(dob)}${fields.sex ?? "F"}${expiry}${cd(expiry)}${personal}${cd(personal)}`;
  const composite = cd(upper.slice(0, 10) + upper.slice(13, 20) + upper.slice(21, 43));
  return [`P<${fields.state ?? "UTO"}ERIKSSON<<ANNA<MARIA`.padEnd(44, "<"), upper + composite];
}

function replaceAt(line: string, index: number, c: string): string {
  return line.slice(0, index) + c + line.slice(index + 1);
}

function mrzError(lines: readonly string[] | string): WatchmeshError {
  try {
    parseMrz(lines, { now: NOW });
  } catch (error) {
    if (error instanceof WatchmeshError) return error;
    throw error;
  }
  throw new Error("expected parseMrz to throw");
}

function expectWrongCheckDigit(lines: readonly string[], field: MrzCheckedField): void {
  const error = mrzError(lines);
  expect(error.code).toBe(ErrorCode.InvalidMrz);
  expect(error.message).toBe(`MRZ check digit for ${field} is wrong`);
  expect(error.context).toEqual({ field });
}

describe("mrzCheckDigit", () => {
  it("uses weights 7-3-1 with < = 0 and A-Z = 10..35", () => {
    expect(mrzCheckDigit("L898902C3")).toBe(6);
    expect(mrzCheckDigit("740812")).toBe(2);
    expect(mrzCheckDigit("<<<<<<<<<")).toBe(0);
    expect(mrzCheckDigit("AZ")).toBe((10 * 7 + 35 * 3) % 10);
  });
});

describe("parseMrz on the ICAO Doc 9303 specimens", () => {
  it("reads a TD3 passport", () => {
    expect(parseMrz(TD3, { now: NOW })).toEqual({
      format: "TD3",
      documentCode: "P",
      issuingState: "UTO",
      documentNumber: "L898902C3",
      surname: "ERIKSSON",
      givenNames: "ANNA MARIA",
      nationality: "UTO",
      dateOfBirth: "1974-08-12",
      sex: "F",
      dateOfExpiry: "2012-04-15",
      optionalData: ["ZE184226B"],
    });
  });

  it("reads a TD1 identity card", () => {
    expect(parseMrz(TD1, { now: NOW })).toEqual({
      format: "TD1",
      documentCode: "I",
      issuingState: "UTO",
      documentNumber: "D23145890",
      surname: "ERIKSSON",
      givenNames: "ANNA MARIA",
      nationality: "UTO",
      dateOfBirth: "1974-08-12",
      sex: "F",
      dateOfExpiry: "2012-04-15",
      optionalData: ["", ""],
    });
  });

  it("reads a TD2 document", () => {
    const parsed = parseMrz(TD2, { now: NOW });
    expect(parsed).toMatchObject({ format: "TD2", documentCode: "I", documentNumber: "D23145890", surname: "ERIKSSON" });
    expect(parsed.givenNames).toBe("ANNA MARIA");
    expect(parsed.dateOfExpiry).toBe("2012-04-15");
  });

  it("reads MRV-A and MRV-B visas, which have no composite check digit", () => {
    const a = parseMrz(MRV_A, { now: NOW });
    expect(a).toMatchObject({ format: "MRV-A", documentCode: "V", documentNumber: "L8988901C", nationality: "XXX" });
    expect(a.dateOfBirth).toBe("1940-09-07");
    expect(a.dateOfExpiry).toBe("1996-12-10");
    expect(parseMrz(MRV_B, { now: NOW })).toMatchObject({ format: "MRV-B", documentNumber: "L8988901C", sex: "F" });
  });
});

describe("parseMrz input handling", () => {
  it("accepts one string with line breaks, surrounding whitespace and lower case", () => {
    const text = `  ${TD3[0]?.toLowerCase()}  \r\n\n   ${TD3[1]}\n`;
    expect(parseMrz(text, { now: NOW }).documentNumber).toBe("L898902C3");
  });

  it("accepts one unbroken string of exactly two or three lines", () => {
    expect(parseMrz(TD1.join(""), { now: NOW }).format).toBe("TD1");
    expect(parseMrz(TD2.join(""), { now: NOW }).format).toBe("TD2");
  });

  it("rejects line counts and lengths that match no format", () => {
    for (const lines of [
      [TD3[0] ?? "", `${TD3[1]}<`],
      [TD3[0] ?? "", (TD3[1] ?? "").slice(0, 43)],
      [TD3[0] ?? ""],
      [...TD3, TD3[1] ?? ""],
      [TD1[0] ?? "", TD1[1] ?? ""],
      [TD3[0] ?? "", TD2[1] ?? ""],
      "",
    ]) {
      const error = mrzError(lines);
      expect(error.code).toBe(ErrorCode.InvalidMrz);
      expect(error.message).toMatch(/do not match a format/);
    }
  });

  it("rejects characters outside the MRZ alphabet without echoing them", () => {
    const error = mrzError([TD3[0] ?? "", replaceAt(TD3[1] ?? "", 30, "é")]);
    expect(error.message).toBe("MRZ contains characters outside A-Z, 0-9 and <");
  });

  it("rejects an invalid sex and an invalid date, naming the field", () => {
    expect(mrzError(td3({ sex: "Q" })).message).toBe("MRZ field sex is invalid");
    const month13 = mrzError(td3({ dob: "741312" }));
    expect(month13.message).toBe("MRZ field dateOfBirth is not a valid date");
    expect(month13.context).toEqual({ field: "dateOfBirth" });
    expect(mrzError(td3({ expiry: "310230" })).message).toBe("MRZ field dateOfExpiry is not a valid date");
  });

  it("returns the ICAO code D as DEU", () => {
    expect(parseMrz(td3({ state: "D<<" }), { now: NOW }).issuingState).toBe("DEU");
    expect(normaliseIcaoStateCode(" d<< ")).toBe("DEU");
    expect(normaliseIcaoStateCode("XXA")).toBe("XXA");
  });
});

describe("parseMrz check digits", () => {
  it("names each TD3 field whose check digit is wrong", () => {
    const [l1 = "", l2 = ""] = TD3;
    expectWrongCheckDigit([l1, replaceAt(l2, 9, "5")], "documentNumber");
    expectWrongCheckDigit([l1, replaceAt(l2, 19, "3")], "dateOfBirth");
    expectWrongCheckDigit([l1, replaceAt(l2, 27, "8")], "dateOfExpiry");
    expectWrongCheckDigit([l1, replaceAt(l2, 42, "2")], "personalNumber");
    expectWrongCheckDigit([l1, replaceAt(l2, 43, "1")], "composite");
    // A changed data character is caught by its own check digit.
    expectWrongCheckDigit([l1, replaceAt(l2, 0, "M")], "documentNumber");
    expectWrongCheckDigit([l1, replaceAt(l2, 15, "1")], "dateOfBirth");
  });

  it("names each TD1 field whose check digit is wrong", () => {
    const [l1 = "", l2 = "", l3 = ""] = TD1;
    expectWrongCheckDigit([replaceAt(l1, 14, "8"), l2, l3], "documentNumber");
    expectWrongCheckDigit([l1, replaceAt(l2, 6, "3"), l3], "dateOfBirth");
    expectWrongCheckDigit([l1, replaceAt(l2, 14, "8"), l3], "dateOfExpiry");
    expectWrongCheckDigit([l1, replaceAt(l2, 29, "7"), l3], "composite");
    // Optional data is covered only by the composite.
    expectWrongCheckDigit([l1, replaceAt(l2, 20, "B"), l3], "composite");
  });

  it("names the TD2 composite and the visa check digits", () => {
    const [l1 = "", l2 = ""] = TD2;
    expectWrongCheckDigit([l1, replaceAt(l2, 35, "5")], "composite");
    expectWrongCheckDigit([l1, replaceAt(l2, 9, "6")], "documentNumber");
    expectWrongCheckDigit([MRV_A[0] ?? "", replaceAt(MRV_A[1] ?? "", 27, "5")], "dateOfExpiry");
  });

  it("rejects a letter or filler in a check digit position", () => {
    const [l1 = "", l2 = ""] = TD3;
    expectWrongCheckDigit([l1, replaceAt(l2, 19, "<")], "dateOfBirth");
    expectWrongCheckDigit([l1, replaceAt(l2, 9, "O")], "documentNumber");
  });

  it("accepts < as the personal number check digit only when the field is empty", () => {
    const empty = td3({ personal: "" });
    expect(empty[1]?.charAt(42)).toBe("0");
    const filler = replaceAt(empty[1] ?? "", 42, "<");
    // The composite covers the filler as 0, so it stays valid.
    expect(parseMrz([empty[0] ?? "", filler], { now: NOW }).optionalData).toEqual([""]);
    const [l1 = "", l2 = ""] = TD3;
    expectWrongCheckDigit([l1, replaceAt(l2, 42, "<")], "personalNumber");
  });
});

describe("parseMrz long document numbers (TD1/TD2 overflow into optional data)", () => {
  it("reads a TD1 number of 12 characters", () => {
    // ICAO Doc 9303 part 5 example: D23145890734, check digit 9 after the overflow.
    const l1 = "I<UTOD23145890<7349<<<<<<<<<<<";
    const l2 = `7408122F1204159UTO<<<<<<<<<<<${cd(l1.slice(5, 30) + "7408122" + "1204159" + "<<<<<<<<<<<")}`;
    const parsed = parseMrz([l1, l2, TD1[2] ?? ""], { now: NOW });
    expect(parsed.documentNumber).toBe("D23145890734");
    expect(parsed.optionalData).toEqual(["", ""]);
    expectWrongCheckDigit([replaceAt(l1, 18, "8"), l2, TD1[2] ?? ""], "documentNumber");
  });

  it("reads a TD2 number of 11 characters", () => {
    const number = "D2314589073";
    const optional = `${number.slice(9)}${cd(number)}`.padEnd(7, "<");
    const head = `${number.slice(0, 9)}<UTO7408122F1204159${optional}`;
    const l2 = head + cd(head.slice(0, 10) + head.slice(13, 20) + head.slice(21, 35));
    expect(parseMrz([TD2[0] ?? "", l2], { now: NOW }).documentNumber).toBe(number);
  });

  it("rejects a truncation marker without an overflow", () => {
    const [l1 = "", l2 = "", l3 = ""] = TD1;
    expectWrongCheckDigit([replaceAt(l1, 14, "<"), l2, l3], "documentNumber");
  });
});

describe("parseMrz dates", () => {
  it("never puts a birth date in the future and reads expiry years within 50 years", () => {
    expect(parseMrz(td3({ dob: "250531" }), { now: NOW }).dateOfBirth).toBe("2025-05-31");
    expect(parseMrz(td3({ dob: "250602" }), { now: NOW }).dateOfBirth).toBe("1925-06-02");
    expect(parseMrz(td3({ dob: "300101" }), { now: NOW }).dateOfBirth).toBe("1930-01-01");
    expect(parseMrz(td3({ expiry: "750101" }), { now: NOW }).dateOfExpiry).toBe("2075-01-01");
    expect(parseMrz(td3({ expiry: "970101" }), { now: NOW }).dateOfExpiry).toBe("1997-01-01");
  });

  it("lowers the precision for unknown day, month or year (<< or XX)", () => {
    expect(parseMrz(td3({ dob: "7408<<" }), { now: NOW }).dateOfBirth).toBe("1974-08");
    expect(parseMrz(td3({ dob: "74XXXX" }), { now: NOW }).dateOfBirth).toBe("1974");
    expect(parseMrz(td3({ dob: "74<<<<" }), { now: NOW }).dateOfBirth).toBe("1974");
    expect(parseMrz(td3({ dob: "<<<<<<" }), { now: NOW }).dateOfBirth).toBe("");
    expect(parseMrz(td3({ dob: "2506<<" }), { now: NOW }).dateOfBirth).toBe("2025-06");
    expect(parseMrz(td3({ dob: "2507<<" }), { now: NOW }).dateOfBirth).toBe("1925-07");
  });

  it("validates the day against the month and leap years", () => {
    expect(parseMrz(td3({ dob: "000229" }), { now: NOW }).dateOfBirth).toBe("2000-02-29");
    expect(mrzError(td3({ dob: "990229" })).message).toBe("MRZ field dateOfBirth is not a valid date");
  });
});

describe("parseMrz names and sex", () => {
  it("splits surname and given names and de-fills them", () => {
    const lines = td3({});
    const l1 = "P<UTOVAN<DER<BERG<<JAN<PIETER<<<<<<<<<<<<<<<<";
    expect(parseMrz([l1.slice(0, 44), lines[1] ?? ""], { now: NOW })).toMatchObject({
      surname: "VAN DER BERG",
      givenNames: "JAN PIETER",
    });
    const noGiven = "P<UTOMADONNA".padEnd(44, "<");
    expect(parseMrz([noGiven, lines[1] ?? ""], { now: NOW })).toMatchObject({ surname: "MADONNA", givenNames: "" });
  });

  it("reads < as unknown sex and X as unspecified", () => {
    expect(parseMrz(td3({ sex: "<" }), { now: NOW }).sex).toBe("");
    expect(parseMrz(td3({ sex: "X" }), { now: NOW }).sex).toBe("X");
  });
});

describe("parseMrz OCR repair", () => {
  it("repairs look-alikes in date and check digit positions only when asked", () => {
    const [l1 = "", l2 = ""] = TD3;
    const misread = replaceAt(replaceAt(l2, 15, "O"), 9, "G"); // 0812 → O812, check digit 6 → G
    expectWrongCheckDigit([l1, misread], "documentNumber");
    expect(parseMrz([l1, misread], { now: NOW, repairOcr: true }).dateOfBirth).toBe("1974-08-12");
  });

  it("does not repair data positions, where letters are legitimate", () => {
    const [l1 = "", l2 = ""] = TD3;
    const misread = [l1, replaceAt(l2, 1, "B")]; // document number L898902C3 → LB98902C3
    expect(() => parseMrz(misread, { now: NOW, repairOcr: true })).toThrow("MRZ check digit for documentNumber is wrong");
    expect(mrzError(misread).message).not.toContain("LB98902C3");
  });
});
