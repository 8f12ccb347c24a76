import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { MAX_RECORD_LINE_BYTES } from "../../common/limits.ts";
import { importNdjson, type ImportProgress } from "../../node/importer.ts";
import { generateSampleRecords, sampleRecordsToNdjson } from "../../node/sample-data.ts";
import { RecordStore } from "../../node/store.ts";

let dir: string;
let store: RecordStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "wm-import-"));
  store = await RecordStore.open({ path: path.join(dir, "db") });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const person = (n: number, extra: object = {}): string =>
  JSON.stringify({ kind: "person", id: `FRA-P-${n}`, names: [`Jean Dupont ${n}`], dob: "1980-05-01", ...extra });

async function writeLines(name: string, lines: string[], ending = "\n"): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, lines.join(ending) + ending);
  return file;
}

describe("importNdjson", () => {
  it("rejects bad lines with their line numbers and keeps every valid line around them", async () => {
    const secret = "Zq9SECRET";
    const file = await writeLines("mixed.ndjson", [
      person(1),
      `{"kind":"person","id":"${secret}"`, // 2: invalid JSON
      person(2),
      person(3, { dob: "1980-02-30" }), // 4: invalid field
      "", // 5: blank
      JSON.stringify({ kind: "person", id: "FRA-P-4", names: ["x".repeat(MAX_RECORD_LINE_BYTES)] }), // 6: oversized
      "   ", // 7: blank
      JSON.stringify({ kind: "entity", id: "FRA-E-1", type: "phone", value: "+33 6 12 34 56 78" }),
      person(5),
    ]);
    const report = await importNdjson(store, { path: file }, { batchSize: 2 });
    expect(report).toMatchObject({ lines: 7, inserted: 4, updated: 0, unchanged: 0, deleted: 0, notFound: 0 });
    expect(report.rejected.map((r) => [r.line, r.code])).toEqual([
      [2, ErrorCode.InvalidRecord],
      [4, ErrorCode.InvalidRecord],
      [6, ErrorCode.PayloadTooLarge],
    ]);
    expect(report.rejected[1]?.message).toContain('"dob"');
    expect(JSON.stringify(report)).not.toContain(secret);
    for (const id of ["FRA-P-1", "FRA-P-2", "FRA-P-5", "FRA-E-1"]) expect(store.get(id), id).toBeDefined();
    expect(store.get("FRA-P-3")).toBeUndefined();
    expect(store.get("FRA-P-4")).toBeUndefined();
    expect(store.stats()).toMatchObject({ persons: 3, entities: 1 });
  });

  it("reports everything unchanged on re-import and writes nothing", async () => {
    const file = await writeLines("sample.ndjson", [person(1), "not json", person(2), person(3)]);
    const first = await importNdjson(store, { path: file });
    expect(first).toMatchObject({ lines: 4, inserted: 3 });
    const stats = store.stats();
    const second = await importNdjson(store, { path: file });
    expect(second).toEqual({ ...first, inserted: 0, unchanged: 3 });
    expect(store.stats()).toEqual(stats);
  });

  it("updates changed records and applies delete operations", async () => {
    await importNdjson(store, { path: await writeLines("a.ndjson", [person(1), person(2), person(3)]) });
    const report = await importNdjson(store, {
      path: await writeLines("b.ndjson", [
        person(1, { action: "arrest" }),
        '{"op":"delete","id":"FRA-P-2"}',
        '{"op":"delete","id":"FRA-P-404"}',
        person(3),
      ]),
    });
    expect(report).toMatchObject({ lines: 4, inserted: 0, updated: 1, unchanged: 1, deleted: 1, notFound: 1, rejected: [] });
    expect(store.get("FRA-P-1")?.action).toBe("arrest");
    expect(store.get("FRA-P-2")).toBeUndefined();
  });

  it("reads CRLF files, a final line without newline and a UTF-8 byte order mark", async () => {
    const file = path.join(dir, "crlf.ndjson");
    await writeFile(file, `\uFEFF${person(1)}\r\n${person(2, { names: ["Müller Straße"] })}\r\n${person(3)}`);
    const report = await importNdjson(store, { path: file });
    expect(report).toMatchObject({ lines: 3, inserted: 3, rejected: [] });
    expect(store.get("FRA-P-2")).toMatchObject({ names: ["Müller Straße"] });
  });

  it("rejects a line that is not valid UTF-8", async () => {
    const file = path.join(dir, "latin1.ndjson");
    await writeFile(file, Buffer.concat([Buffer.from(person(1) + "\n"), Buffer.from([0x7b, 0xe9, 0x7d, 0x0a]), Buffer.from(person(2) + "\n")]));
    const report = await importNdjson(store, { path: file });
    expect(report.inserted).toBe(2);
    expect(report.rejected).toEqual([{ line: 2, code: ErrorCode.InvalidRecord, message: "invalid record: line is not valid UTF-8" }]);
  });

  it("reads a stream whose chunks split lines and characters anywhere", async () => {
    const bytes = Buffer.from([person(1, { names: ["Łukasz Wróbel"] }), person(2, { names: ["Αθανάσιος Βασιλείου"] }), ""].join("\n"));
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += 7) chunks.push(bytes.subarray(offset, offset + 7));
    const progress: ImportProgress[] = [];
    const report = await importNdjson(store, { stream: Readable.from(chunks) }, { onProgress: (p) => progress.push(p) });
    expect(report).toMatchObject({ lines: 2, inserted: 2, rejected: [] });
    expect(store.get("FRA-P-2")).toMatchObject({ names: ["Αθανάσιος Βασιλείου"] });
    expect(progress.at(-1)).toEqual({ bytesRead: bytes.length, lines: 2 });
  });

  it("reports progress after each batch, ending at the file size", async () => {
    const lines = Array.from({ length: 25 }, (_, i) => person(i + 1));
    const file = await writeLines("progress.ndjson", lines);
    const size = (await stat(file)).size;
    const progress: ImportProgress[] = [];
    await importNdjson(store, { path: file }, { batchSize: 10, onProgress: (p) => progress.push({ ...p }) });
    expect(progress.map((p) => p.lines)).toEqual([10, 20, 25]);
    expect(progress.every((p) => p.totalBytes === size)).toBe(true);
    const read = progress.map((p) => p.bytesRead);
    expect(read).toEqual([...read].sort((a, b) => a - b));
    expect(read.at(-1)).toBe(size);
  });

  it("fails with NOT_FOUND and a clear message for a missing file", async () => {
    const missing = path.join(dir, "missing.ndjson");
    const failure = importNdjson(store, { path: missing });
    await expect(failure).rejects.toBeInstanceOf(WatchmeshError);
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.NotFound, message: `import file not found: ${missing}` });
  });

  it("refuses a directory as input", async () => {
    await expect(importNdjson(store, { path: dir })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it("stops when aborted", async () => {
    const file = await writeLines("abort.ndjson", [person(1)]);
    const controller = new AbortController();
    controller.abort();
    await expect(importNdjson(store, { path: file }, { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
    expect(store.get("FRA-P-1")).toBeUndefined();
  });

  it("imports generated sample data without rejections", async () => {
    const records = generateSampleRecords({ country: "DEU", persons: 300, entities: 150, seed: 7 });
    const file = path.join(dir, "sample.ndjson");
    await writeFile(file, sampleRecordsToNdjson(records));
    const report = await importNdjson(store, { path: file });
    expect(report).toMatchObject({ lines: 450, inserted: 450, rejected: [] });
    expect(store.stats()).toMatchObject({ persons: 300, entities: 150 });
  });

  it("prepares lines in a worker thread with the same outcome, rejections and stored records as in-thread", async () => {
    const lines = [
      person(1),
      "{not json",
      person(2, { documents: [{ type: "passport", number: "12AB34567", country: "FRA" }] }),
      JSON.stringify({ kind: "entity", id: "FRA-E-1", type: "phone", value: "+33 6 12 34 56 78" }),
      person(3, { dob: "1980-13-01" }),
      JSON.stringify({ op: "delete", id: "FRA-P-1" }),
      JSON.stringify({ op: "delete", id: "FRA-P-9" }),
      person(4, { names: ["Мухаммад Абд аль-Рахман"] }),
    ];
    const file = await writeLines("both.ndjson", lines);
    const inThread = await importNdjson(store, { path: file }, { batchSize: 3, prepareInWorker: false });
    const other = await RecordStore.open({ path: path.join(dir, "db-worker") });
    try {
      const inWorker = await importNdjson(other, { path: file }, { batchSize: 3, prepareInWorker: true });
      expect(inWorker).toEqual(inThread);
      expect(inWorker).toMatchObject({ lines: 8, inserted: 4, deleted: 1, notFound: 1 });
      expect(inWorker.rejected.map((r) => r.line)).toEqual([2, 5]);
      for (const id of ["FRA-P-2", "FRA-P-4", "FRA-E-1"]) {
        expect(other.get(id), id).toEqual(store.get(id));
        expect(other.referenceFor(id)).not.toEqual(store.referenceFor(id)); // each store has its own secret
      }
      // The worker derived the same index keys: the stores answer the same lookups.
      expect(other.lookup("docnum:12AB34567")).toEqual(["FRA-P-2"]);
      expect(other.lookup(`ref:${other.referenceFor("FRA-P-4")}`)).toEqual(["FRA-P-4"]);
      expect(other.stats()).toMatchObject({ persons: 2, entities: 1 });
    } finally {
      await other.close();
    }
  });
});
