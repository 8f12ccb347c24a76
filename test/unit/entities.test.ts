import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import type { EntityType } from "../../node/record-schema.ts";
import {
  ORGANISATION_MATCH_THRESHOLD,
  compareOrganisations,
  entitiesMatch,
  isValidCasNumber,
  normaliseEntity,
  phoneRegion,
  vinCheckDigit,
  type NormaliseEntityOptions,
} from "../../node/matching/entities.ts";

function entityError(type: EntityType, value: string, options?: NormaliseEntityOptions): WatchmeshError {
  try {
    normaliseEntity(type, value, options);
  } catch (error) {
    if (error instanceof WatchmeshError) return error;
    throw error;
  }
  throw new Error("expected normaliseEntity to throw");
}

/** Asserts the error code and message, that it names the entity type, and that it does not echo the value. */
function expectInvalid(type: EntityType, value: string, message: string, options?: NormaliseEntityOptions): void {
  const error = entityError(type, value, options);
  expect(error.code).toBe(options?.errorCode ?? ErrorCode.InvalidRecord);
  expect(error.message).toBe(message);
  expect(error.context).toEqual({ field: "value", entityType: type });
  const significant = value.replace(/[^\p{L}\p{N}]/gu, "");
  if (significant.length >= 4) expect(error.message.replace(/[^\p{L}\p{N}]/gu, "")).not.toContain(significant);
}

const canonical = (type: EntityType, value: string, options?: NormaliseEntityOptions): string =>
  normaliseEntity(type, value, options).canonical;

describe("phone", () => {
  it("formats to E.164 from international, 00-prefixed and national numbers", () => {
    expect(normaliseEntity("phone", "+33 6 12 34 56 78")).toEqual({ canonical: "+33612345678", keys: ["+33612345678", "~nsn:612345678"] });
    expect(canonical("phone", "0033612345678", { defaultRegion: "FRA" })).toBe("+33612345678");
    expect(canonical("phone", "06 12 34 56 78", { defaultRegion: "FRA" })).toBe("+33612345678");
    expect(canonical("phone", "06.12.34.56.78", { defaultRegion: "FR" })).toBe("+33612345678");
    expect(canonical("phone", "(+49) 151 23456789")).toBe("+4915123456789");
    expect(canonical("phone", "011 33 6 12 34 56 78", { defaultRegion: "USA" })).toBe("+33612345678");
    expect(canonical("phone", "+33 6 12 34 56 78 ext. 12")).toBe("+33612345678");
  });

  it("reads 00 as the international prefix when there is no default region", () => {
    expect(canonical("phone", "0033 6 12 34 56 78")).toBe("+33612345678");
  });

  it("ignores the default region for numbers that carry their country code", () => {
    expect(canonical("phone", "+49 151 23456789", { defaultRegion: "FRA" })).toBe("+4915123456789");
  });

  it("rejects a national number without a region, naming what is missing", () => {
    expectInvalid("phone", "06 12 34 56 78", "phone number needs a country code");
    expectInvalid("phone", "06 12 34 56 78", "phone number needs a country code", { defaultRegion: "UTO" });
    expectInvalid("phone", "06 12 34 56 78", "phone number needs a country code", { errorCode: ErrorCode.InvalidArgument });
  });

  it("rejects impossible numbers", () => {
    expectInvalid("phone", "+33 6 12", "phone number is not a possible number for its country");
    expectInvalid("phone", "+999 1234 5678", "phone number is not a possible number for its country");
    expectInvalid("phone", "no digits", "phone number is not a possible number for its country", { defaultRegion: "FRA" });
  });

  it("maps alpha-3 and alpha-2 regions", () => {
    expect(phoneRegion("FRA")).toBe("FR");
    expect(phoneRegion("gb")).toBe("GB");
    expect(phoneRegion("D")).toBe("DE");
    expect(phoneRegion("XKX")).toBe("XK");
    expect(phoneRegion("UTO")).toBeUndefined();
    expect(phoneRegion(undefined)).toBeUndefined();
  });
});

describe("email", () => {
  it("trims and lower-cases local part and domain, converting the domain to ASCII", () => {
    expect(canonical("email", "  John.Doe@Example.COM ")).toBe("john.doe@example.com");
    expect(canonical("email", "Jöhn@Bücher.de")).toBe("jöhn@xn--bcher-kva.de");
    expect(canonical("email", "a@example.com.")).toBe("a@example.com");
  });

  it("adds a mailbox key without +tags, and without dots for gmail", () => {
    expect(normaliseEntity("email", "John.Doe+news@Gmail.com").keys).toEqual([
      "john.doe+news@gmail.com",
      "~mailbox:johndoe@gmail.com",
    ]);
    expect(normaliseEntity("email", "j.doe@googlemail.com").keys).toContain("~mailbox:jdoe@gmail.com");
    expect(normaliseEntity("email", "j.doe+x@example.org").keys).toContain("~mailbox:j.doe@example.org");
  });

  it("rejects invalid addresses", () => {
    for (const value of ["plainaddress", "@example.com", "john@", "john@localhost", "jo hn@example.com", "john..doe@example.com",
      ".john@example.com", "john@-example.com", "john@example.c0m", "john@[192.168.0.1]", `${"a".repeat(65)}@example.com`]) {
      expectInvalid("email", value, "email address is invalid");
    }
  });
});

describe("vehicle", () => {
  it("reads 17 characters as a VIN and verifies North-American check digits", () => {
    expect(vinCheckDigit("1HGCM82633A004352")).toBe("3");
    expect(vinCheckDigit("1M8GDM9AXKP042788")).toBe("X");
    expect(normaliseEntity("vehicle", "1hgcm8263 3a004352")).toEqual({ canonical: "VIN:1HGCM82633A004352", keys: ["VIN:1HGCM82633A004352"] });
    expect(canonical("vehicle", "1M8GDM9AXKP042788")).toBe("VIN:1M8GDM9AXKP042788");
    expectInvalid("vehicle", "1HGCM82643A004352", "vehicle VIN check digit is wrong");
  });

  it("does not check position 9 of VINs from outside North America", () => {
    expect(canonical("vehicle", "WVWZZZ1JZXW000001")).toBe("VIN:WVWZZZ1JZXW000001");
    expect(canonical("vehicle", "VF1AB000123456789")).toBe("VIN:VF1AB000123456789");
  });

  it("reads I, O and Q in a VIN as 1, 0 and 0", () => {
    expect(canonical("vehicle", "1HGCM82633AOO4352")).toBe("VIN:1HGCM82633A004352");
    expect(canonical("vehicle", "WVWZZZIJZXWQ00001")).toBe("VIN:WVWZZZ1JZXW000001");
  });

  it("normalises plates: Cyrillic and Greek look-alikes to Latin, separators dropped", () => {
    expect(normaliseEntity("vehicle", "А 123 ВС 77")).toEqual({ canonical: "PLATE:A123BC77", keys: ["PLATE:A123BC77", "~plate:A1238C77"] });
    expect(canonical("vehicle", "A123BC77")).toBe("PLATE:A123BC77");
    expect(canonical("vehicle", "ΙΚΧ-1234")).toBe("PLATE:IKX1234");
    expect(canonical("vehicle", "ab-123-cd")).toBe("PLATE:AB123CD");
    expect(canonical("vehicle", "京A·12345")).toBe("PLATE:京A12345");
    expect(canonical("vehicle", "١٢٣٤ أ ب")).toBe("PLATE:1234أب");
  });

  it("rejects values that are neither a VIN nor a plate", () => {
    expectInvalid("vehicle", " - ", "vehicle identifier is neither a 17-character VIN nor a plate");
    expectInvalid("vehicle", "ABCDEFGHJK1234", "vehicle identifier is neither a 17-character VIN nor a plate");
    expectInvalid("vehicle", "1HGCM82633A0043521", "vehicle identifier is neither a 17-character VIN nor a plate");
  });
});

describe("organisation", () => {
  it("strips legal forms in many languages and scripts", () => {
    const pairs: Array<[string, string]> = [
      ["Müller GmbH & Co. KG", "muller"],
      ["Siemens Aktiengesellschaft", "siemens"],
      ["Acme Ltd.", "acme"],
      ["ACME, Inc.", "acme"],
      ["Acme LLC", "acme"],
      ["Acme S.A.", "acme"],
      ["Acme S.à r.l.", "acme"],
      ["Acme SARL", "acme"],
      ["Ünal Tekstil A.Ş.", "tekstil unal"],
      ["Ünal Tekstil Ltd. Şti.", "tekstil unal"],
      ["Kowalski Sp. z o.o.", "kowalski"],
      ["ООО «Ромашка»", "romashka"],
      ["Ромашка ООО", "romashka"],
      ["شركة الأمل ذ.م.م", "lml"],
      ["华为技术有限公司", "huaweijishu"],
      ["The Boeing Company", "boeing"],
    ];
    for (const [value, expected] of pairs) expect([value, canonical("organisation", value)]).toEqual([value, expected]);
  });

  it("strips legal forms only at the ends and never empties the name", () => {
    expect(canonical("organisation", "SA Breweries International")).toBe("breweries international sa");
    expect(canonical("organisation", "GmbH")).toBe("gmbh");
    expect(canonical("organisation", "Co-op Bank Ltd")).toBe("bank co op");
  });

  it("sorts tokens and adds compact, skeleton and distinctive-token keys", () => {
    expect(canonical("organisation", "Trading Acme")).toBe(canonical("organisation", "acme trading"));
    expect(normaliseEntity("organisation", "Romashka Trading LLC").keys).toEqual([
      "romashka trading",
      "~compact:romashkatrading",
      "~skel:rmshktrdng",
      "~tok:romashka",
    ]);
  });

  it("rejects a name without letters or digits", () => {
    expectInvalid("organisation", " -- ", "organisation name has no letters or digits");
  });

  it("scores similar names above the threshold and different ones below", () => {
    expect(compareOrganisations("ООО Ромашка", "Romashka LLC")).toBe(1);
    expect(compareOrganisations("Acme Trading GmbH", "ACME Tradeing Ltd")).toBeGreaterThanOrEqual(ORGANISATION_MATCH_THRESHOLD);
    expect(compareOrganisations("Alpha Beta Ltd", "AlphaBeta Limited")).toBeGreaterThanOrEqual(ORGANISATION_MATCH_THRESHOLD);
    expect(compareOrganisations("Acme Trading", "Acme Holdings")).toBeLessThan(ORGANISATION_MATCH_THRESHOLD);
    expect(compareOrganisations("Acme", "Acme Trading")).toBeLessThan(ORGANISATION_MATCH_THRESHOLD);
    expect(compareOrganisations("Acme", "Zenith")).toBeLessThan(0.5);
    expect(compareOrganisations("", "Acme")).toBe(0);
  });
});

describe("precursor and device_component", () => {
  it("validates CAS check digits", () => {
    for (const cas of ["7722-84-1", "6484-52-2", "3811-04-9", "67-64-1", "75-52-5", "100-97-0", "124-47-0"]) {
      expect([cas, isValidCasNumber(cas)]).toEqual([cas, true]);
    }
    expect(isValidCasNumber("7722-84-2")).toBe(false);
    expect(isValidCasNumber("7722841")).toBe(false);
  });

  it("normalises designations: case, units, percentages, synonyms", () => {
    expect(canonical("precursor", "Hydrogen Peroxide 35 %")).toBe("hydrogen peroxide 35%");
    expect(canonical("precursor", "H2O2 35%")).toBe("hydrogen peroxide 35%");
    expect(canonical("precursor", "Eau oxygénée 35 pour cent")).toBe("hydrogen peroxide 35%");
    expect(canonical("precursor", "Wasserstoffperoxid 35 % w/w")).toBe("hydrogen peroxide 35%");
    expect(canonical("precursor", "ammonium nitrate 34,5 %")).toBe("ammonium nitrate 34.5%");
    expect(canonical("precursor", "nitrate d'ammonium")).toBe("ammonium nitrate");
    expect(canonical("precursor", "AN 34%")).toBe("ammonium nitrate 34%");
    expect(canonical("precursor", "an acid")).toBe("an acid");
    expect(canonical("precursor", "Calcium ammonium nitrate")).toBe("calcium ammonium nitrate");
    expect(canonical("precursor", "KClO3")).toBe("potassium chlorate");
    expect(canonical("precursor", "Aceton 1,5 Liter")).toBe("acetone 1.5l");
    expect(canonical("precursor", "Urotropin")).toBe("hexamine");
    expect(canonical("precursor", "CH3NO2")).toBe("nitromethane");
    expect(canonical("precursor", "urea nitrate")).toBe("urea nitrate");
    expect(canonical("device_component", "9 Volt battery")).toBe("9v battery");
    expect(canonical("device_component", "Blasting cap")).toBe("detonator");
    expect(canonical("device_component", "HP")).toBe("hp"); // precursor abbreviations stay precursor-only
  });

  it("recognises CAS numbers anywhere and keys names by their CAS number too", () => {
    expect(normaliseEntity("precursor", "7722-84-1")).toEqual({ canonical: "cas:7722-84-1", keys: ["cas:7722-84-1", "~cas:7722-84-1"] });
    expect(normaliseEntity("precursor", "CAS No. 7722-84-1 hydrogen peroxide 12%")).toEqual({
      canonical: "hydrogen peroxide 12%",
      keys: ["hydrogen peroxide 12%", "~cas:7722-84-1", "~sub:hydrogen peroxide"],
    });
    expect(normaliseEntity("precursor", "H2O2 35%").keys).toContain("~cas:7722-84-1");
  });

  it("rejects a wrong CAS check digit, naming the type", () => {
    expectInvalid("precursor", "hydrogen peroxide 7722-84-2", "precursor CAS number check digit is wrong");
    expectInvalid("device_component", "7722-84-2", "device_component CAS number check digit is wrong");
    expectInvalid("precursor", " % ", "precursor designation has no letters or digits");
  });
});

describe("entitiesMatch", () => {
  it("matches phones on E.164, with each side's region", () => {
    expect(entitiesMatch("phone", "06 12 34 56 78", "+33612345678", { queryRegion: "FRA" })).toEqual({ match: true, score: 1, features: ["phone_e164"] });
    expect(entitiesMatch("phone", "+33612345678", "06 12 34 56 78", { recordRegion: "FRA" }).match).toBe(true);
    expect(entitiesMatch("phone", "+32612345678", "+33612345678").match).toBe(false);
  });

  it("throws InvalidArgument for an invalid query and never matches an invalid record", () => {
    expect(() => entitiesMatch("phone", "06 12 34 56 78", "+33612345678")).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: "phone number needs a country code" }),
    );
    expect(entitiesMatch("phone", "+33612345678", "06 12 34 56 78")).toEqual({ match: false, score: 0, features: [] });
  });

  it("matches e-mail addresses exactly or as mailbox aliases", () => {
    expect(entitiesMatch("email", "John.Doe@Gmail.com", "john.doe@gmail.com").features).toEqual(["email_exact"]);
    expect(entitiesMatch("email", "johndoe+x@googlemail.com", "john.doe@gmail.com")).toEqual({ match: true, score: 0.9, features: ["email_mailbox_alias"] });
    expect(entitiesMatch("email", "johndoe@example.com", "john.doe@example.com").match).toBe(false);
  });

  it("matches vehicles by VIN, plate and plate look-alikes", () => {
    expect(entitiesMatch("vehicle", "1HGCM82633A004352", "1HGCM82633AOO4352").features).toEqual(["vin"]);
    expect(entitiesMatch("vehicle", "А123ВС77", "A 123 BC 77").features).toEqual(["plate"]);
    expect(entitiesMatch("vehicle", "AB 123 CO", "AB-123-C0")).toEqual({ match: true, score: 0.85, features: ["plate_look_alike"] });
    expect(entitiesMatch("vehicle", "AB123CD", "AB123CE").match).toBe(false);
  });

  it("matches organisations at or above the threshold", () => {
    expect(entitiesMatch("organisation", "ООО Ромашка", "Romashka LLC").features).toEqual(["organisation_exact"]);
    const fuzzy = entitiesMatch("organisation", "Acme Tradeing", "ACME Trading GmbH");
    expect(fuzzy.match).toBe(true);
    expect(fuzzy.features).toEqual(["organisation_fuzzy"]);
    expect(fuzzy.score).toBeLessThan(1);
    expect(entitiesMatch("organisation", "Acme Trading", "Acme Holdings").match).toBe(false);
  });

  it("matches precursors by CAS number or designation, flagging different quantities", () => {
    expect(entitiesMatch("precursor", "H2O2 35%", "hydrogen peroxide 35 %").features).toEqual(["designation"]);
    expect(entitiesMatch("precursor", "7722-84-1", "Eau oxygénée")).toEqual({ match: true, score: 1, features: ["cas_number"] });
    expect(entitiesMatch("precursor", "H2O2 35%", "hydrogen peroxide 12%")).toEqual({
      match: true,
      score: 0.8,
      features: ["cas_number", "designation", "quantity_differs"],
    });
    expect(entitiesMatch("precursor", "hydrogen peroxide", "hydrogen peroxide 12%").score).toBe(1);
    expect(entitiesMatch("precursor", "acetone", "7722-84-1").match).toBe(false);
    expect(entitiesMatch("device_component", "cell phone", "Mobile phone").match).toBe(true);
    expect(entitiesMatch("device_component", "timer", "detonator").match).toBe(false);
  });
});
