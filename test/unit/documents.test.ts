import { describe, expect, it } from "vitest";
import {
  compareDocuments,
  documentIndexKeys,
  documentNumberVariants,
  documentsMatch,
  normaliseDocumentNumber,
  normaliseIssuingCountry,
} from "../../node/matching/documents.ts";

describe("normaliseDocumentNumber", () => {
  it("upper-cases and strips spaces, dashes, dots and MRZ fillers", () => {
    expect(normaliseDocumentNumber(" 12 ab-345.67 ")).toBe("12AB34567");
    expect(normaliseDocumentNumber("c01x\u2013 00t47", "DEU")).toBe("C01X00T47");
    expect(normaliseDocumentNumber("L898902C3<<")).toBe("L898902C3");
    expect(normaliseDocumentNumber("１２ＡＢ")).toBe("12AB");
  });
});

describe("normaliseIssuingCountry", () => {
  it("trims, upper-cases and maps the ICAO code D to DEU", () => {
    expect(normaliseIssuingCountry(" fra ")).toBe("FRA");
    expect(normaliseIssuingCountry("D<<")).toBe("DEU");
    expect(normaliseIssuingCountry(undefined)).toBe("");
  });
});

describe("documentNumberVariants", () => {
  it("folds O/I to 0/1 in digit positions and 0/1 to O/I in letter positions of a FRA passport", () => {
    expect(documentNumberVariants("I2AB34567", "FRA")).toEqual(["I2AB34567", "12AB34567"]);
    expect(documentNumberVariants("12A834567", "FRA")).toEqual(["12A834567"]); // 8 is not a look-alike we fold
    expect(documentNumberVariants("120B3456O", "FRA")).toEqual(["120B3456O", "12OB34560"]);
    expect(documentNumberVariants("12AB34567", "FRA")).toEqual(["12AB34567"]);
  });

  it("folds O and I everywhere in a DEU number, whose alphabet has neither", () => {
    expect(documentNumberVariants("CO1X0OT47", "DEU")).toEqual(["CO1X0OT47", "C01X00T47"]);
    expect(documentNumberVariants("C01XI0T47", "D")).toEqual(["C01XI0T47", "C01X10T47"]);
  });

  it("keeps every reading when the issuer has formats that disagree (USA letter-or-digit first)", () => {
    expect(documentNumberVariants("O12345678", "USA")).toEqual(["O12345678", "012345678"]);
    expect(documentNumberVariants("012345678", "USA")).toEqual(["012345678", "O12345678"]);
    expect(documentNumberVariants("12345678O", "GBR")).toEqual(["12345678O", "123456780"]);
  });

  it("never folds numbers of unknown issuers, of no issuer, or that fit no known format", () => {
    expect(documentNumberVariants("I2AB34567", "UTO")).toEqual(["I2AB34567"]);
    expect(documentNumberVariants("I2AB34567")).toEqual(["I2AB34567"]);
    expect(documentNumberVariants("I2ABC4567", "FRA")).toEqual(["I2ABC4567"]);
    expect(documentNumberVariants("I2AB3456", "FRA")).toEqual(["I2AB3456"]);
    expect(documentNumberVariants(" - ", "FRA")).toEqual([]);
  });
});

describe("documentIndexKeys", () => {
  it("qualifies every reading with the issuer", () => {
    expect(documentIndexKeys("i2ab-34567", "fra")).toEqual(["FRA:I2AB34567", "FRA:12AB34567"]);
    expect(documentIndexKeys("C01X00T47", "D")).toEqual(["DEU:C01X00T47"]);
  });

  it("lets a query with a look-alike error meet the record, whichever side has the error", () => {
    const meets = (a: string, b: string, country: string): boolean =>
      documentIndexKeys(a, country).some((k) => documentIndexKeys(b, country).includes(k));
    expect(meets("12AB34567", "I2AB34567", "FRA")).toBe(true);
    expect(meets("I2AB34567", "12AB34567", "FRA")).toBe(true);
    expect(meets("I2AB34567", "12AB3456O", "FRA")).toBe(false); // O→0 gives 12AB34560
    expect(meets("I2AB34560", "12AB3456O", "FRA")).toBe(true); // errors on both sides
    expect(meets("O12345678", "012345678", "USA")).toBe(true);
    expect(meets("I2AB34567", "12AB34567", "UTO")).toBe(false);
    expect(meets("12AB34567", "12AB34567", "FRA")).toBe(true);
  });
});

describe("compareDocuments and documentsMatch", () => {
  it("tells exact from look-alike matches", () => {
    expect(compareDocuments({ number: "12 AB 34567", country: "FRA" }, { number: "12ab34567", country: "FRA" })).toBe("exact");
    expect(compareDocuments({ number: "12AB34567", country: "FRA" }, { number: "I2AB34567", country: "FRA" })).toBe("look_alike");
    expect(compareDocuments({ number: "12AB34567", country: "FRA" }, { number: "12AB34568", country: "FRA" })).toBe("none");
  });

  it("requires the issuing states to agree when both are given", () => {
    expect(documentsMatch({ number: "12AB34567", country: "FRA" }, { number: "12AB34567", country: "DEU" })).toBe(false);
    expect(documentsMatch({ number: "C01X00T47", country: "D" }, { number: "C01X00T47", country: "DEU" })).toBe(true);
  });

  it("folds with the issuer known on one side only", () => {
    expect(documentsMatch({ number: "12AB34567", country: "FRA" }, { number: "I2AB34567" })).toBe(true);
    expect(documentsMatch({ number: "I2AB34567", country: "" }, { number: "12AB34567", country: "FRA" })).toBe(true);
    expect(documentsMatch({ number: "I2AB34567" }, { number: "12AB34567" })).toBe(false);
    expect(documentsMatch({ number: "12AB34567" }, { number: "12AB34567" })).toBe(true);
  });

  it("never matches empty numbers", () => {
    expect(documentsMatch({ number: "" }, { number: "" })).toBe(false);
  });
});
