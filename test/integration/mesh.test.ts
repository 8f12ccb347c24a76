import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { createIdentity, MemberRole } from "../../common/key-files.ts";
import type { MatchQuery } from "../../common/proto.ts";
import type { NativeRecord } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";

const records: Record<string, NativeRecord[]> = {
  DEU: [
    {
      kind: "person",
      id: "DEU-P-1",
      names: ["Hans Müller"],
      dob: "1975-03-14",
      nationality: ["DEU"],
      sex: "M",
      documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }],
      action: "discreet_check",
    },
  ],
  ESP: [
    {
      kind: "person",
      id: "ESP-P-1",
      names: ["Carmen López García"],
      dob: "1988",
      nationality: ["ESP"],
      sex: "F",
      action: "arrest",
    },
    { kind: "entity", id: "ESP-E-1", type: "phone", value: "+34 612 345 678", links: ["ESP-P-1"] },
  ],
  TUR: [],
};

let mesh: TestMesh;
beforeAll(async () => {
  // UKR is registered but its node is down.
  mesh = await startTestMesh({ countries: ["DEU", "ESP", "TUR", "UKR"], offline: ["UKR"], records, defaultDeadlineMs: 800 });
});
afterAll(async () => {
  await mesh?.stop();
});

function statusOf(result: { results: { country: string; status: string }[] }, country: string): string | undefined {
  return result.results.find((entry) => entry.country === country)?.status;
}

describe("federated checks through the coordinator", () => {
  it("finds a person by name (any order, without diacritics) and date of birth, with the owner's action", async () => {
    const result = await mesh.client.check({ person: { names: ["mueller hans"], dob: "1975-03-14" } });
    const deu = result.results.find((entry) => entry.country === "DEU");
    expect(deu?.status).toBe("hit");
    expect(deu?.hits[0]?.action).toBe("discreet_check");
    expect(deu?.hits[0]?.reference).toMatch(/^DEU-R-/);
    expect(deu?.hits[0]?.reference).not.toContain("DEU-P-1");
    expect(statusOf(result, "ESP")).toBe("no_hit");
    expect(statusOf(result, "TUR")).toBe("no_hit");
    expect(result.results.map((entry) => entry.country)).toEqual(["DEU", "ESP", "TUR", "UKR"]);
  });

  it("finds a travel document typed with spaces and lower case", async () => {
    const result = await mesh.client.check({ person: { documents: [{ type: "passport", number: "c01x 00t47", country: "DEU" }] } });
    expect(statusOf(result, "DEU")).toBe("hit");
    expect(result.results.find((entry) => entry.country === "DEU")?.hits[0]?.category).toBe("travel_document");
  });

  it("matches a year-only date of birth at the precision both sides share", async () => {
    const result = await mesh.client.check({ person: { names: ["Carmen Lopez Garcia"], dob: "1988-11-02" } });
    expect(statusOf(result, "ESP")).toBe("hit");
    expect(result.results.find((entry) => entry.country === "ESP")?.hits[0]?.action).toBe("arrest");
  });

  it("finds an entity by its normalised value", async () => {
    const result = await mesh.client.check({ entity: { type: "phone", value: "+34612345678" } });
    expect(statusOf(result, "ESP")).toBe("hit");
    expect(result.results.find((entry) => entry.country === "ESP")?.hits[0]?.category).toBe("entity:phone");
  });

  it("answers no-hit everywhere for an unknown traveller, and reports the down node unavailable once the deadline has passed", async () => {
    const deadlineAtMs = Date.now() + 700;
    const result = await mesh.client.check({ person: { names: ["Ingrid Vestergaard"], dob: "1991-07-14" } }, { deadlineMs: 700 });
    expect(statusOf(result, "DEU")).toBe("no_hit");
    expect(statusOf(result, "ESP")).toBe("no_hit");
    expect(statusOf(result, "TUR")).toBe("no_hit");
    expect(statusOf(result, "UKR")).toBe("unavailable");
    // Not a timing: the coordinator may not give up on UKR before the deadline it was given (timers fire
    // a little early at most), and no slowness of the machine can make this fail.
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineAtMs - 50);
  });

  it("asks only the requested countries", async () => {
    const result = await mesh.client.check({ person: { names: ["Hans Müller"], dob: "1975" } }, { countries: ["DEU", "TUR"] });
    expect(result.results.map((entry) => entry.country)).toEqual(["DEU", "TUR"]);
    expect(statusOf(result, "DEU")).toBe("hit");
  });

  it("refuses an MRZ with a wrong check digit at every node, naming the code", async () => {
    const mrz = ["P<D<<MUELLER<<HANS<<<<<<<<<<<<<<<<<<<<<<<<<<", "C01X00T470D<<7503143M3012315<<<<<<<<<<<<<<<0"];
    const result = await mesh.client.check({ person: { mrz } });
    for (const country of ["DEU", "ESP", "TUR"]) {
      expect(result.results.find((entry) => entry.country === country)).toMatchObject({ status: "refused", errorCode: "INVALID_MRZ" });
    }
  });

  it("does not hit on a name alone", async () => {
    const result = await mesh.client.check({ person: { names: ["Hans Müller"] } });
    expect(statusOf(result, "DEU")).toBe("no_hit");
  });
});

describe("forged and invalid queries", () => {
  function forgedQuery(): MatchQuery {
    return makeQuery({ person: personSubject({ names: ["Hans Müller"], dob: "1975-03-14" }) });
  }

  it("the coordinator rejects a query signed by an unregistered key, and the stores are unchanged", async () => {
    const before = [...mesh.nodes.values()].map((node) => node.store.stats());
    const impostor = createIdentity(MemberRole.Border, "FRA", "border-police");
    const envelope = { ...signQuery(forgedQuery(), impostor), keyId: mesh.trust.border.keyId };
    await expect(mesh.coordinator.check(envelope)).rejects.toMatchObject({ code: ErrorCode.BadSignature });
    expect([...mesh.nodes.values()].map((node) => node.store.stats())).toEqual(before);
  });

  it("a node refuses a forged query sent to it directly over NATS, with a signed REFUSED answer", async () => {
    const impostor = createIdentity(MemberRole.Border, "FRA", "border-police");
    const envelope = { ...signQuery(forgedQuery(), impostor), keyId: mesh.trust.border.keyId };
    const deu = mesh.nodes.get("DEU");
    if (!deu) throw new Error("DEU node missing");
    const { encodeEnvelope, decodeEnvelope, decodeMatchAnswer } = await import("../../common/proto.ts");
    const { connect } = await import("@nats-io/transport-node");
    const { matchCountrySubject } = await import("../../common/subjects.ts");
    const nc = await connect({ servers: mesh.nats.url });
    try {
      const reply = await nc.request(matchCountrySubject("DEU"), encodeEnvelope(envelope), { timeout: 2000 });
      const answerEnvelope = decodeEnvelope(reply.data);
      const answer = decodeMatchAnswer(answerEnvelope.payload);
      expect(answer.status).toBe("ANSWER_STATUS_REFUSED");
      expect(answer.errorCode).toBe(ErrorCode.BadSignature);
      expect(answer.hits).toEqual([]);
      expect(answerEnvelope.keyId).toBe(mesh.trust.nodes.get("DEU")?.keyId);
    } finally {
      await nc.close();
    }
  });

  it("a node refuses garbage bytes with a signed MALFORMED_MESSAGE answer", async () => {
    const { decodeEnvelope, decodeMatchAnswer } = await import("../../common/proto.ts");
    const { connect } = await import("@nats-io/transport-node");
    const { matchCountrySubject } = await import("../../common/subjects.ts");
    const nc = await connect({ servers: mesh.nats.url });
    try {
      const reply = await nc.request(matchCountrySubject("TUR"), new Uint8Array([0xff, 0xff, 0xff, 0x01]), { timeout: 2000 });
      const answer = decodeMatchAnswer(decodeEnvelope(reply.data).payload);
      expect(answer.status).toBe("ANSWER_STATUS_REFUSED");
      expect(answer.errorCode).toBe(ErrorCode.MalformedMessage);
    } finally {
      await nc.close();
    }
  });

  it("the coordinator authenticates a border query by its pair tag: a valid tag passes without a signature check, a forged one does not", async () => {
    const { PairKeyring } = await import("../../common/pair-tags.ts");
    const { trust, coordinator } = mesh;
    const coordinatorKey = trust.registry.resolveSigner(trust.coordinator.keyId, Date.now(), [MemberRole.Coordinator]);
    // The signature is broken on purpose: only the tag can make the coordinator accept the query.
    const tagged = signQuery(forgedQuery(), trust.border, { tagFor: [coordinatorKey], keyring: trust.borderKeyring });
    const badSignature = { ...tagged, signature: new Uint8Array(64) };
    const accepted = await coordinator.check(badSignature, { countries: ["TUR"] });
    expect(accepted.results.map((result) => result.country)).toEqual(["TUR"]);
    // The node does not take the coordinator's word: no tag for it, so it checks the signature and refuses.
    expect(accepted.results[0]?.errorCode).toBe(ErrorCode.BadSignature);
    // A tag made with another border key's pair keys (claiming the registered key id) is no tag for the coordinator.
    const impostor = createIdentity(MemberRole.Border, "FRA", "border-police");
    const forgedTags = signQuery(forgedQuery(), impostor, { tagFor: [coordinatorKey], keyring: new PairKeyring(impostor, { side: "asker" }) });
    const forged = { ...forgedTags, keyId: trust.border.keyId, signature: new Uint8Array(64) };
    await expect(coordinator.check(forged)).rejects.toMatchObject({ code: ErrorCode.BadSignature });
  });

  it("the coordinator rejects an expired query", async () => {
    const now = Date.now();
    const expired = signQuery({ ...forgedQuery(), issuedAtMs: now - 200_000, expiresAtMs: now - 100_000 }, mesh.trust.border);
    await expect(mesh.coordinator.check(expired)).rejects.toMatchObject({ code: ErrorCode.QueryExpired });
  });
});
