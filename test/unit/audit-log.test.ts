import { createHash } from "node:crypto";
import { open } from "lmdb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { createIdentity, MemberRole, type SigningIdentity } from "../../common/key-files.ts";
import { silentLogger } from "../../common/logger.ts";
import { decodeMatchAnswer, Purpose } from "../../common/proto.ts";
import { AuditLog, auditPath, entryHash, readAuditSnapshot, seqKey, signSeal, verifyAuditLog, type AuditCheckpoint, type AuditEntry, type AuditEntryInput, type AuditSeal } from "../../node/audit-log.ts";
import { MatchService } from "../../node/match-service.ts";
import type { Matcher } from "../../node/matcher.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BASE_MS = Date.parse("2026-01-01T00:00:00Z");

function input(n: number): AuditEntryInput {
  return {
    atMs: BASE_MS + n * 1000,
    queryId: `q-${n}`,
    requesterCountry: "FRA",
    requesterAgency: "border-police",
    purpose: Purpose.BorderCheck,
    status: n % 10 === 0 ? "hit" : "no_hit",
    errorCode: "",
    hitReferences: n % 10 === 0 ? [`NLD-R-${n}`] : [],
    queryDigest: createHash("sha256").update(`query ${n}`).digest("hex"),
  };
}

interface Fixture {
  dir: string;
  trust: TestTrust;
  identity: SigningIdentity;
}

async function fixture(): Promise<Fixture> {
  const temp = await makeTempDir();
  cleanups.push(temp.remove);
  const trust = await makeTrust(["NLD", "DEU"]);
  const identity = trust.nodes.get("NLD");
  if (!identity) throw new Error("missing NLD identity");
  return { dir: temp.path, trust, identity };
}

async function openLog(f: Fixture, options: { retentionMs?: number; now?: () => number } = {}): Promise<AuditLog> {
  const log = await AuditLog.open({ dataDir: f.dir, identity: f.identity, logger: silentLogger(), ...options });
  cleanups.push(() => log.close());
  return log;
}

/** Writes `count` entries and closes the log (which seals the tail). */
async function writeLog(f: Fixture, count: number): Promise<void> {
  const log = await openLog(f);
  await Promise.all(Array.from({ length: count }, (_, i) => log.append(input(i + 1))));
  await log.close();
}

/** Edits the closed log's LMDB environment directly, as someone with file access could; undefined deletes. */
async function tamper(f: Fixture, edit: (dbs: { entries: Map<string, AuditEntry | undefined>; seals: Map<string, AuditSeal | undefined> }) => void): Promise<void> {
  const root = open({ path: auditPath(f.dir), noSubdir: false });
  const entries = root.openDB<AuditEntry, string>("entries", { encoding: "json" });
  const seals = root.openDB<AuditSeal, string>("seals", { encoding: "json" });
  const before = {
    entries: new Map<string, AuditEntry | undefined>(Array.from(entries.getRange(), ({ key, value }) => [key, value])),
    seals: new Map<string, AuditSeal | undefined>(Array.from(seals.getRange(), ({ key, value }) => [key, value])),
  };
  const after = { entries: new Map(before.entries), seals: new Map(before.seals) };
  edit(after);
  await root.transaction(() => {
    for (const [key, value] of after.entries) {
      if (value === undefined) entries.removeSync(key);
      else if (JSON.stringify(value) !== JSON.stringify(before.entries.get(key))) entries.putSync(key, value);
    }
    for (const [key, value] of after.seals) {
      if (value === undefined) seals.removeSync(key);
      else if (JSON.stringify(value) !== JSON.stringify(before.seals.get(key))) seals.putSync(key, value);
    }
  });
  await root.close();
}

function entryAt(map: Map<string, AuditEntry | undefined>, seq: number): AuditEntry {
  const entry = map.get(seqKey(seq));
  if (!entry) throw new Error(`no entry ${seq}`);
  return entry;
}

async function verify(f: Fixture) {
  return verifyAuditLog(await readAuditSnapshot(f.dir), f.trust.registry, { expectedCountry: "NLD" });
}

describe("AuditLog", () => {
  it("chains 250 entries, seals every 100, reports the unsealed tail, seals it on close and continues after reopening", async () => {
    const f = await fixture();
    const log = await openLog(f);
    const written = await Promise.all(Array.from({ length: 250 }, (_, i) => log.append(input(i + 1))));
    expect(written.map((entry) => entry.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(written[1]?.prevHash).toBe(written[0]?.hash);

    const open = verifyAuditLog(log.snapshot(), f.trust.registry, { expectedCountry: "NLD" });
    expect(open).toMatchObject({ ok: true, entries: 250, seals: 2, warning: { seq: 201, kind: "unsealed_tail" } });
    expect(open.firstProblem).toBeUndefined();

    await log.close();
    expect(await verify(f)).toEqual({ ok: true, entries: 250, seals: 3 });

    const reopened = await openLog(f);
    const next = await reopened.append(input(251));
    expect(next).toMatchObject({ seq: 251, prevHash: written[249]?.hash });
    await reopened.close();
    expect(await verify(f)).toEqual({ ok: true, entries: 251, seals: 4 });
  });

  it("detects a field changed directly in LMDB as altered at that entry", async () => {
    const f = await fixture();
    await writeLog(f, 250);
    await tamper(f, ({ entries }) => {
      entries.set(seqKey(42), { ...entryAt(entries, 42), status: "hit", hitReferences: ["NLD-R-9"] });
    });
    expect((await verify(f)).firstProblem).toMatchObject({ seq: 42, kind: "altered" });
  });

  it("detects a rewritten entry whose hash was recomputed, by its broken link to the next entry", async () => {
    const f = await fixture();
    await writeLog(f, 150);
    await tamper(f, ({ entries }) => {
      const { hash: _old, ...rest } = { ...entryAt(entries, 42), requesterCountry: "DEU" };
      entries.set(seqKey(42), { ...rest, hash: entryHash(rest) });
    });
    expect((await verify(f)).firstProblem).toMatchObject({ seq: 42, kind: "altered" });
  });

  it("detects a deleted entry as missing, and deleted sealed entries at the end as missing", async () => {
    const f = await fixture();
    await writeLog(f, 250);
    await tamper(f, ({ entries }) => entries.set(seqKey(42), undefined));
    expect((await verify(f)).firstProblem).toMatchObject({ seq: 42, kind: "missing" });

    const g = await fixture();
    await writeLog(g, 250);
    await tamper(g, ({ entries }) => {
      for (let seq = 240; seq <= 250; seq += 1) entries.set(seqKey(seq), undefined);
    });
    expect((await verify(g)).firstProblem).toMatchObject({ seq: 240, kind: "missing" });
  });

  it("detects two swapped entries as reordered at the first of them", async () => {
    const f = await fixture();
    await writeLog(f, 250);
    await tamper(f, ({ entries }) => {
      const a = entryAt(entries, 10);
      const b = entryAt(entries, 20);
      entries.set(seqKey(10), b);
      entries.set(seqKey(20), a);
    });
    expect((await verify(f)).firstProblem).toMatchObject({ seq: 10, kind: "reordered" });
  });

  it("rejects a seal forged with another key, or by another country's node, as bad_seal", async () => {
    const f = await fixture();
    await writeLog(f, 250);
    const stranger = createIdentity(MemberRole.Node, "NLD", "node-agency");
    await tamper(f, ({ entries, seals }) => {
      // Same key id as the real seal, but signed by a key the registry does not hold.
      seals.set(seqKey(100), signSeal(100, entryAt(entries, 100).hash, { ...stranger, keyId: f.identity.keyId }, BASE_MS));
    });
    expect((await verify(f)).firstProblem).toMatchObject({ seq: 100, kind: "bad_seal" });

    const g = await fixture();
    await writeLog(g, 250);
    const deu = g.trust.nodes.get("DEU");
    if (!deu) throw new Error("missing DEU identity");
    await tamper(g, ({ entries, seals }) => seals.set(seqKey(200), signSeal(200, entryAt(entries, 200).hash, deu, BASE_MS)));
    expect((await verify(g)).firstProblem).toMatchObject({ seq: 200, kind: "bad_seal" });
  });

  it("purges old entries up to the last seal, still verifies from the checkpoint, and still detects a later alteration", async () => {
    const f = await fixture();
    const log = await openLog(f);
    await Promise.all(Array.from({ length: 250 }, (_, i) => log.append(input(i + 1))));
    // Entries 1..150 are older than this; the last seal covers 200, so all 150 can go.
    expect(await log.purgeBefore(BASE_MS + 150_500)).toEqual({ purged: 150, checkpointSeq: 150 });
    // Everything is older now, but entries after the last seal (200) stay until sealed.
    expect(await log.purgeBefore(BASE_MS + 10_000_000)).toEqual({ purged: 50, checkpointSeq: 200 });
    await log.close();

    const snapshot = await readAuditSnapshot(f.dir);
    expect(snapshot.entries[0]?.key).toBe(seqKey(201));
    expect(verifyAuditLog(snapshot, f.trust.registry, { expectedCountry: "NLD" })).toEqual({ ok: true, entries: 50, seals: 2, checkpointSeq: 200 });

    await tamper(f, ({ entries }) => entries.set(seqKey(230), { ...entryAt(entries, 230), queryId: "q-other" }));
    expect((await verify(f)).firstProblem).toMatchObject({ seq: 230, kind: "altered" });
  });

  it("detects a purge faked by deleting old entries, or a checkpoint moved by hand", async () => {
    const f = await fixture();
    await writeLog(f, 250);
    await tamper(f, ({ entries }) => {
      for (let seq = 1; seq <= 10; seq += 1) entries.set(seqKey(seq), undefined);
    });
    expect((await verify(f)).firstProblem).toMatchObject({ seq: 1, kind: "missing" });

    const g = await fixture();
    const log = await openLog(g);
    await Promise.all(Array.from({ length: 250 }, (_, i) => log.append(input(i + 1))));
    await log.purgeBefore(BASE_MS + 150_500);
    await log.close();
    const root = open({ path: auditPath(g.dir), noSubdir: false });
    const meta = root.openDB<AuditCheckpoint, string>("meta", { encoding: "json" });
    const entries = root.openDB<AuditEntry, string>("entries", { encoding: "json" });
    const checkpoint = meta.get("checkpoint");
    const entry160 = entries.get(seqKey(160));
    if (!checkpoint || !entry160) throw new Error("missing checkpoint or entry 160");
    // Pretend entries up to 160 were purged too: the checkpoint's signature no longer matches.
    await root.transaction(() => {
      for (let seq = 151; seq <= 160; seq += 1) entries.removeSync(seqKey(seq));
      meta.putSync("checkpoint", { ...checkpoint, seq: 160, hash: entry160.hash });
    });
    await root.close();
    expect((await verify(g)).firstProblem).toMatchObject({ seq: 160, kind: "bad_seal" });
  });

  it("treats a tail longer than the sealing interval (seals removed) as a failure when told the interval", async () => {
    const f = await fixture();
    await writeLog(f, 250);
    await tamper(f, ({ seals }) => {
      for (const key of seals.keys()) seals.set(key, undefined);
    });
    const snapshot = await readAuditSnapshot(f.dir);
    expect(verifyAuditLog(snapshot, f.trust.registry)).toMatchObject({ ok: true, seals: 0, warning: { seq: 1, kind: "unsealed_tail" } });
    expect(verifyAuditLog(snapshot, f.trust.registry, { sealEvery: 100 }).firstProblem).toMatchObject({ seq: 1, kind: "unsealed_tail" });
  });

  it("never overwrites an entry: a second writer's colliding append is refused", async () => {
    const f = await fixture();
    const first = await openLog(f);
    await Promise.all([1, 2, 3].map((n) => first.append(input(n))));
    const second = await openLog(f);
    const mine = await first.append(input(4));
    await expect(second.append({ ...input(4), queryId: "q-intruder" })).rejects.toThrow(/already taken/);
    const stored = (await readAuditSnapshot(f.dir)).entries.map(({ value }) => value as AuditEntry);
    expect(stored.at(-1)).toEqual(mine);
  });

  it("logs a recorded entry that could not be written, once, without throwing", async () => {
    const f = await fixture();
    const first = await openLog(f);
    await Promise.all([1, 2, 3].map((n) => first.append(input(n))));
    const logger = silentLogger();
    const errors = vi.spyOn(logger, "error");
    // A second writer on the same log: its entry 4 collides with the first writer's and is refused.
    const second = await AuditLog.open({ dataDir: f.dir, identity: f.identity, logger });
    cleanups.push(() => second.close());
    await first.append(input(4));
    expect(() => second.record({ ...input(4), queryId: "q-intruder" })).not.toThrow();
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1));
    expect(errors).toHaveBeenCalledWith({ code: ErrorCode.Internal }, "audit entry not written");
    await second.close();
    second.record(input(5));
    expect(errors).toHaveBeenCalledTimes(2);
    expect(errors).toHaveBeenLastCalledWith({ code: ErrorCode.Unavailable }, "audit entry not written");
  });

  it("applies the configured retention when opened, keeping the rest verifiable", async () => {
    const f = await fixture();
    await writeLog(f, 120);
    // 60.5 s after entry 60: entries 1..60 are past a 60 s retention.
    const log = await openLog(f, { retentionMs: 60_000, now: () => BASE_MS + 120_500 });
    await log.close();
    const result = await verify(f);
    expect(result).toMatchObject({ ok: true, entries: 60, checkpointSeq: 60 });
  });
});

describe("MatchService audit option", () => {
  it("records one entry per answer (hit, no-hit, policy-free refusal of garbage) without personal data", async () => {
    const f = await fixture();
    const log = await openLog(f);
    const matcher: Matcher = {
      matchPerson: (person) =>
        person.names.includes("Jan Kowalski")
          ? [{ recordId: "rec-1", score: 0.97, category: "wanted", action: "specific_check", matchedFeatures: ["name"] }]
          : [],
      matchEntity: () => [],
    };
    const service = new MatchService({
      identity: f.identity,
      registry: () => f.trust.registry,
      matcher,
      referenceFor: (id) => `NLD-R-${id}`,
      logger: silentLogger(),
      audit: (entry) => log.record(entry),
    });
    const hitQuery = makeQuery({ person: personSubject({ names: ["Jan Kowalski"], dob: "1970-02-03" }) });
    const hitEnvelope = signQuery(hitQuery, f.trust.border);
    const hit = decodeMatchAnswer(service.answer(hitEnvelope).payload);
    const noHit = decodeMatchAnswer(service.answer(signQuery(makeQuery(), f.trust.border)).payload);
    const garbage = new Uint8Array([0xff, 0x00, 0x13, 0x37]);
    const refused = decodeMatchAnswer(service.answerBytes(garbage).payload);
    expect([hit.status, noHit.status, refused.errorCode]).toEqual(["ANSWER_STATUS_HIT", "ANSWER_STATUS_NO_HIT", ErrorCode.MalformedMessage]);
    await log.close();

    const snapshot = await readAuditSnapshot(f.dir);
    expect(verifyAuditLog(snapshot, f.trust.registry, { expectedCountry: "NLD" })).toEqual({ ok: true, entries: 3, seals: 1 });
    const entries = snapshot.entries.map(({ value }) => value as AuditEntry);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({
      seq: 1,
      queryId: hitQuery.queryId,
      requesterCountry: "FRA",
      requesterAgency: "border-police",
      purpose: Purpose.BorderCheck,
      status: "hit",
      errorCode: "",
      hitReferences: ["NLD-R-rec-1"],
      queryDigest: createHash("sha256").update(hitEnvelope.payload).digest("hex"),
    });
    expect(entries[1]).toMatchObject({ seq: 2, status: "no_hit", hitReferences: [] });
    expect(entries[2]).toMatchObject({
      seq: 3,
      queryId: "",
      requesterCountry: "",
      requesterAgency: "",
      purpose: "",
      status: "refused",
      errorCode: ErrorCode.MalformedMessage,
      queryDigest: createHash("sha256").update(garbage).digest("hex"),
    });
    // Nothing of the query's subject reaches the log.
    expect(JSON.stringify(entries)).not.toMatch(/Kowalski|1970-02-03/);
  });
});
