import { describe, expect, it } from "vitest";
import {
  dobCompatible,
  nameKey,
  nameKeys,
  normaliseDocumentNumber,
  normaliseEntityValue,
  normaliseName,
} from "../../node/normalise.ts";

describe("normaliseName", () => {
  it("folds Latin accents, special letters, case and punctuation", () => {
    expect(normaliseName("Jean-Pierre  DUPONT")).toBe("jean pierre dupont");
    expect(normaliseName("Müller")).toBe("muller");
    expect(normaliseName("Straße Øster Æble Œuvre")).toBe("strasse oster aeble oeuvre");
    expect(normaliseName("Łukasz Wróbel")).toBe("lukasz wrobel");
    expect(normaliseName("İsmail Yıldırım")).toBe("ismail yildirim");
    expect(normaliseName("O'Brien, Mary-Kate.")).toBe("o brien mary kate");
    expect(normaliseName("Ｊｏｈｎ")).toBe("john");
  });

  it("keeps other scripts, dropping only the marks their writers leave out", () => {
    expect(normaliseName("ΠΑΠΑΔΟΠΟΥΛΟΣ")).toBe(normaliseName("Παπαδόπουλος"));
    expect(normaliseName("Фёдоров")).toBe("федоров");
    expect(normaliseName("Йосип")).toBe("йосип"); // й is a letter of its own, not an accented и
    expect(normaliseName("مُحَمَّد")).toBe("محمد");
    expect(normaliseName("王伟")).toBe("王伟");
  });
});

describe("nameKey and nameKeys", () => {
  it("ignores name order", () => {
    expect(nameKey("Dupont, Jean")).toBe(nameKey("jean DUPONT"));
    expect(nameKey("---")).toBe("");
  });

  it("adds the spelled-out umlaut variant only when there are umlauts", () => {
    expect(nameKeys("Hans Müller")).toEqual(["hans muller", "hans mueller"]);
    expect(nameKeys("Hans Mueller")).toEqual(["hans mueller"]);
    expect(nameKeys("Jean Dupont")).toEqual(["dupont jean"]);
    expect(nameKeys(" ")).toEqual([]);
  });
});

describe("normaliseDocumentNumber", () => {
  it("uppercases and drops spaces, dashes and dots", () => {
    expect(normaliseDocumentNumber(" 12 ab-345.67 ")).toBe("12AB34567");
    expect(normaliseDocumentNumber("c01x\u2013 00t47")).toBe("C01X00T47");
  });
});

describe("normaliseEntityValue", () => {
  it("keeps a leading + and digits of phone numbers, reading 00 as +", () => {
    expect(normaliseEntityValue("phone", "+33 6 12 34 56 78")).toBe("+33612345678");
    expect(normaliseEntityValue("phone", "0033 6 12-34-56-78")).toBe("+33612345678");
    expect(normaliseEntityValue("phone", "(+49) 151 234")).toBe("+49151234");
    expect(normaliseEntityValue("phone", "06 12 34 56 78")).toBe("0612345678");
    expect(normaliseEntityValue("phone", "no digits")).toBe("");
  });

  it("normalises e-mails, vehicles and the rest", () => {
    expect(normaliseEntityValue("email", "  Jean.Dupont@Mail.Example ")).toBe("jean.dupont@mail.example");
    expect(normaliseEntityValue("vehicle", "ab-123-cd")).toBe("AB123CD");
    expect(normaliseEntityValue("vehicle", "АА 1234 ВВ")).toBe("AA1234BB");
    expect(normaliseEntityValue("precursor", "Hydrogen Peroxide 35%")).toBe("hydrogen peroxide 35");
    expect(normaliseEntityValue("organisation", "Müller Logistik GmbH")).toBe("muller logistik gmbh");
  });
});

describe("dobCompatible", () => {
  it("compares at the precision both dates share", () => {
    expect(dobCompatible("1980", "1980-05-01")).toBe(true);
    expect(dobCompatible("1980-05", "1980-05-01")).toBe(true);
    expect(dobCompatible("1980-05-01", "1980-05-01")).toBe(true);
    expect(dobCompatible("1980-05", "1980-06-12")).toBe(false);
    expect(dobCompatible("1980-05-01", "1980-05-02")).toBe(false);
    expect(dobCompatible("1981", "1980")).toBe(false);
  });

  it("never treats a missing or malformed date as compatible", () => {
    expect(dobCompatible("", "1980")).toBe(false);
    expect(dobCompatible(undefined, "1980")).toBe(false);
    expect(dobCompatible("1980", undefined)).toBe(false);
    expect(dobCompatible("80", "1980")).toBe(false);
    expect(dobCompatible("1980-5", "1980-05")).toBe(false);
  });
});
