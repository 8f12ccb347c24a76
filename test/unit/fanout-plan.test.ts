import { describe, expect, it } from "vitest";
import { benchCountryCodes } from "../../bench/stats.ts";
import { MATCH_SHARD_COUNT, matchCountrySubject, matchShardOf, matchShardSubject, nodeMatchSubjects } from "../../common/subjects.ts";
import { FanoutPlanner } from "../../coordinator/fanout-plan.ts";

describe("match shards", () => {
  it("are FNV-1a of the ISO3 code modulo 16 (the values deploy/nats configs list)", () => {
    expect(MATCH_SHARD_COUNT).toBe(16);
    // FNV-1a 32: FRA 0x3eb24090, DEU 0x5d0f1d95, ESP 0xf950d27b.
    expect([matchShardOf("FRA"), matchShardOf("DEU"), matchShardOf("ESP")]).toEqual([0, 5, 11]);
    expect(nodeMatchSubjects("DEU")).toEqual(["watchmesh.v1.match.all", "watchmesh.v1.match.shard.5", "watchmesh.v1.match.country.DEU"]);
  });

  it("spread 196 countries over every shard", () => {
    const sizes = new Array<number>(MATCH_SHARD_COUNT).fill(0);
    for (const country of benchCountryCodes(196)) sizes[matchShardOf(country)]! += 1;
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16);
  });
});

describe("FanoutPlanner", () => {
  const countries = benchCountryCodes(196);
  const planner = new FanoutPlanner(countries);

  /** Every asked country must be reached by exactly one target, and nobody else. */
  function reached(targets: ReturnType<FanoutPlanner["plan"]>["targets"]): string[] {
    return targets.flatMap((target) => target.countries).sort();
  }

  it("asks every country with one message per shard", () => {
    const { targets, targetOf } = planner.planForAll();
    expect(planner.planForAll()).toBe(planner.planForAll());
    for (const country of countries) expect(targets[targetOf.get(country)!]!.countries).toContain(country);
    expect(targets).toHaveLength(MATCH_SHARD_COUNT);
    expect(reached(targets)).toEqual([...countries].sort());
    for (const target of targets) {
      const shard = matchShardOf(target.countries[0]!);
      expect(target.subject).toBe(matchShardSubject(shard));
      expect(target.countries.every((country) => matchShardOf(country) === shard)).toBe(true);
    }
  });

  it("asks some countries on their own subjects, so that the rest of their shards hear nothing", () => {
    const asked = countries.slice(0, 5);
    const { targets, targetOf } = planner.plan([...asked, asked[0]!]);
    expect([...targetOf.keys()].sort()).toEqual([...asked].sort());
    for (const country of asked) expect(targets[targetOf.get(country)!]!.countries).toEqual([country]);
    expect(targets.map((target) => target.subject).sort()).toEqual(asked.map(matchCountrySubject).sort());
    expect(reached(targets)).toEqual([...asked].sort());
  });

  it("uses a shard subject for a whole shard and country subjects for the part of another", () => {
    const shardOfFirst = matchShardOf(countries[0]!);
    const wholeShard = countries.filter((country) => matchShardOf(country) === shardOfFirst);
    const other = countries.find((country) => matchShardOf(country) !== shardOfFirst)!;
    const { targets } = planner.plan([...wholeShard, other]);
    expect(targets.map((target) => target.subject).sort()).toEqual([matchShardSubject(shardOfFirst), matchCountrySubject(other)].sort());
    expect(reached(targets)).toEqual([...wholeShard, other].sort());
  });

  it("sends a lone country of its shard its own subject", () => {
    const lonely = new FanoutPlanner(["FRA", "DEU"]);
    expect(lonely.plan(["FRA", "DEU"]).targets.map((target) => target.subject)).toEqual([matchCountrySubject("FRA"), matchCountrySubject("DEU")]);
  });
});
