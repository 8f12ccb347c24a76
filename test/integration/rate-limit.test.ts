import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// A rate this low never refills during the test: the bursts alone decide.
const NO_REFILL = 0.000_001;

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh({
    countries: ["DEU", "ESP"],
    coordinatorOptions: { rateLimit: { perSecond: NO_REFILL, burst: 3 } },
    nodeOptions: (country) => (country === "DEU" ? { rateLimit: { perSecond: NO_REFILL, burst: 1 } } : {}),
  });
});
afterAll(async () => {
  await mesh?.stop();
});

describe("rate limits per requester", () => {
  it("refuse a node's answers past its limit and the coordinator's checks past its own, typed RATE_LIMITED", async () => {
    const traveller = { person: { names: ["Jean Dupont"], dob: "1980-05-01" } };
    const first = await mesh.client.check(traveller);
    expect(first.results.map((result) => [result.country, result.status])).toEqual([["DEU", "no_hit"], ["ESP", "no_hit"]]);
    // DEU's burst of one is spent: it refuses this border police; ESP still answers.
    for (let check = 0; check < 2; check++) {
      const limited = await mesh.client.check(traveller);
      expect(limited.results).toEqual([
        expect.objectContaining({ country: "DEU", status: "refused", errorCode: ErrorCode.RateLimited }),
        expect.objectContaining({ country: "ESP", status: "no_hit" }),
      ]);
    }
    // The coordinator's burst of three is spent: the fourth check is refused before any fan-out.
    const answeredBefore = mesh.nodes.get("ESP")?.queriesAnswered;
    await expect(mesh.client.check(traveller)).rejects.toMatchObject({ code: ErrorCode.RateLimited });
    expect(mesh.nodes.get("ESP")?.queriesAnswered).toBe(answeredBefore);
    expect(mesh.coordinator.rejectionCounts()).toEqual({ [ErrorCode.RateLimited]: 1 });
  });
});
