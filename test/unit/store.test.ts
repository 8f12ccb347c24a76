import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { open } from "lmdb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import type { EntityRecord, PersonRecord } from "../../node/record-schema.ts";
import { codePairs, documentKeys, entityKeys, prefixKey, recordIndexKeys, recordNameKeys } from "../../node/matching/index-keys.ts";
import { nameTokenCodeGroups } from "../../node/matching/names/index.ts";
import { createMatcher } from "../../node/matcher.ts";
import { nameTermKeys } from "../../node/matching/names/vocabulary.ts";
import { RecordStore } from "../../node/store.ts";

const nameIndexKeys = (name: string): string[] => recordNameKeys([name], undefined);
const documentIndexKey = (country: string, number: string): string | undefined => documentKeys(number, country)[0];
const entityIndexKey = (type: "phone", value: string): string | undefined => entityKeys(type, value)[0];


let dir: string;
let opened: RecordStore[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "wm-store-"));
  opened = [];
});
afterEach(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openStore(sub = "db"): Promise<RecordStore> {
  const store = await RecordStore.open({ path: path.join(dir, sub) });
  opened.push(store);
  return store;
}

const jean: PersonRecord = {
  kind: "person",
  id: "FRA-P-000123",
  names: ["Jean Dupont"],
  dob: "1980-05-01",
  nationality: ["FRA"],
  sex: "M",
  documents: [{ type: "passport", number: "12AB34567", country: "FRA" }],
  action: "discreet_check",
};
const phone: EntityRecord = { kind: "entity", id: "FRA-E-000042", type: "phone", value: "+33 6 12 34 56 78", links: ["FRA-P-000123"] };

const nameKeyOf = (name: string): string => nameIndexKeys(name)[0] ?? "";

describe("RecordStore", () => {
  it("round-trips records with defaults filled in, and counts them", async () => {
    const store = await openStore();
    expect(await store.upsert(jean)).toBe("inserted");
    expect(await store.upsert(phone)).toBe("inserted");
    expect(store.get(jean.id)).toEqual(jean);
    expect(store.get(phone.id)).toEqual({ ...phone, action: "inform_owner" });
    expect(store.get("FRA-P-999999")).toBeUndefined();
    expect(store.stats()).toMatchObject({ persons: 1, entities: 1 });
    expect(store.lookup(nameKeyOf("dupont JEAN"))).toEqual([jean.id]);
    expect(store.lookup(documentIndexKey("FRA", "12 ab 345 67") ?? "")).toEqual([jean.id]);
    expect(store.lookup(entityIndexKey("phone", "+33612345678") ?? "")).toEqual([phone.id]);
  });

  it("reads a prefix key as the range of index keys it begins", async () => {
    const store = await openStore();
    await store.upsert(jean);
    await store.upsert({ ...jean, id: "FRA-P-000124", dob: "1980-11-30" });
    await store.upsert({ ...jean, id: "FRA-P-000125", dob: "1981-05-01" });
    const fullDateKey = recordNameKeys(jean.names, jean.dob).find((key) => key.startsWith("pd:")) ?? "";
    const year1980 = prefixKey(fullDateKey.replace(/1980-05-01$/, "1980-"));
    expect(store.keyCount(year1980)).toBe(2);
    expect(store.lookup(year1980).sort()).toEqual(["FRA-P-000123", "FRA-P-000124"]);
    expect(store.keyCount(prefixKey(fullDateKey.replace(/1980-05-01$/, "1979-")))).toBe(0);
    expect(store.keyCount(fullDateKey)).toBe(1); // an ordinary key is still read exactly
  });

  it("reads at most the asked number of ids under a key or prefix key", async () => {
    const store = await openStore();
    await store.upsert(jean);
    await store.upsert({ ...jean, id: "FRA-P-000124" });
    await store.upsert({ ...jean, id: "FRA-P-000125", dob: "1980-11-30" });
    const fullDateKey = recordNameKeys(jean.names, jean.dob).find((key) => key.startsWith("pd:")) ?? "";
    expect(store.lookupUpTo(fullDateKey, 10).sort()).toEqual(["FRA-P-000123", "FRA-P-000124"]);
    expect(store.lookupUpTo(fullDateKey, 1)).toHaveLength(1);
    expect(store.lookupUpTo(fullDateKey.replace(/1980-05-01$/, "1999-01-01"), 10)).toEqual([]);
    const year1980 = prefixKey(fullDateKey.replace(/1980-05-01$/, "1980-"));
    expect(store.lookupUpTo(year1980, 10).sort()).toEqual(["FRA-P-000123", "FRA-P-000124", "FRA-P-000125"]);
    expect(store.lookupUpTo(year1980, 2)).toHaveLength(2);
  });

  it("reports unchanged for an identical record and writes nothing", async () => {
    const store = await openStore();
    await store.upsert(jean);
    const before = store.stats();
    // Same content, different key order and an explicit default: still the same record.
    const reordered: PersonRecord = {
      action: "discreet_check",
      documents: [{ country: "FRA", number: "12AB34567", type: "passport" }],
      sex: "M",
      nationality: ["FRA"],
      dob: "1980-05-01",
      names: ["Jean Dupont"],
      id: jean.id,
      kind: "person",
    };
    expect(await store.upsert(reordered)).toBe("unchanged");
    expect(await store.applyBatch([jean, jean])).toEqual(["unchanged", "unchanged"]);
    expect(store.stats()).toEqual(before);
  });

  it("counts a generation per write transaction", async () => {
    const store = await openStore();
    const start = store.stats().generation;
    await store.upsert(jean);
    expect(store.stats().generation).toBe(start + 1);
    await store.applyBatch([phone, { ...jean, action: "arrest" }, { op: "delete", id: "nope" }]);
    expect(store.stats().generation).toBe(start + 2);
  });

  it("replaces index entries on update", async () => {
    const store = await openStore();
    await store.upsert(jean);
    const updated: PersonRecord = { ...jean, names: ["Pierre Martin"], documents: [{ type: "id_card", number: "X99", country: "FRA" }] };
    expect(await store.upsert(updated)).toBe("updated");
    expect(store.lookup(nameKeyOf("Jean Dupont"))).toEqual([]);
    expect(store.lookup(documentIndexKey("FRA", "12AB34567") ?? "")).toEqual([]);
    expect(store.lookup(nameKeyOf("Martin Pierre"))).toEqual([jean.id]);
    expect(store.lookup(documentIndexKey("FRA", "x99") ?? "")).toEqual([jean.id]);
    expect(store.get(jean.id)).toEqual(updated);
    expect(store.stats()).toMatchObject({ persons: 1, entities: 0 });
  });

  it("keeps the counts right when a record changes kind", async () => {
    const store = await openStore();
    await store.upsert(jean);
    expect(await store.upsert({ ...phone, id: jean.id })).toBe("updated");
    expect(store.stats()).toMatchObject({ persons: 0, entities: 1 });
    expect(store.lookup(nameKeyOf("Jean Dupont"))).toEqual([]);
  });

  it("removes a record with its index entries", async () => {
    const store = await openStore();
    await store.upsert(jean);
    const reference = store.referenceFor(jean.id);
    expect(store.idForReference(reference)).toBe(jean.id);
    expect(await store.remove(jean.id)).toBe(true);
    expect(await store.remove(jean.id)).toBe(false);
    expect(store.get(jean.id)).toBeUndefined();
    expect(store.lookup(nameKeyOf("Jean Dupont"))).toEqual([]);
    expect(store.lookup(documentIndexKey("FRA", "12AB34567") ?? "")).toEqual([]);
    expect(store.idForReference(reference)).toBeUndefined();
    expect(store.stats()).toMatchObject({ persons: 0, entities: 0 });
  });

  it("applies a batch in order, one outcome per line", async () => {
    const store = await openStore();
    const outcomes = await store.applyBatch([
      jean,
      { ...jean, action: "arrest" },
      phone,
      { op: "delete", id: phone.id },
      { op: "delete", id: "FRA-P-000404" },
    ]);
    expect(outcomes).toEqual(["inserted", "updated", "inserted", "deleted", "not_found"]);
    expect(store.get(jean.id)?.action).toBe("arrest");
    expect(store.stats()).toMatchObject({ persons: 1, entities: 0 });
    expect(await store.applyBatch([])).toEqual([]);
  });

  it("keeps the last write when upserts are not awaited one by one", async () => {
    const store = await openStore();
    await store.upsert(jean);
    const results = await Promise.all([store.upsert({ ...jean, action: "arrest" }), store.upsert(jean)]);
    expect(results).toEqual(["updated", "updated"]);
    expect(store.get(jean.id)?.action).toBe("discreet_check");
  });

  it("validates records given to upsert", async () => {
    const store = await openStore();
    const bad = { ...jean, dob: "1980-02-30" };
    await expect(store.upsert(bad)).rejects.toMatchObject({ code: ErrorCode.InvalidRecord });
    expect(store.get(jean.id)).toBeUndefined();
  });

  it("indexes very long values under a digest instead of failing", async () => {
    const store = await openStore();
    const longName = ("Société " + "Générale Nouvelle ".repeat(30)).slice(0, 490);
    await store.upsert({ kind: "entity", id: "FRA-E-LONG", type: "organisation", value: longName });
    const key = entityKeys("organisation", longName)[0] ?? "";
    expect(key).toMatch(/^ent:organisation:#sha256:[0-9a-f]{64}$/);
    expect(store.lookup(key)).toEqual(["FRA-E-LONG"]);
    const longPersonName = "王".repeat(200);
    await store.upsert({ ...jean, names: [longPersonName] });
    expect(store.lookup(nameKeyOf(longPersonName))).toContain(jean.id);
  });

  it("gives opaque references that are stable across reopening and do not contain the id", async () => {
    const store = await openStore();
    await store.upsert(jean);
    const reference = store.referenceFor(jean.id);
    expect(reference).toMatch(/^FRA-R-[A-Z2-7]{20}$/);
    expect(reference).not.toContain(jean.id);
    expect(reference).not.toContain("000123");
    expect(store.referenceFor("FRA-P-000124")).not.toBe(reference);
    expect(store.referenceFor("no-country-prefix")).toMatch(/^REF-R-[A-Z2-7]{20}$/);
    await store.close();

    const reopened = await openStore();
    expect(reopened.referenceFor(jean.id)).toBe(reference);
    expect(reopened.idForReference(reference)).toBe(jean.id);
    expect(reopened.idForReference("FRA-R-AAAAAAAAAAAAAAAAAAAA")).toBeUndefined();

    // Another store has another secret, so the same id gets another reference.
    const other = await openStore("other");
    expect(other.referenceFor(jean.id)).not.toBe(reference);
  });

  it("keeps its data after close and reopen; close is idempotent", async () => {
    const store = await openStore();
    await store.applyBatch([jean, phone]);
    const stats = store.stats();
    const closing = store.close();
    expect(store.close()).toBe(closing);
    await closing;
    expect(() => store.get(jean.id)).toThrow(WatchmeshError);
    await expect(store.upsert(jean)).rejects.toMatchObject({ code: ErrorCode.Unavailable });

    const reopened = await openStore();
    expect(reopened.get(jean.id)).toEqual(jean);
    expect(reopened.stats()).toEqual(stats);
    expect(await reopened.upsert(jean)).toBe("unchanged");
  });

  it("uses the path as a directory even when its name has a dot", async () => {
    const store = await openStore("node.data");
    await store.upsert(jean);
    await store.close();
    const reopened = await openStore("node.data");
    expect(reopened.get(jean.id)).toEqual(jean);
  });

  it("keeps the terms of stored names, each logged once under the generation that first wrote it", async () => {
    const store = await openStore();
    expect(store.nameTermsSince(-1)).toEqual([]);
    await store.upsert(jean);
    const first = store.generation();
    expect(store.nameTermsSince(-1).sort()).toEqual(nameTermKeys(jean.names).sort());
    expect(store.nameTermsSince(first)).toEqual([]);
    // A new name brings only its new term; an unchanged record, a deletion and an entity bring none.
    await store.upsert({ ...jean, id: "FRA-P-000124", names: ["Jean Durand"] });
    await store.upsert(jean);
    await store.upsert(phone);
    await store.remove("FRA-P-000124");
    const durand = nameTermKeys(["Durand"]);
    expect(store.nameTermsSince(first)).toEqual(durand);
    // A term is never removed: a search for it reads keys that hold nobody, no harm.
    expect(store.nameTermsSince(-1)).toEqual(expect.arrayContaining(durand));
  });

  it("scans every distinct index key from one snapshot, with that snapshot's generation", async () => {
    const store = await openStore();
    await store.applyBatch([jean, { ...jean, id: "FRA-P-000124", documents: [] }, phone]);
    const generation = store.generation();
    const keys: string[] = [];
    let firstKey: () => void = () => undefined;
    const firstKeyRead = new Promise<void>((resolve) => (firstKey = resolve));
    const scanning = store.scanIndexKeys(
      (key) => {
        keys.push(key);
        firstKey();
      },
      { keysPerTurn: 1 },
    );
    await firstKeyRead;
    // Written while the scan is under way: not in its snapshot.
    const later: PersonRecord = { ...jean, id: "FRA-P-000125", documents: [{ type: "passport", number: "99ZZ99999", country: "FRA" }] };
    await store.upsert(later);
    const result = await scanning;
    expect(result).toEqual({ generation, keys: keys.length });
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(expect.arrayContaining([nameKeyOf("Jean Dupont"), documentIndexKey("FRA", "12AB34567"), entityIndexKey("phone", phone.value)]));
    expect(keys).not.toContain(documentIndexKey("FRA", "99ZZ99999"));
    for (const key of keys) expect(store.lookup(key).length).toBeGreaterThan(0);
    expect(store.indexEntryCount()).toBeGreaterThanOrEqual(keys.length);
  });

  it("stops a scan of index keys when the store is closed", async () => {
    const store = await openStore();
    await store.applyBatch([jean, phone]);
    let firstKey: () => void = () => undefined;
    const firstKeyRead = new Promise<void>((resolve) => (firstKey = resolve));
    const scanning = store.scanIndexKeys(() => firstKey(), { keysPerTurn: 1 });
    await firstKeyRead;
    await store.close();
    await expect(scanning).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });

  it("gives a store written without a name vocabulary one when it is opened", async () => {
    const store = await openStore();
    await store.upsert(jean);
    await store.upsert(phone);
    await store.close();
    // The state a store written before the vocabulary existed is in: no flag, no terms.
    const raw = open({ path: path.join(dir, "db"), noSubdir: false, maxDbs: 10 });
    const meta = raw.openDB<unknown, string>("meta", { encoding: "json" });
    await meta.remove("nameTerms");
    await raw.openDB({ name: "name-terms" }).clearAsync();
    await raw.openDB({ name: "name-term-log" }).clearAsync();
    await raw.close();
    const reopened = await openStore();
    expect(reopened.nameTermsSince(-1).sort()).toEqual(nameTermKeys(jean.names).sort());
    expect(reopened.get(jean.id)).toEqual(jean);
  });

  it("migrates a store of format 6: year-only records get term-pair keys, in one transaction, nothing else changes", async () => {
    const yearOnly: PersonRecord = { kind: "person", id: "ESP-P-1", names: ["Carmen López García"], dob: "1988", nationality: ["ESP"] };
    const store = await openStore();
    await store.applyBatch([jean, yearOnly]);
    const keysOf = (record: PersonRecord, of: RecordStore) => recordIndexKeys(record, of.referenceFor(record.id));
    const termKeys = keysOf(yearOnly, store).filter((key) => key.startsWith("pyt:"));
    expect(termKeys.length).toBeGreaterThan(0);
    const generation = store.generation();
    await store.close();
    // Rewrite the store as format 6 wrote it: the year-only record under code-pair keys (`pyo:`).
    const codeKeys = codePairs(nameTokenCodeGroups(yearOnly.names[0]!)).map((pair) => `pyo:${pair}:1988`);
    const openRaw = () => {
      const raw = open({ path: path.join(dir, "db"), noSubdir: false, maxDbs: 10 });
      return {
        raw,
        index: raw.openDB<string, string>({ name: "index", dupSort: true, encoding: "ordered-binary" }),
        recordKeys: raw.openDB<string[], string>("record-keys", { encoding: "json" }),
        meta: raw.openDB<unknown, string>("meta", { encoding: "json" }),
      };
    };
    const v6 = openRaw();
    await v6.raw.transaction(() => {
      for (const key of termKeys) v6.index.removeSync(key, yearOnly.id);
      for (const key of codeKeys) v6.index.putSync(key, yearOnly.id);
      v6.recordKeys.putSync(yearOnly.id, [...(v6.recordKeys.get(yearOnly.id) ?? []).filter((key) => !key.startsWith("pyt:")), ...codeKeys]);
      v6.meta.putSync("formatVersion", 6);
    });
    const jeanStoredKeys = v6.recordKeys.get(jean.id);
    await v6.raw.close();

    const migrated = await openStore();
    for (const key of codeKeys) expect(migrated.lookup(key)).toEqual([]);
    for (const key of termKeys) expect(migrated.lookup(key)).toEqual([yearOnly.id]);
    for (const key of keysOf(jean, migrated)) expect(migrated.lookup(key)).toContain(jean.id);
    expect(migrated.get(yearOnly.id)).toMatchObject({ names: yearOnly.names, dob: "1988" });
    expect(migrated.generation()).toBeGreaterThan(generation);
    expect(migrated.stats().persons).toBe(2);
    const hits = createMatcher(migrated).matchPerson({ names: ["Carmen Lopez Garcia"], dob: "1988-11-02", nationality: [], sex: "", mrz: [], documents: [] });
    expect(hits.map((hit) => hit.recordId)).toEqual([yearOnly.id]);
    const expectedKeys = keysOf(yearOnly, migrated).sort();
    await migrated.close();
    const v7 = openRaw();
    expect(v7.meta.get("formatVersion")).toBe(7);
    expect([...(v7.recordKeys.get(yearOnly.id) ?? [])].sort()).toEqual(expectedKeys);
    expect(v7.recordKeys.get(jean.id)).toEqual(jeanStoredKeys);
    await v7.raw.close();
  });

  it("refuses a store of another format version", async () => {
    const store = await openStore();
    await store.close();
    const raw = open({ path: path.join(dir, "db"), noSubdir: false, maxDbs: 10 });
    const meta = raw.openDB<unknown, string>("meta", { encoding: "json" });
    await meta.put("formatVersion", 99);
    await raw.close();
    await expect(RecordStore.open({ path: path.join(dir, "db") })).rejects.toMatchObject({
      code: ErrorCode.ConfigInvalid,
      message: expect.stringContaining("format version 99"),
    });
  });
});
