import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials as grpcCredentials, type Client } from "@grpc/grpc-js";
import { previousMonth } from "../../common/aggregate-query.ts";
import { openAggregateAnswer } from "../../common/aggregate-query.ts";
import { ErrorCode } from "../../common/errors.ts";
import { AggregateStatus, decodeAggregateAnswer, watchmeshGrpcPackage, type SignedEnvelope } from "../../common/proto.ts";
import { sha256 } from "../../common/signing.ts";
import { AnalystClient, type AggregateResult, type CountryAggregate } from "../../client/analyst-client.ts";
import { SharingPolicy, type NativeRecord } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

const thisMonth = new Date().toISOString().slice(0, 7);
const lastMonth = previousMonth(thisMonth);
const twoMonthsAgo = previousMonth(lastMonth);

function precursors(country: string, month: string, count: number, designation: string, from = 0): NativeRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: "entity",
    id: `${country}-P-${month}-${from + i}`,
    type: "precursor",
    value: `Lot ${country} ${month} ${from + i}`,
    designation,
    recordedAt: `${month}-01`,
  }));
}

function persons(country: string, month: string, count: number): NativeRecord[] {
  return Array.from({ length: count }, (_, i) => ({ kind: "person", id: `${country}-${month}-${i}`, names: [`Person ${country} ${i}`], recordedAt: `${month}-01` }));
}

const records: Record<string, NativeRecord[]> = {
  // DEU: a rise of ammonium nitrate, 3 (suppressed) then 6, and persons; one record with no date.
  DEU: [
    ...precursors("DEU", twoMonthsAgo, 3, "Ammonium nitrate"),
    ...precursors("DEU", lastMonth, 6, "ammonium_nitrate"),
    ...persons("DEU", thisMonth, 7),
    { kind: "person", id: "DEU-undated", names: ["No Date"] },
  ],
  ESP: [...precursors("ESP", lastMonth, 5, "AMMONIUM-NITRATE"), ...precursors("ESP", lastMonth, 5, "glitter", 100)],
  NGA: [
    { kind: "entity", id: "NGA-D-1", type: "device_component", value: "Timer TX-1", designation: "timer", recordedAt: `${thisMonth}-01` },
    ...persons("NGA", lastMonth, 2),
  ],
};

function policyWith(analysis: object, categories = ["person", "document", "entity", "dna", "face", "statistics"]): SharingPolicy {
  return SharingPolicy.parse(
    JSON.stringify({ format: "watchmesh-sharing-policy/v1", rules: [{ countries: ["*"], purposes: ["border_check", "analysis"], categories }], analysis }),
  );
}

function country(result: AggregateResult, code: string): CountryAggregate {
  const found = result.countries.find((line) => line.country === code);
  if (!found) throw new Error(`no line for ${code}`);
  return found;
}

describe("federated aggregate queries over a real mesh", () => {
  let mesh: TestMesh;
  let analyst: AnalystClient;

  beforeAll(async () => {
    mesh = await startTestMesh({ countries: ["DEU", "ESP", "FRA", "NGA"], records });
    // NGA releases even single counts (k = 1) so a single hit shows; FRA does not share statistics.
    mesh.nodes.get("NGA")?.updateSharingPolicy(policyWith({ minCellCount: 1 }));
    mesh.nodes.get("FRA")?.updateSharingPolicy(policyWith({}, ["person"]));
    analyst = await AnalystClient.connect({ coordinatorAddress: `127.0.0.1:${mesh.coordinator.grpcPort}`, identity: mesh.trust.analyst, registry: mesh.trust.registry });
  }, 60_000);

  afterAll(async () => {
    analyst?.close();
    await mesh?.stop();
  });

  it("counts records per month, category and designation, suppresses small cells and sums per region", async () => {
    // A hit at NGA, so the hit count has something to count.
    const check = await mesh.client.check({ entity: { type: "device_component", value: "Timer TX-1" } }, { countries: ["NGA"] });
    expect(check.results[0]?.status).toBe("hit");

    const result = await analyst.aggregate({ fromMonth: twoMonthsAgo, toMonth: thisMonth });
    const deu = country(result, "DEU");
    expect(deu.status).toBe("answered");
    expect(deu.minCellCount).toBe(5);
    expect(deu.cells).toContainEqual({ measure: "records", month: lastMonth, category: "precursor", designation: "ammonium_nitrate", count: 6, suppressed: false });
    expect(deu.cells).toContainEqual({ measure: "records", month: twoMonthsAgo, category: "precursor", designation: "ammonium_nitrate", count: 0, suppressed: true });
    expect(deu.cells).toContainEqual({ measure: "records", month: thisMonth, category: "person", designation: "", count: 7, suppressed: false });
    expect(deu.suppressedCells).toBe(1);
    // One undated record: below k, so released as 0.
    expect(deu.undatedRecords).toBe(0);

    const esp = country(result, "ESP");
    expect(esp.cells).toEqual([
      { measure: "records", month: lastMonth, category: "precursor", designation: "ammonium_nitrate", count: 5, suppressed: false },
      { measure: "records", month: lastMonth, category: "precursor", designation: "other", count: 5, suppressed: false },
    ]);

    const nga = country(result, "NGA");
    expect(nga.region).toBe("Africa");
    expect(nga.cells).toContainEqual({ measure: "hits", month: thisMonth, category: "device_component", designation: "timer", count: 1, suppressed: false });
    expect(nga.cells).toContainEqual({ measure: "records", month: lastMonth, category: "person", designation: "", count: 2, suppressed: false });

    const fra = country(result, "FRA");
    expect(fra).toMatchObject({ status: "refused", errorCode: ErrorCode.PolicyCategoryDenied, cells: [] });

    const europe = result.totals.find((total) => total.region === "Europe");
    expect(europe).toMatchObject({ countries: 2, suppressedCells: 1 });
    expect(europe?.cells).toContainEqual({ measure: "records", month: lastMonth, category: "precursor", designation: "ammonium_nitrate", count: 11, suppressed: false });
    const overall = result.totals.find((total) => total.region === "");
    expect(overall?.countries).toBe(3);
    expect(overall?.cells).toContainEqual({ measure: "records", month: thisMonth, category: "person", designation: "", count: 7, suppressed: false });
  });

  it("groups only by what is asked and filters categories", async () => {
    const result = await analyst.aggregate({ fromMonth: twoMonthsAgo, toMonth: thisMonth, groupBy: ["category"], categories: ["precursor"] });
    expect(country(result, "DEU").cells).toEqual([{ measure: "records", month: "", category: "precursor", designation: "", count: 9, suppressed: false }]);
    expect(country(result, "ESP").cells).toEqual([{ measure: "records", month: "", category: "precursor", designation: "", count: 10, suppressed: false }]);
  });

  it("adds noise when asked and still releases no count below k", async () => {
    const result = await analyst.aggregate({ fromMonth: twoMonthsAgo, toMonth: thisMonth, epsilon: 0.5 });
    const deu = country(result, "DEU");
    expect(deu.epsilon).toBe(0.5);
    for (const cell of deu.cells) expect(cell.suppressed ? cell.count === 0 : cell.count >= 5).toBe(true);
  });

  it("lets a node's policy refuse exact counts and large epsilons", async () => {
    mesh.nodes.get("ESP")?.updateSharingPolicy(policyWith({ requireNoise: true, maxEpsilon: 1 }));
    try {
      const exact = await analyst.aggregate({ fromMonth: lastMonth, toMonth: thisMonth, countries: ["ESP"] });
      expect(country(exact, "ESP")).toMatchObject({ status: "refused", errorCode: ErrorCode.PolicyPrivacyDenied });
      const tooLarge = await analyst.aggregate({ fromMonth: lastMonth, toMonth: thisMonth, countries: ["ESP"], epsilon: 2 });
      expect(country(tooLarge, "ESP")).toMatchObject({ status: "refused", errorCode: ErrorCode.PolicyPrivacyDenied });
      const noised = await analyst.aggregate({ fromMonth: lastMonth, toMonth: thisMonth, countries: ["ESP"], epsilon: 1 });
      expect(country(noised, "ESP")).toMatchObject({ status: "answered", epsilon: 1 });
    } finally {
      mesh.nodes.get("ESP")?.updateSharingPolicy(SharingPolicy.allowAll());
    }
  });

  it("refuses a border key at the coordinator and a replayed query at the node", async () => {
    const border = await AnalystClient.connect({
      coordinatorAddress: `127.0.0.1:${mesh.coordinator.grpcPort}`,
      identity: { ...mesh.trust.border, role: "analyst" },
      registry: mesh.trust.registry,
    });
    try {
      await expect(border.aggregate({ fromMonth: lastMonth, toMonth: thisMonth })).rejects.toMatchObject({ code: ErrorCode.RoleNotAllowed });
    } finally {
      border.close();
    }

    // Straight to DEU's gRPC CountryNode.Aggregate, twice with the same signed query.
    const { envelope } = analyst.buildQuery({ fromMonth: lastMonth, toMonth: thisMonth });
    const Constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as new (address: string, credentials: unknown) => Client & {
      Aggregate(request: SignedEnvelope, callback: (error: Error | null, answer?: SignedEnvelope) => void): void;
    };
    const node = new Constructor(`127.0.0.1:${mesh.nodes.get("DEU")?.grpcPort ?? 0}`, grpcCredentials.createInsecure());
    const ask = () => new Promise<SignedEnvelope>((resolve, reject) => node.Aggregate(envelope, (error, answer) => (error || !answer ? reject(error ?? new Error("no answer")) : resolve(answer))));
    try {
      const first = openAggregateAnswer(await ask(), mesh.trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(envelope.payload) });
      expect(first.status).toBe(AggregateStatus.Answered);
      const second = decodeAggregateAnswer((await ask()).payload);
      expect(second).toMatchObject({ status: AggregateStatus.Refused, errorCode: ErrorCode.QueryReplayed, cells: [] });
    } finally {
      node.close();
    }
  });

  it("writes aggregate queries to the node's audit log without record data", async () => {
    const before = mesh.nodes.get("DEU")?.queriesAnswered;
    const result = await analyst.aggregate({ fromMonth: lastMonth, toMonth: thisMonth, countries: ["DEU"] });
    expect(country(result, "DEU").status).toBe("answered");
    // Aggregate queries are not match queries: the match counter is unchanged.
    expect(mesh.nodes.get("DEU")?.queriesAnswered).toBe(before);
    await mesh.nodes.get("DEU")?.stop();
    const { readAuditSnapshot } = await import("../../node/audit-log.ts");
    const snapshot = await readAuditSnapshot(mesh.dataDir("DEU"));
    const entries = snapshot.entries.map(({ value }) => value as { queryId: string; status: string; purpose: string; hitReferences: string[] });
    const entry = entries.find((candidate) => candidate.queryId === result.queryId);
    expect(entry).toMatchObject({ status: "aggregate", purpose: "PURPOSE_ANALYSIS", hitReferences: [] });
    expect(JSON.stringify(entries)).not.toContain("Person DEU");
  });
});
