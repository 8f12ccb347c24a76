import { unitVector as unitVectorOf, withNoise } from "../helpers/vectors.ts";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import type { PersonQuery } from "../../common/proto.ts";
import { importNdjson } from "../../node/importer.ts";
import { parseFaceTemplate } from "../../node/matching/face-index.ts";
import { createMatcher } from "../../node/matcher.ts";
import type { PersonRecord } from "../../node/record-schema.ts";
import { RecordStore } from "../../node/store.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const MODEL = "arcface-r100-v1";
const DIMENSIONS = 512;

let dir: { path: string; remove: () => Promise<void> };
let opened: RecordStore[];

beforeEach(async () => {
  dir = await makeTempDir("wm-face-store-");
  opened = [];
});
afterEach(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await dir.remove();
});

async function openStore(): Promise<RecordStore> {
  const store = await RecordStore.open({ path: path.join(dir.path, "db") });
  opened.push(store);
  return store;
}


const unitVector = (seed: number, dimensions = DIMENSIONS): number[] => unitVectorOf(seed, dimensions);
const probeOf = (base: number[], seed: number, noise = 0.5): number[] => withNoise(base, seed, noise);

const faces = { alice: unitVector(1), bruno: unitVector(2), chen: unitVector(3) };

const NAMES: Readonly<Record<string, string>> = {
  "FRA-P-1": "Alice Martin",
  "FRA-P-2": "Bruno Lefebvre",
  "FRA-P-3": "Chen Wei",
  "FRA-P-4": "Dominique Moreau",
};

function personWithFace(id: string, vector: number[] | undefined): PersonRecord {
  return {
    kind: "person",
    id,
    names: [NAMES[id] ?? "Jean Dupont"],
    dob: "1980-01-01",
    ...(vector === undefined ? {} : { face: { model: MODEL, vector } }),
  };
}

function faceQuery(embedding: number[], model = MODEL): PersonQuery {
  return { names: [], dob: "", nationality: [], sex: "", documents: [], mrz: [], face: { model, embedding } };
}

async function seed(store: RecordStore): Promise<void> {
  await store.upsert(personWithFace("FRA-P-1", faces.alice));
  await store.upsert(personWithFace("FRA-P-2", faces.bruno));
  await store.upsert(personWithFace("FRA-P-3", faces.chen));
  await store.upsert(personWithFace("FRA-P-4", undefined));
}

function matchedIds(store: RecordStore, embedding: number[]): string[] {
  return createMatcher(store)
    .matchPerson(faceQuery(embedding))
    .map((hit) => hit.recordId);
}

describe("face matching through the store", () => {
  it("finds the enrolled person from a noisy probe, as a face hit", async () => {
    const store = await openStore();
    await seed(store);
    const hits = createMatcher(store).matchPerson(faceQuery(probeOf(faces.bruno, 99)));
    expect(hits).toHaveLength(1);
    const [hit] = hits;
    expect(hit).toMatchObject({ recordId: "FRA-P-2", category: "face", matchedFeatures: ["face"] });
    expect(hit?.score).toBeGreaterThanOrEqual(0.4);
    expect(hit?.score).toBeLessThan(1);
    const template = parseFaceTemplate({ model: MODEL, vector: faces.alice }, "face", store.faceModels);
    expect(store.faceSearch(template, 10)).toEqual([{ id: "FRA-P-1", similarity: expect.closeTo(1, 5) }]);
  });

  it("finds nothing for an impostor, or for an empty embedding", async () => {
    const store = await openStore();
    await seed(store);
    expect(matchedIds(store, unitVector(1234))).toEqual([]);
    expect(matchedIds(store, [])).toEqual([]);
  });

  it("combines a face hit with a name hit on the same record", async () => {
    const store = await openStore();
    await seed(store);
    const hits = createMatcher(store).matchPerson({ ...faceQuery(faces.chen), names: ["Chen Wei"], dob: "1980-01-01" });
    expect(hits).toHaveLength(1);
    expect(hits[0]?.recordId).toBe("FRA-P-3");
    expect(hits[0]?.matchedFeatures).toEqual(expect.arrayContaining(["face", "name", "dob"]));
  });

  it("forgets a face when the record loses it or is deleted, and finds it again when re-enrolled", async () => {
    const store = await openStore();
    await seed(store);
    expect(await store.upsert(personWithFace("FRA-P-1", undefined))).toBe("updated");
    expect(matchedIds(store, faces.alice)).toEqual([]);
    expect(await store.remove("FRA-P-2")).toBe(true);
    expect(matchedIds(store, faces.bruno)).toEqual([]);
    // An entity replacing a person (same id) takes its face away too.
    await store.upsert({ kind: "entity", id: "FRA-P-3", type: "phone", value: "+33612345678" });
    expect(matchedIds(store, faces.chen)).toEqual([]);

    await store.upsert(personWithFace("FRA-P-2", faces.bruno));
    expect(matchedIds(store, probeOf(faces.bruno, 7))).toEqual(["FRA-P-2"]);
    // A changed face replaces the old one.
    await store.upsert(personWithFace("FRA-P-2", faces.alice));
    expect(matchedIds(store, faces.bruno)).toEqual([]);
    expect(matchedIds(store, faces.alice)).toEqual(["FRA-P-2"]);
  });

  it("keeps the face index across a reopen (persisted on close)", async () => {
    const store = await openStore();
    await seed(store);
    // Written before the first commit that touched a face; removed by the flush in close().
    expect(existsSync(path.join(dir.path, "db", "face-index.dirty"))).toBe(true);
    await store.close();
    expect(existsSync(path.join(dir.path, "db", `face-${MODEL}.usearch`))).toBe(true);
    expect(existsSync(path.join(dir.path, "db", "face-index.dirty"))).toBe(false);
    const reopened = await openStore();
    expect(matchedIds(reopened, probeOf(faces.chen, 5))).toEqual(["FRA-P-3"]);
    expect(matchedIds(reopened, faces.alice)).toEqual(["FRA-P-1"]);
  });

  it("rebuilds the face index from the records after a crash left it incomplete", async () => {
    const store = await openStore();
    await seed(store);
    await store.remove("FRA-P-1");
    await store.close();
    // What a crash after some commits looks like: the marker is there and the file is stale or gone.
    await rm(path.join(dir.path, "db", `face-${MODEL}.usearch`));
    await writeFile(path.join(dir.path, "db", "face-index.dirty"), "crash\n");
    const reopened = await openStore();
    expect(existsSync(path.join(dir.path, "db", "face-index.dirty"))).toBe(false);
    expect(matchedIds(reopened, faces.bruno)).toEqual(["FRA-P-2"]);
    expect(matchedIds(reopened, faces.chen)).toEqual(["FRA-P-3"]);
    expect(matchedIds(reopened, faces.alice)).toEqual([]);
  });

  it("indexes faces imported from NDJSON and flushes them at the end of the import", async () => {
    const store = await openStore();
    const ndjson = [personWithFace("FRA-P-7", faces.alice), personWithFace("FRA-P-8", faces.bruno)].map((record) => JSON.stringify(record)).join("\n");
    const report = await importNdjson(store, { stream: Readable.from([ndjson]) });
    expect(report.inserted).toBe(2);
    expect(existsSync(path.join(dir.path, "db", "face-index.dirty"))).toBe(false);
    expect(existsSync(path.join(dir.path, "db", `face-${MODEL}.usearch`))).toBe(true);
    expect(matchedIds(store, probeOf(faces.bruno, 11))).toEqual(["FRA-P-8"]);
  });

  it("refuses a face query of the wrong dimension or an unknown model as INVALID_ARGUMENT", async () => {
    const store = await openStore();
    await seed(store);
    const matcher = createMatcher(store);
    expect(() => matcher.matchPerson(faceQuery(unitVector(8, 128)))).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining("512") }),
    );
    expect(() => matcher.matchPerson(faceQuery(faces.alice, "no-such-model"))).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });

  it("refuses a record whose face does not fit its model before writing anything", async () => {
    const store = await openStore();
    const bad = { ...personWithFace("FRA-P-9", undefined), face: { model: MODEL, vector: [1, 2, 3] } };
    await expect(store.applyBatch([bad])).rejects.toMatchObject({ code: ErrorCode.InvalidRecord });
    expect(store.get("FRA-P-9")).toBeUndefined();
  });
});
