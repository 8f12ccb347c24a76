import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { Purpose } from "../../common/proto.ts";
import { QuotaLedger } from "../../node/quota-ledger.ts";
import { queryCategories, SharingPolicy } from "../../node/sharing-policy.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";

const policy = SharingPolicy.parse(
  JSON.stringify({
    format: "watchmesh-sharing-policy/v1",
    rules: [
      { countries: ["FRA"], agencies: ["border-police"], purposes: ["border_check"], categories: ["person"], dailyQuota: 2 },
      { countries: ["*"], purposes: ["investigation"], categories: ["person", "document", "entity", "dna", "face"] },
    ],
  }),
);

describe("SharingPolicy", () => {
  it("lets the first rule naming the requester decide", () => {
    expect(policy.admit(makeQuery())).toEqual({ requester: "FRA/border-police", dailyQuota: 2 });
    // FRA's other agencies fall through to the catch-all rule, which allows investigations only.
    expect(policy.admit(makeQuery({ requestingAgency: "gendarmerie", purpose: Purpose.Investigation }))).toEqual({ requester: "FRA/gendarmerie", dailyQuota: undefined });
    expect(() => policy.admit(makeQuery({ requestingAgency: "gendarmerie" }))).toThrow(expect.objectContaining({ code: ErrorCode.PolicyPurposeDenied }));
  });

  it("refuses categories the rule does not list, naming them", () => {
    const withDocument = makeQuery({ person: personSubject({ names: ["Jean Dupont"], documents: [{ type: "passport", number: "X1", country: "FRA" }] }) });
    expect(() => policy.admit(withDocument)).toThrow(expect.objectContaining({ code: ErrorCode.PolicyCategoryDenied, message: expect.stringContaining("document") }));
  });

  it("refuses everyone when no rule names them", () => {
    const strict = SharingPolicy.parse(JSON.stringify({ format: "watchmesh-sharing-policy/v1", rules: [] }));
    expect(() => strict.admit(makeQuery())).toThrow(expect.objectContaining({ code: ErrorCode.PolicyRequesterDenied }));
  });

  it("admits aggregate queries only under purpose analysis and category statistics, and reads the analysis settings", () => {
    const analysis = SharingPolicy.parse(
      JSON.stringify({
        format: "watchmesh-sharing-policy/v1",
        rules: [{ countries: ["*"], purposes: ["analysis"], categories: ["statistics"] }],
        analysis: { minCellCount: 10, maxEpsilon: 1 },
      }),
    );
    const request = { requestingCountry: "FRA", requestingAgency: "analysis-unit", purpose: Purpose.Analysis };
    expect(analysis.admitRequest(request, ["statistics"])).toEqual({ requester: "FRA/analysis-unit", dailyQuota: undefined });
    expect(analysis.analysis).toEqual({ minCellCount: 10, maxEpsilon: 1, requireNoise: false });
    // The policy above allows no statistics: its rules list other categories.
    expect(() => policy.admitRequest({ ...request, purpose: Purpose.Investigation }, ["statistics"])).toThrow(expect.objectContaining({ code: ErrorCode.PolicyCategoryDenied }));
    expect(policy.analysis).toEqual({ minCellCount: 5, requireNoise: false });
    expect(() => SharingPolicy.parse(JSON.stringify({ format: "watchmesh-sharing-policy/v1", rules: [], analysis: { minCellCount: 0 } }))).toThrow(
      expect.objectContaining({ code: ErrorCode.ConfigInvalid, message: expect.stringContaining("analysis.minCellCount") }),
    );
  });

  it("rejects an invalid policy file with CONFIG_INVALID naming the field", () => {
    const bad = (document: unknown) => () => SharingPolicy.parse(JSON.stringify(document));
    expect(bad({ format: "watchmesh-sharing-policy/v1", rules: [{ countries: ["FRANCE"], purposes: ["border_check"], categories: ["person"] }] })).toThrow(
      expect.objectContaining({ code: ErrorCode.ConfigInvalid, message: expect.stringContaining("rules.0.countries.0") }),
    );
    expect(bad({ format: "watchmesh-sharing-policy/v1", rules: [{ countries: ["FRA"], purposes: ["spying"], categories: ["person"] }] })).toThrow(
      expect.objectContaining({ code: ErrorCode.ConfigInvalid }),
    );
    expect(() => SharingPolicy.parse("{")).toThrow(expect.objectContaining({ code: ErrorCode.ConfigInvalid }));
  });

  it("derives the categories a query searches", () => {
    expect(queryCategories(makeQuery({ person: personSubject({ names: ["A B"], mrz: ["P<FRA"], dna: { loci: { VWA: "17,18" }, markerSet: "" } }) }))).toEqual([
      "person",
      "document",
      "dna",
    ]);
    expect(queryCategories(makeQuery({ person: undefined, entity: { type: "phone", value: "+33612345678" } }))).toEqual(["entity"]);
  });
});

describe("QuotaLedger", () => {
  it("counts per requester and UTC day, refuses past the quota, and starts afresh the next day", async () => {
    const saved = new Map<string, number>();
    const store = {
      recordQuotaUse: (day: string, requester: string, count: number) => saved.set(`${day}|${requester}`, count),
      quotaUses: (day: string) => new Map([...saved].filter(([key]) => key.startsWith(`${day}|`)).map(([key, count]) => [key.split("|")[1] ?? "", count])),
    };
    const ledger = new QuotaLedger(store);
    const admission = { requester: "FRA/border-police", dailyQuota: 2 };
    const day1 = Date.parse("2026-11-25T23:59:00Z");
    ledger.charge(admission, day1);
    ledger.charge(admission, day1);
    expect(() => ledger.charge(admission, day1)).toThrow(expect.objectContaining({ code: ErrorCode.QuotaExhausted }));
    expect(ledger.used("FRA/border-police", day1)).toBe(2);
    // Another requester has its own count; a new ledger on the same store remembers the day.
    ledger.charge({ requester: "DEU/bka", dailyQuota: 2 }, day1);
    // Counts reach the store once per burst of queries.
    expect(saved.get("2026-11-25|DEU/bka")).toBeUndefined();
    await ledger.flush();
    expect(saved.get("2026-11-25|DEU/bka")).toBe(1);
    expect(() => new QuotaLedger(store).charge(admission, day1)).toThrow(expect.objectContaining({ code: ErrorCode.QuotaExhausted }));
    ledger.charge(admission, day1 + 2 * 60_000);
    await ledger.flush();
    expect(saved.get("2026-11-26|FRA/border-police")).toBe(1);
  });
});
