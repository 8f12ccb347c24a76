import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { core, resources } from "@opentelemetry/sdk-node";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { queryPath, renderSpanRecordTree } from "../../client/cli/commands/audit.ts";
import { WatchmeshError } from "../../common/errors.ts";
import { readSpanFile, spanFileProcessor, SpanFileExporter, toSpanRecord, type SpanRecord } from "../../common/span-file.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function tempFile(name = "traces.ndjson"): Promise<string> {
  const dir = await makeTempDir();
  cleanups.push(dir.remove);
  return path.join(dir.path, name);
}

/** Real SDK spans (a provider of its own, not the global one): a client parent and two node children. */
async function makeSpans(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": "span-file-test", "process.command_args": ["--name", "Jean Dupont"] }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("span-file-test");
  const root = tracer.startSpan("watchmesh.client.check");
  root.setAttributes({ "watchmesh.query_id": "q-1", "watchmesh.requester_country": "FRA" });
  const parent = trace.setSpan(context.active(), root);
  for (const country of ["DEU", "ESP"]) {
    const child = tracer.startSpan("watchmesh.node.match", {}, parent);
    child.setAttributes({ "watchmesh.country": country, "watchmesh.status": "no_hit", "watchmesh.hit_count": 0 });
    // Free text that must not reach the file: an event and a status message.
    child.addEvent("debug", { note: "Jean Dupont" });
    child.setStatus({ code: SpanStatusCode.ERROR, message: "Jean Dupont 1980-05-01" });
    child.end();
  }
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

function exportAsync(exporter: SpanFileExporter, spans: ReadableSpan[]): Promise<core.ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe("SpanFileExporter", () => {
  it("appends one line per span with only the safe fields, and readSpanFile reads them back", async () => {
    const file = await tempFile();
    const spans = await makeSpans();
    const exporter = new SpanFileExporter(file);
    const result = await exportAsync(exporter, spans.slice(0, 1));
    expect(result.code).toBe(core.ExportResultCode.SUCCESS);
    expect((await exportAsync(exporter, spans.slice(1))).code).toBe(core.ExportResultCode.SUCCESS);
    await exporter.shutdown();

    const text = await readFile(file, "utf8");
    expect(text.trimEnd().split("\n")).toHaveLength(3);
    expect(text).not.toContain("Jean Dupont");
    expect(text).not.toContain("command_args");

    const records = await readSpanFile(file);
    expect(records).toEqual(spans.map(toSpanRecord));
    const root = records.find((record) => record.name === "watchmesh.client.check");
    expect(root).toMatchObject({ serviceName: "span-file-test", status: "unset", attributes: { "watchmesh.query_id": "q-1" } });
    expect(root?.parentSpanId).toBeUndefined();
    const children = records.filter((record) => record.parentSpanId === root?.spanId);
    expect(children.map((record) => record.attributes["watchmesh.country"]).sort()).toEqual(["DEU", "ESP"]);
    for (const child of children) {
      expect(Object.keys(child).sort()).toEqual(
        ["attributes", "durationMs", "name", "parentSpanId", "serviceName", "spanId", "startTime", "status", "traceId"],
      );
      expect(child.traceId).toBe(root?.traceId);
      expect(child.status).toBe("error");
      expect(child.durationMs).toBeGreaterThanOrEqual(0);
      expect(Number.isNaN(Date.parse(child.startTime))).toBe(false);
    }
  });

  it("shutdown() waits for every export handed to it, and later exports fail", async () => {
    const file = await tempFile();
    const spans = await makeSpans();
    const exporter = new SpanFileExporter(file);
    const results: core.ExportResult[] = [];
    // Not awaited one by one: shutdown must flush what is still queued.
    for (let i = 0; i < 20; i++) exporter.export(spans, (result) => results.push(result));
    const stopping = exporter.shutdown();
    expect(exporter.shutdown()).toBe(stopping);
    await stopping;
    expect(results).toHaveLength(20);
    expect(results.every((result) => result.code === core.ExportResultCode.SUCCESS)).toBe(true);
    expect(await readSpanFile(file)).toHaveLength(60);

    const late = await exportAsync(exporter, spans);
    expect(late.code).toBe(core.ExportResultCode.FAILED);
    expect(await readSpanFile(file)).toHaveLength(60);
  });

  it("reports a failed write to the SDK instead of throwing", async () => {
    const dir = await tempFile("dir");
    await writeFile(dir, "a file where a directory should be\n");
    const exporter = new SpanFileExporter(path.join(dir, "traces.ndjson"));
    const result = await exportAsync(exporter, await makeSpans());
    expect(result.code).toBe(core.ExportResultCode.FAILED);
    await expect(exporter.shutdown()).resolves.toBeUndefined();
  });
});

describe("spanFileProcessor", () => {
  it("writes every span a provider ends, in its own directory, by the time the provider has shut down", async () => {
    const file = path.join(await tempFile("mesh"), "traces.ndjson");
    const provider = new BasicTracerProvider({ spanProcessors: [spanFileProcessor(file)] });
    const tracer = provider.getTracer("span-file-test");
    for (let i = 0; i < 5; i++) tracer.startSpan(`span-${i}`).end();
    await provider.shutdown();
    expect((await readSpanFile(file)).map((record) => record.name)).toEqual(["span-0", "span-1", "span-2", "span-3", "span-4"]);
  });
});

describe("readSpanFile", () => {
  it("skips an unfinished last line but rejects a bad line before it", async () => {
    const file = await tempFile();
    const [span] = await makeSpans();
    if (!span) throw new Error("no span");
    const line = JSON.stringify(toSpanRecord(span));
    await writeFile(file, `${line}\n\n${line}\n${line.slice(0, 40)}`);
    expect(await readSpanFile(file)).toHaveLength(2);

    await appendFile(file, "\n" + line + "\n");
    const error = await readSpanFile(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WatchmeshError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("line 4") });

    await writeFile(file, JSON.stringify({ ...toSpanRecord(span), traceId: "not-a-trace-id" }) + "\n");
    await expect(readSpanFile(file)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("throws NOT_FOUND for a missing file", async () => {
    const file = await tempFile("missing.ndjson");
    await expect(readSpanFile(file)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("queryPath (watchmesh audit trace)", () => {
  const traceId = "a".repeat(32);
  const record = (spanId: string, name: string, parentSpanId?: string, attributes: SpanRecord["attributes"] = {}): SpanRecord => ({
    traceId,
    spanId: spanId.padStart(16, "0"),
    ...(parentSpanId ? { parentSpanId: parentSpanId.padStart(16, "0") } : {}),
    name,
    serviceName: "test",
    startTime: "2026-01-01T00:00:00.000Z",
    durationMs: 1,
    status: "unset",
    attributes,
  });
  // A batch: only the node.match spans carry a query id; the batch spans above them carry none.
  const spans = [
    record("1", "watchmesh.client.check_batch"),
    record("2", "watchmesh.coordinator.check_batch", "1"),
    record("3", "watchmesh.node.batch", "2", { "watchmesh.country": "DEU" }),
    record("4", "watchmesh.node.match", "3", { "watchmesh.country": "DEU", "watchmesh.query_id": "q-1", "watchmesh.status": "hit" }),
    record("5", "watchmesh.node.match", "3", { "watchmesh.country": "DEU", "watchmesh.query_id": "q-2" }),
    record("6", "child.of.q1", "4"),
    { ...record("7", "other.trace"), traceId: "b".repeat(32) },
  ];

  it("keeps the query's spans, their ancestors and descendants, and leaves other travellers out", () => {
    const found = queryPath(spans, "q-1");
    expect(found.traceId).toBe(traceId);
    expect(found.spans.map((span) => Number.parseInt(span.spanId, 16))).toEqual([1, 2, 3, 4, 6]);
    expect(queryPath(spans, "q-3")).toEqual({ traceId: null, spans: [] });
  });

  it("renders the path as a tree and marks a root whose parent is in another process's file", () => {
    const tree = renderSpanRecordTree(queryPath(spans.slice(1), "q-1").spans).split("\n");
    expect(tree[0]).toMatch(/^watchmesh\.coordinator\.check_batch 1\.0 ms, test at .*\(parent span not in this file\)$/);
    expect(tree[2]).toMatch(/^ {4}watchmesh\.node\.match \[DEU hit\] 1\.0 ms/);
    expect(tree[3]).toMatch(/^ {6}child\.of\.q1 /);
    expect(tree).toHaveLength(4);
  });
});
