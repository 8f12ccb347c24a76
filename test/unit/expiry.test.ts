import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { createLogger, silentLogger } from "../../common/logger.ts";
import type { PersonQuery } from "../../common/proto.ts";
import { ExpiryPurger, type PurgeRun } from "../../node/expiry-purger.ts";
import { createMatcher, type Matcher } from "../../node/matcher.ts";
import { expiryKey, recordIndexKeys } from "../../node/matching/index-keys.ts";
import { parseRecordLine, type EntityRecord, type NativeRecord, type PersonRecord } from "../../node/record-schema.ts";
import { RecordStore } from "../../node/store.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { unitVector } from "../helpers/vectors.ts";

let dir: { path: string; remove: () => Promise<void> };
let opened: RecordStore[];

beforeEach(async () => {
  dir = await makeTempDir("wm-expiry-");
  opened = [];
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(opened.map((store) => store.close()));
  await dir.remove();
});

async function openStore(): Promise<RecordStore> {
  const store = await RecordStore.open({ path: path.join(dir.path, "db") });
  opened.push(store);
  return store;
}

/** 2025-06-15, late in the UTC day: the day is what counts, not the hour. */
const TODAY = "2025-06-15";
const TODAY_MS = Date.parse("2025-06-15T23:59:59.999Z");
const TOMORROW_MS = Date.parse("2025-06-16T00:00:00.000Z");

const DNA = {
  D3S1358: [15, 16], VWA: [17, 18], D8S1179: [13, 14], D21S11: [29, 30.2], D18S51: [14, 17], TH01: [6, 9.3],
  FGA: [21, 23], D1S1656: [12, 15.3], D2S441: [10, 11], D10S1248: [13, 15], D12S391: [18, 20], D22S1045: [15, 16],
};
const FACE = unitVector(7, 512);

const jean = (id: string, expiresAt: string | undefined): PersonRecord => ({
  kind: "person",
  id,
  names: ["Jean Dupont"],
  dob: "1980-05-01",
  nationality: ["FRA"],
  sex: "M",
  documents: [{ type: "passport", number: "12AB34567", country: "FRA" }],
  dna: DNA,
  face: { model: "arcface-r100-v1", vector: FACE },
  ...(expiresAt === undefined ? {} : { expiresAt }),
});
const phone = (id: string, expiresAt: string | undefined): EntityRecord => ({
  kind: "entity",
  id,
  type: "phone",
  value: "+33 6 12 34 56 78",
  ...(expiresAt === undefined ? {} : { expiresAt }),
});

function person(fields: Partial<PersonQuery>): PersonQuery {
  return { names: [], dob: "", nationality: [], sex: "", documents: [], mrz: [], ...fields };
}

const loci = (profile: Record<string, (number | string)[]>): Record<string, string> =>
  Object.fromEntries(Object.entries(profile).map(([locus, alleles]) => [locus, alleles.join(",")]));

/** The queries that reach a Jean Dupont record by each of its features, and the phone entity by its value. */
const personQueries: Readonly<Record<string, PersonQuery>> = {
  "name and dob": person({ names: ["Jean Dupont"], dob: "1980-05-01" }),
  document: person({ documents: [{ type: "passport", number: "12AB34567", country: "FRA" }] }),
  "document number only": person({ documents: [{ type: "passport", number: "12AB34567", country: "" }] }),
  dna: person({ dna: { loci: loci(DNA), markerSet: "" } }),
  face: person({ face: { model: "arcface-r100-v1", embedding: FACE } }),
};

const idsOf = (hits: { recordId: string }[]): string[] => hits.map((hit) => hit.recordId).sort();

function matchesOf(matcher: Matcher): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const [label, query] of Object.entries(personQueries)) found[label] = idsOf(matcher.matchPerson(query));
  found["entity"] = idsOf(matcher.matchEntity({ type: "phone", value: "+33612345678" }));
  return found;
}

function rejectionOf(text: string): WatchmeshError {
  try {
    parseRecordLine(text);
  } catch (error) {
    expect(error).toBeInstanceOf(WatchmeshError);
    return error as WatchmeshError;
  }
  throw new Error("line was accepted");
}

describe("record schema: expiresAt", () => {
  it("accepts a real calendar day on persons and entities, past days included, and keeps it", () => {
    for (const expiresAt of ["2030-12-31", "2028-02-29", "2000-02-29", "2001-01-01"]) {
      expect(parseRecordLine(JSON.stringify({ kind: "person", id: "P1", names: ["Anna Nowak"], expiresAt }))).toMatchObject({ expiresAt });
      expect(parseRecordLine(JSON.stringify({ kind: "entity", id: "E1", type: "email", value: "a@b.example", expiresAt }))).toMatchObject({ expiresAt });
    }
    expect(parseRecordLine(JSON.stringify({ kind: "person", id: "P1", names: ["Anna Nowak"] }))).not.toHaveProperty("expiresAt");
  });

  it("rejects anything but a real YYYY-MM-DD day, naming the field", () => {
    for (const expiresAt of ["2024-02-30", "2023-02-29", "2100-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "0025-06-15", "1999-12-31", "tomorrow", "2024-6-1", "2024-06", "2024-06-15T00:00:00Z", "", 20240615, null]) {
      for (const record of [
        { kind: "person", id: "P1", names: ["Anna Nowak"], expiresAt },
        { kind: "entity", id: "E1", type: "email", value: "a@b.example", expiresAt },
      ]) {
        const error = rejectionOf(JSON.stringify(record));
        expect(error.code, String(expiresAt)).toBe(ErrorCode.InvalidRecord);
        expect(error.message, String(expiresAt)).toContain('field "expiresAt"');
        expect(error.context["field"]).toBe("expiresAt");
      }
    }
    // The message names the rule, never the value.
    expect(rejectionOf(JSON.stringify({ kind: "person", id: "P1", names: ["Anna Nowak"], expiresAt: "tomorrow" })).message).not.toContain("tomorrow");
  });

  it("indexes a record with an expiry under exp:<day>, and one without under no exp: key", () => {
    expect(recordIndexKeys(jean("P1", "2025-06-14"), "REF-R-1")).toContain("exp:2025-06-14");
    expect(recordIndexKeys(phone("E1", "2025-06-14"), "REF-R-2")).toContain("exp:2025-06-14");
    expect(recordIndexKeys(jean("P1", undefined), "REF-R-1").filter((key) => key.startsWith("exp:"))).toEqual([]);
  });
});

describe("matching skips expired records", () => {
  it("finds the twin valid through today but not the expired record, by every feature, before any purge", async () => {
    const store = await openStore();
    await store.applyBatch([jean("FRA-P-EXPIRED", "2025-06-14"), jean("FRA-P-TODAY", TODAY), phone("FRA-E-EXPIRED", "2025-06-14"), phone("FRA-E-OPEN", undefined)]);
    let nowMs = TODAY_MS;
    const matcher = createMatcher(store, { now: () => nowMs });

    const today = matchesOf(matcher);
    for (const label of Object.keys(personQueries)) expect(today[label], label).toEqual(["FRA-P-TODAY"]);
    expect(today["entity"]).toEqual(["FRA-E-OPEN"]);

    // One day earlier the expired record was still valid (its own expiresAt day included).
    nowMs = Date.parse("2025-06-14T00:00:00.000Z");
    const yesterday = matchesOf(matcher);
    for (const label of Object.keys(personQueries)) expect(yesterday[label], label).toEqual(["FRA-P-EXPIRED", "FRA-P-TODAY"]);
    expect(yesterday["entity"]).toEqual(["FRA-E-EXPIRED", "FRA-E-OPEN"]);

    // At midnight UTC the twin expires too; a record without expiresAt never does.
    nowMs = TOMORROW_MS;
    const tomorrow = matchesOf(matcher);
    for (const label of Object.keys(personQueries)) expect(tomorrow[label], label).toEqual([]);
    expect(tomorrow["entity"]).toEqual(["FRA-E-OPEN"]);

    // Nothing was deleted: the records only stopped matching.
    expect(store.stats()).toMatchObject({ persons: 2, entities: 2 });
  });
});

describe("RecordStore.purgeExpired", () => {
  const records: NativeRecord[] = [
    { ...jean("FRA-P-1", "2025-06-10"), names: ["Alice Martin"], documents: [{ type: "passport", number: "11AA11111", country: "FRA" }] },
    { kind: "entity", id: "FRA-E-1", type: "email", value: "gone@mail.example", expiresAt: "2025-06-14" },
    { kind: "person", id: "FRA-P-2", names: ["Bruno Lefebvre"], dob: "1975-01-02", expiresAt: TODAY },
    { kind: "person", id: "FRA-P-3", names: ["Chen Wei"], dob: "1990-03-04" },
    { kind: "entity", id: "FRA-E-2", type: "email", value: "kept@mail.example", expiresAt: "2026-01-01" },
  ];
  const expired = records.filter((record) => record.id === "FRA-P-1" || record.id === "FRA-E-1");

  it("deletes exactly the records expired before today, with every index entry and face key", async () => {
    const store = await openStore();
    await store.applyBatch(records);
    const formerKeys = new Map(expired.map((record) => [record.id, recordIndexKeys(record, store.referenceFor(record.id))]));
    for (const [id, keys] of formerKeys) for (const key of keys) expect(store.lookup(key), key).toContain(id);
    const before = store.stats();

    expect(await store.purgeExpired(TODAY)).toBe(2);

    for (const record of expired) expect(store.get(record.id), record.id).toBeUndefined();
    for (const id of ["FRA-P-2", "FRA-P-3", "FRA-E-2"]) expect(store.get(id), id).toBeDefined();
    for (const [id, keys] of formerKeys) {
      expect(keys).toContain(expiryKey(id === "FRA-P-1" ? "2025-06-10" : "2025-06-14"));
      for (const key of keys) expect(store.lookup(key), key).toEqual([]);
      expect(store.idForReference(store.referenceFor(id))).toBeUndefined();
    }
    expect(store.stats()).toEqual({ persons: 2, entities: 1, generation: before.generation + 1 });
    // The face went with the record: a search with its exact vector finds nobody.
    expect(createMatcher(store, { now: () => Date.parse("2025-01-01T00:00:00Z") }).matchPerson(personQueries["face"] ?? person({}))).toEqual([]);

    // Nothing left to purge: no write at all.
    expect(await store.purgeExpired(TODAY)).toBe(0);
    expect(store.stats().generation).toBe(before.generation + 1);
    // The next day, the record valid through today goes too.
    expect(await store.purgeExpired("2025-06-16")).toBe(1);
    expect(store.get("FRA-P-2")).toBeUndefined();
    expect(store.stats()).toMatchObject({ persons: 1, entities: 1 });
  });

  it("deletes at most maxRecords per call, earliest expiry first", async () => {
    const store = await openStore();
    await store.applyBatch(records);
    expect(await store.purgeExpired(TODAY, { maxRecords: 1 })).toBe(1);
    expect(store.get("FRA-P-1")).toBeUndefined();
    expect(store.get("FRA-E-1")).toBeDefined();
    expect(await store.purgeExpired(TODAY, { maxRecords: 1 })).toBe(1);
    expect(await store.purgeExpired(TODAY, { maxRecords: 1 })).toBe(0);
    expect(store.stats()).toMatchObject({ persons: 2, entities: 1 });
  });

  it("follows a changed expiry date: a renewed record is kept and its old exp: key is gone", async () => {
    const store = await openStore();
    await store.applyBatch(records);
    await store.upsert({ ...expired[0], expiresAt: "2030-01-01" } as PersonRecord);
    const { expiresAt: _dropped, ...withoutExpiry } = expired[1] as EntityRecord;
    await store.upsert(withoutExpiry);
    expect(store.lookup(expiryKey("2025-06-10"))).toEqual([]);
    expect(store.lookup(expiryKey("2025-06-14"))).toEqual([]);
    expect(store.lookup(expiryKey("2030-01-01"))).toEqual(["FRA-P-1"]);
    expect(await store.purgeExpired(TODAY)).toBe(0);
    expect(store.stats()).toMatchObject({ persons: 3, entities: 2 });
  });

  it("refuses a day that is not YYYY-MM-DD and a maxRecords below 1", async () => {
    const store = await openStore();
    for (const day of ["2025-6-15", "2025-02-30", "today", ""]) {
      await expect(store.purgeExpired(day), day).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    }
    await expect(store.purgeExpired(TODAY, { maxRecords: 0 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });
});

describe("delete by id", () => {
  it("is immediate and removes every index entry of the record", async () => {
    const store = await openStore();
    const kept = jean("FRA-P-KEPT", undefined);
    const deleted = { ...jean("FRA-P-DEL", "2030-01-01"), names: ["Jean Dupont", "Jean-Pierre Dupont"] };
    const entity = phone("FRA-E-DEL", "2030-01-01");
    await store.applyBatch([kept, deleted, entity]);
    const matcher = createMatcher(store, { now: () => TODAY_MS });
    const targets = [deleted, entity];
    const keysOf = new Map(targets.map((record) => [record.id, recordIndexKeys(record, store.referenceFor(record.id))]));
    for (const [id, keys] of keysOf) for (const key of keys) expect(store.lookup(key), key).toContain(id);
    const before = matchesOf(matcher);
    for (const label of Object.keys(personQueries)) expect(before[label], label).toEqual(["FRA-P-DEL", "FRA-P-KEPT"]);
    expect(before["entity"]).toEqual(["FRA-E-DEL"]);

    // Read straight after each awaited remove: no purge, no flush, no reopen in between.
    for (const record of targets) expect(await store.remove(record.id), record.id).toBe(true);

    for (const [id, keys] of keysOf) {
      expect(store.get(id)).toBeUndefined();
      for (const key of keys) expect(store.lookup(key), key).not.toContain(id);
      expect(store.idForReference(store.referenceFor(id))).toBeUndefined();
    }
    // Keys the kept twin does not share are now empty; the shared ones hold only the twin.
    const keptKeys = new Set(recordIndexKeys(kept, store.referenceFor(kept.id)));
    for (const key of keysOf.get("FRA-P-DEL") ?? []) expect(store.lookup(key), key).toEqual(keptKeys.has(key) ? [kept.id] : []);
    for (const key of keysOf.get("FRA-E-DEL") ?? []) expect(store.lookup(key), key).toEqual([]);

    const after = matchesOf(matcher);
    for (const label of Object.keys(personQueries)) expect(after[label], label).toEqual(["FRA-P-KEPT"]);
    expect(after["entity"]).toEqual([]);
    expect(store.stats()).toMatchObject({ persons: 1, entities: 0 });
    expect(await store.remove("FRA-P-DEL")).toBe(false);
  });
});

/** Collects onPurge runs; `next(predicate)` resolves on the first run (already seen or later) that fits. */
class RunLatch {
  readonly runs: PurgeRun[] = [];
  readonly #waiting: { predicate: (runs: readonly PurgeRun[]) => boolean; resolve: () => void }[] = [];

  readonly onPurge = (run: PurgeRun): void => {
    this.runs.push(run);
    for (const waiter of [...this.#waiting]) {
      if (!waiter.predicate(this.runs)) continue;
      this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  until(predicate: (runs: readonly PurgeRun[]) => boolean): Promise<void> {
    if (predicate(this.runs)) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ predicate, resolve }));
  }
}

describe("ExpiryPurger", () => {
  it("purges at start and then on its interval, by its clock's UTC day, in transactions of the given size", async () => {
    const store = await openStore();
    await store.applyBatch([
      phone("FRA-E-1", "2025-06-10"),
      phone("FRA-E-2", "2025-06-11"),
      phone("FRA-E-3", "2025-06-14"),
      phone("FRA-E-4", TODAY),
      phone("FRA-E-5", undefined),
    ]);
    let nowMs = TODAY_MS;
    const latch = new RunLatch();
    const purger = ExpiryPurger.start({ store, intervalMs: 10, now: () => nowMs, logger: silentLogger(), maxRecordsPerTransaction: 2, onPurge: latch.onPurge });
    try {
      await latch.until((runs) => runs.length >= 1);
      // One run, two transactions (2 + 1): all three expired records.
      expect(latch.runs[0]).toEqual({ today: TODAY, deleted: 3 });
      expect(store.stats().entities).toBe(2);
      await latch.until((runs) => runs.length >= 3);
      expect(latch.runs.slice(1, 3)).toEqual([{ today: TODAY, deleted: 0 }, { today: TODAY, deleted: 0 }]);

      nowMs = TOMORROW_MS;
      await latch.until((runs) => runs.some((run) => run.today === "2025-06-16"));
      expect(latch.runs.find((run) => run.today === "2025-06-16")).toEqual({ today: "2025-06-16", deleted: 1 });
      expect(store.get("FRA-E-4")).toBeUndefined();
      expect(store.get("FRA-E-5")).toBeDefined();
    } finally {
      await purger.stop();
    }
  });

  it("logs a failed run with its code only and runs again on the next interval", async () => {
    const lines: string[] = [];
    const logger = createLogger({ component: "test", destination: { write: (line: string) => void lines.push(line) } });
    const failing = {
      purgeExpired: () => Promise.reject(new WatchmeshError(ErrorCode.Unavailable, "record store is closed", { cause: new Error("secret detail") })),
    };
    const latch = new RunLatch();
    const purger = ExpiryPurger.start({ store: failing, intervalMs: 5, now: () => TODAY_MS, logger, onPurge: latch.onPurge });
    try {
      await latch.until((runs) => runs.length >= 2);
    } finally {
      await purger.stop();
    }
    expect(latch.runs.slice(0, 2)).toEqual([
      { today: TODAY, deleted: 0, errorCode: ErrorCode.Unavailable },
      { today: TODAY, deleted: 0, errorCode: ErrorCode.Unavailable },
    ]);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged[0]).toMatchObject({ level: 50, code: ErrorCode.Unavailable, msg: "expiry purge failed" });
    expect(lines.join("")).not.toContain("secret detail");
  });

  it("survives a clock that throws and a callback that throws", async () => {
    const latch = new RunLatch();
    let calls = 0;
    const purger = ExpiryPurger.start({
      store: { purgeExpired: () => Promise.resolve(0) },
      intervalMs: 5,
      now: () => (calls++ === 0 ? Number.NaN : TODAY_MS),
      logger: silentLogger(),
      onPurge: (run) => {
        latch.onPurge(run);
        throw new Error("callback bug");
      },
    });
    try {
      await latch.until((runs) => runs.length >= 2);
    } finally {
      await purger.stop();
    }
    expect(latch.runs[0]).toMatchObject({ deleted: 0, errorCode: ErrorCode.Internal });
    expect(latch.runs[1]).toEqual({ today: TODAY, deleted: 0 });
  });

  it("stop() clears the timer, waits for a run in progress, and returns the same promise every call", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let release: (count: number) => void = () => undefined;
    let calls = 0;
    const store = {
      purgeExpired: () => {
        calls++;
        return new Promise<number>((resolve) => (release = resolve));
      },
    };
    const latch = new RunLatch();
    const purger = ExpiryPurger.start({ store, intervalMs: 1000, now: () => TODAY_MS, logger: silentLogger(), onPurge: latch.onPurge });
    expect(calls).toBe(0); // The first run waits for the event loop: start() returns first.
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);

    let stopped = false;
    const stopping = purger.stop().then(() => (stopped = true));
    expect(purger.stop()).toBe(purger.stop());
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false); // The run in progress is finished first.
    release(4);
    await stopping;
    expect(latch.runs).toEqual([{ today: TODAY, deleted: 4 }]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(1);
  });

  it("stop() before the first run cancels it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let calls = 0;
    const purger = ExpiryPurger.start({ store: { purgeExpired: () => Promise.resolve(calls++) }, intervalMs: 1000, logger: silentLogger() });
    expect(vi.getTimerCount()).toBe(1);
    await purger.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(0);
  });

  it("refuses an interval Node.js timers cannot hold", () => {
    for (const intervalMs of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => ExpiryPurger.start({ store: { purgeExpired: () => Promise.resolve(0) }, intervalMs, logger: silentLogger() }), String(intervalMs)).toThrow(
        expect.objectContaining({ code: ErrorCode.ConfigInvalid }),
      );
    }
  });
});
