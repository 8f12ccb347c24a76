import { describe, expect, it } from "vitest";
import type { CheckResult } from "../../client/border-client.ts";
import { ACTION_INSTRUCTIONS, renderCheck } from "../../client/cli/render.ts";

const result = (action: "discreet_check" | "arrest"): CheckResult => ({
  queryId: "q-1",
  traceId: "t-1",
  results: [
    { country: "DEU", status: "hit", hits: [{ reference: "DEU-R-ABCDEFGHIJKLMNOPQRST", score: 0.97, category: "person", action, matchedFeatures: ["name", "dob"] }], ms: 3 },
    { country: "ESP", status: "no_hit", hits: [], ms: 2 },
  ],
});

describe("the officer's check screen", () => {
  it("shows the table with reference and score for an ordinary hit", () => {
    const screen = renderCheck(result("arrest"), "== check");
    expect(screen).toContain("DEU-R-ABCDEFGHIJKLMNOPQRST");
    expect(screen).toContain("HIT");
    expect(screen).toContain(ACTION_INSTRUCTIONS.arrest);
  });

  it("shows nothing but the instruction for a discreet check", () => {
    const screen = renderCheck(result("discreet_check"), "== check");
    expect(screen).toContain(ACTION_INSTRUCTIONS.discreet_check);
    for (const hidden of ["DEU-R-", "HIT", "0.97", "name,dob", "DEU", "ESP"]) expect(screen).not.toContain(hidden);
  });
});
