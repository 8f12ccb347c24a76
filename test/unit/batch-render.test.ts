import { describe, expect, it } from "vitest";
import type { BatchCheckResult, CountryCheckResult } from "../../client/border-client.ts";
import { batchJsonLines, renderBatch } from "../../client/cli/batch-render.ts";
import type { Manifest } from "../../client/cli/manifest.ts";
import { ACTION_INSTRUCTIONS } from "../../client/cli/render.ts";

const subject = { person: { names: ["A B"] } };
const manifest: Manifest = {
  travellers: [
    { line: 1, subject },
    { line: 2, subject },
    { line: 4, subject },
    { line: 5, subject },
  ],
  rejected: [{ line: 3, code: "INVALID_ARGUMENT", message: "query is not valid JSON" }],
};

const noHit = (country: string): CountryCheckResult => ({ country, status: "no_hit", hits: [], ms: 4 });
const down = (country: string): CountryCheckResult => ({ country, status: "unavailable", hits: [], ms: 900 });
const hit = (country: string, action: "arrest" | "discreet_check"): CountryCheckResult => ({
  country,
  status: "hit",
  hits: [{ reference: `${country}-R-SECRETREF`, score: 0.93, category: "person", action, matchedFeatures: ["name", "dob"] }],
  ms: 5,
});

const result: BatchCheckResult = {
  traceId: "trace-1",
  travellers: [
    { queryId: "q1", results: [noHit("DEU"), noHit("ESP"), down("UKR")] },
    { queryId: "q2", results: [hit("DEU", "arrest"), noHit("ESP"), down("UKR")] },
    { queryId: "q4", results: [noHit("DEU"), hit("ESP", "discreet_check"), down("UKR")] },
    { queryId: "q5", results: [noHit("DEU"), { country: "ESP", status: "refused", hits: [], ms: 3, errorCode: "INVALID_MRZ" }, down("UKR")] },
  ],
};

describe("the batch screen", () => {
  const screen = renderBatch(manifest, result);

  it("lists hits and refusals by manifest line, and a country that answered nobody once", () => {
    expect(screen).toMatch(/^2\s+DEU\s+HIT\s+arrest\s+0\.93\s+DEU-R-SECRETREF\s+name,dob$/m);
    expect(screen).toMatch(/^5\s+ESP\s+refused \(INVALID_MRZ\)$/m);
    expect(screen).toContain("UKR: unavailable for all 4 travellers");
    expect(screen).not.toMatch(/^\d+\s+UKR/m);
    expect(screen).not.toMatch(/^1\s+[A-Z]{3}\s/m); // line 1: no hit anywhere
    expect(screen).toContain("  line 3: INVALID_ARGUMENT query is not valid JSON");
    expect(screen).toContain(`-> ${ACTION_INSTRUCTIONS.arrest}`);
  });

  it("shows only the instruction for a traveller under a discreet check", () => {
    expect(screen).toContain(`line 4  -> ${ACTION_INSTRUCTIONS.discreet_check}`);
    expect(screen).not.toContain("ESP-R-SECRETREF");
    expect(screen).not.toMatch(/^4\s+ESP/m);
  });

  it("prints one JSON object per manifest line, rejected lines in their place", () => {
    const lines = batchJsonLines(manifest, result).map((line) => JSON.parse(line) as { line: number; queryId?: string; traceId?: string; rejected?: unknown });
    expect(lines.map((entry) => entry.line)).toEqual([1, 2, 3, 4, 5]);
    expect(lines[1]).toMatchObject({ line: 2, queryId: "q2", traceId: "trace-1" });
    expect(lines[2]).toEqual({ line: 3, rejected: { code: "INVALID_ARGUMENT", message: "query is not valid JSON" } });
    expect(JSON.stringify(lines[3])).toContain("ESP-R-SECRETREF"); // the back office sees everything
  });
});
