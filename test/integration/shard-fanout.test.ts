import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../common/nats-connection.ts";
import { PAIR_TAG_RECORD_BYTES } from "../../common/pair-tags.ts";
import { decodeEnvelope } from "../../common/proto.ts";
import { matchCountrySubject, matchShardOf, matchShardSubject } from "../../common/subjects.ts";
import type { NativeRecord } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// DEU, CAN and ARM share shard 5, ESP and ISL shard 11; ITA is alone in shard 3 of this registry.
const COUNTRIES = ["DEU", "CAN", "ARM", "ESP", "ISL", "ITA"];
const records: Record<string, NativeRecord[]> = {
  CAN: [{ kind: "person", id: "CAN-P-1", names: ["Marie Tremblay"], dob: "1979-11-02", nationality: ["CAN"], sex: "F", action: "discreet_check" }],
  ISL: [{ kind: "person", id: "ISL-P-1", names: ["Marie Tremblay"], dob: "1979-11-02", nationality: ["CAN"], sex: "F", action: "arrest" }],
};

interface Seen {
  subject: string;
  tagRecords: number;
}

let mesh: TestMesh;
let spy: Awaited<ReturnType<typeof connectNats>>;
const seen: Seen[] = [];

beforeAll(async () => {
  mesh = await startTestMesh({ countries: COUNTRIES, records, defaultDeadlineMs: 3000 });
  // Everything published on the match subjects, with how many tag records it carries.
  spy = await connectNats({ servers: mesh.nats.url, name: "spy" });
  spy.subscribe("watchmesh.v1.match.>", {
    callback: (error, msg) => {
      if (!error) seen.push({ subject: msg.subject, tagRecords: (decodeEnvelope(msg.data).tags?.length ?? 0) / PAIR_TAG_RECORD_BYTES });
    },
  });
  await spy.flush();
});
afterAll(async () => {
  await spy?.close();
  await mesh?.stop();
});

/** What the coordinator published for one check: every message reached the spy before the nodes answered. */
async function publishedFor(check: () => Promise<unknown>): Promise<Seen[]> {
  seen.length = 0;
  await check();
  await spy.flush();
  return [...seen].sort((a, b) => a.subject.localeCompare(b.subject));
}

describe("fan-out on shard subjects", () => {
  it("the shard plan of this registry is the one the test expects", () => {
    expect(COUNTRIES.map(matchShardOf)).toEqual([5, 5, 5, 11, 11, 3]);
  });

  it("asks every country with one message per shard, each carrying only its countries' tag records, and every country answers", async () => {
    let result: Awaited<ReturnType<TestMesh["client"]["check"]>> | undefined;
    const published = await publishedFor(async () => {
      result = await mesh.client.check({ person: { names: ["Marie Tremblay"], dob: "1979-11-02" } });
    });
    expect(published).toEqual([
      { subject: matchCountrySubject("ITA"), tagRecords: 1 },
      { subject: matchShardSubject(11), tagRecords: 2 },
      { subject: matchShardSubject(5), tagRecords: 3 },
    ]);
    const status = Object.fromEntries((result?.results ?? []).map((each) => [each.country, each.status]));
    expect(status).toEqual({ ARM: "no_hit", CAN: "hit", DEU: "no_hit", ESP: "no_hit", ISL: "hit", ITA: "no_hit" });
  });

  it("asks part of a shard on the countries' own subjects, so that the rest of the shard hears nothing", async () => {
    let result: Awaited<ReturnType<TestMesh["client"]["check"]>> | undefined;
    const published = await publishedFor(async () => {
      result = await mesh.client.check({ person: { names: ["Marie Tremblay"], dob: "1979-11-02" } }, { countries: ["CAN", "ISL", "ESP"] });
    });
    expect(published).toEqual([
      { subject: matchCountrySubject("CAN"), tagRecords: 1 },
      { subject: matchShardSubject(11), tagRecords: 2 },
    ]);
    expect((result?.results ?? []).map((each) => `${each.country}:${each.status}`).sort()).toEqual(["CAN:hit", "ESP:no_hit", "ISL:hit"]);
  });
});
