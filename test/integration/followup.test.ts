import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collectFollowupReplies, requestFollowup } from "../../client/followup-client.ts";
import { ErrorCode } from "../../common/errors.ts";
import { openSealedDetails } from "../../common/followup.ts";
import { createIdentity, MemberRole } from "../../common/key-files.ts";
import { connectNats } from "../../common/nats-connection.ts";
import { FollowupDecision } from "../../common/proto.ts";
import { FOLLOWUP_STREAM } from "../../common/subjects.ts";
import { decideFollowup, type PersonRecord } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

const suspect: PersonRecord = {
  kind: "person",
  id: "DEU-P-1",
  names: ["Jean Dupont"],
  dob: "1980-05-01",
  documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }],
  action: "specific_check",
};

type Handled = { requestId: string; stored: boolean; code?: string };
let mesh: TestMesh;
let connection: NatsConnection;
let handled: ((outcome: Handled) => void) | undefined;
const nextHandled = () => new Promise<Handled>((resolve) => (handled = resolve));

beforeEach(async () => {
  mesh = await startTestMesh({
    countries: ["DEU", "ESP"],
    records: { DEU: [suspect] },
    jetstream: true,
    nodeOptions: () => ({ onFollowupHandled: (outcome) => handled?.(outcome) }),
  });
  connection = await connectNats({ servers: mesh.nats.url, name: "test-requester" });
});
afterEach(async () => {
  await connection.close();
  await mesh.stop();
});

/** A hit on the suspect, then a follow-up request for it, received by DEU. */
async function requestedHit(): Promise<{ reference: string; requestId: string }> {
  const result = await mesh.client.check({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } });
  const reference = result.results.find((r) => r.country === "DEU")?.hits[0]?.reference ?? "";
  expect(reference).toMatch(/^DEU-R-/);
  const received = nextHandled();
  const request = await requestFollowup({ connection, identity: mesh.trust.border, reference, queryId: result.queryId, justification: "case 2026/4711, art. 10" });
  expect(await received).toEqual({ requestId: request.requestId, stored: true });
  return { reference, requestId: request.requestId };
}

describe("follow-up (step two)", () => {
  it("carries an approved record's details to the requester only, sealed, with the request's age shown to the owner", async () => {
    const { reference, requestId } = await requestedHit();
    const deu = mesh.nodes.get("DEU");
    const desk = deu?.followups;
    const [listed] = desk?.store.list(Date.now()) ?? [];
    expect(listed).toMatchObject({ requestId, reference, requestingCountry: "FRA", requestingAgency: "border-police", justification: "case 2026/4711, art. 10", status: "pending", overdue: false });
    expect(listed?.ageMs).toBeGreaterThanOrEqual(0);
    // Past the deadline (here 0 ms after a simulated hour), a pending request shows as overdue.
    expect(desk?.store.list(Date.now() + 3_600_000, 0)[0]?.overdue).toBe(true);

    const identity = mesh.trust.nodes.get("DEU");
    if (!deu || !desk || !identity) throw new Error("DEU not running");
    const reply = await decideFollowup({ requestId, decision: "approve", followups: desk.store, records: deu.store, identity, registry: mesh.trust.registry, connection });
    expect(reply.decision).toBe(FollowupDecision.Approved);
    expect(desk.store.get(requestId)?.status).toBe("approved");
    await expect(decideFollowup({ requestId, decision: "reject", followups: desk.store, records: deu.store, identity, registry: mesh.trust.registry, connection })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });

    const [received, ...more] = await collectFollowupReplies({ connection, identity: mesh.trust.border, registry: mesh.trust.registry });
    expect(more).toEqual([]);
    expect(received?.reply).toMatchObject({ requestId, reference, ownerCountry: "DEU", decision: FollowupDecision.Approved });
    expect(received?.details).toMatchObject({ id: "DEU-P-1", names: ["Jean Dupont"], dob: "1980-05-01" });

    // What NATS stored is ciphertext: no name, date or document number in the stream.
    const manager = await jetstreamManager(connection);
    for (let seq = 1; seq <= (await manager.streams.info(FOLLOWUP_STREAM)).state.last_seq; seq++) {
      const message = await manager.streams.getMessage(FOLLOWUP_STREAM, { seq });
      expect(Buffer.from(message?.data ?? []).toString("latin1")).not.toMatch(/Dupont|1980-05-01|C01X00T47/);
    }
    // Another key cannot open the sealed details.
    const stranger = createIdentity(MemberRole.Border, "FRA", "border-police");
    expect(() => openSealedDetails(received?.reply.sealedDetails ?? new Uint8Array(), stranger)).toThrow(expect.objectContaining({ code: ErrorCode.BadSignature }));
  });

  it("sends a rejection with its reason and no details", async () => {
    const { requestId } = await requestedHit();
    const deu = mesh.nodes.get("DEU");
    const identity = mesh.trust.nodes.get("DEU");
    if (!deu?.followups || !identity) throw new Error("DEU not running");
    await decideFollowup({ requestId, decision: "reject", reason: "justification insufficient", followups: deu.followups.store, records: deu.store, identity, registry: mesh.trust.registry, connection });
    const [received] = await collectFollowupReplies({ connection, identity: mesh.trust.border, registry: mesh.trust.registry });
    expect(received?.reply).toMatchObject({ requestId, decision: FollowupDecision.Rejected, reason: "justification insufficient" });
    expect(received?.reply.sealedDetails).toHaveLength(0);
    expect(received?.details).toBeUndefined();
  });

  it("refuses a request signed by a key the registry does not know, and a request without justification", async () => {
    const impostor = createIdentity(MemberRole.Border, "FRA", "border-police");
    const received = nextHandled();
    await requestFollowup({ connection, identity: impostor, reference: "DEU-R-AAAAAAAAAAAAAAAAAAAA", queryId: "q", justification: "x" });
    expect(await received).toEqual({ requestId: "", stored: false, code: ErrorCode.UnknownSigner });
    expect(mesh.nodes.get("DEU")?.followups?.store.list(Date.now())).toEqual([]);
    await expect(requestFollowup({ connection, identity: mesh.trust.border, reference: "DEU-R-AAAAAAAAAAAAAAAAAAAA", queryId: "q", justification: " " })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });
  });
});
