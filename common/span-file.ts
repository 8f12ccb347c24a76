import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { SpanStatusCode, type HrTime } from "@opentelemetry/api";
import { core } from "@opentelemetry/sdk-node";
import { SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { z } from "zod";
import { ErrorCode, WatchmeshError } from "./errors.ts";

/**
 * A span file: NDJSON, one finished span per line, written by the demo and `watchmesh up` and read by
 * `watchmesh audit trace`. Only these fields are written: no events, links, status messages or resource
 * attributes besides the service name, because those are free text or describe the host and process
 * (the process detector's command line once carried a traveller's name). Span attributes are written as
 * the code sets them, which by design holds ids, digests, countries, counts and statuses only.
 */
/** The span file's name in a local mesh directory (`watchmesh demo`, `watchmesh up`). */
export const MESH_SPAN_FILE_NAME = "traces.ndjson";

const attributeValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])),
]);

const spanRecordSchema = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  spanId: z.string().regex(/^[0-9a-f]{16}$/),
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  name: z.string(),
  serviceName: z.string(),
  startTime: z.iso.datetime(),
  durationMs: z.number().nonnegative(),
  status: z.enum(["unset", "ok", "error"]),
  attributes: z.record(z.string(), attributeValue),
});

export type SpanRecord = z.infer<typeof spanRecordSchema>;

const STATUS_NAMES = { [SpanStatusCode.UNSET]: "unset", [SpanStatusCode.OK]: "ok", [SpanStatusCode.ERROR]: "error" } as const;

function hrTimeMs(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}

/** The line written for one finished span. */
export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const context = span.spanContext();
  const parentSpanId = span.parentSpanContext?.spanId;
  const attributes: SpanRecord["attributes"] = {};
  for (const [key, value] of Object.entries(span.attributes)) {
    // The SDK allows undefined and null inside arrays; undefined has no JSON form and is dropped.
    if (value !== undefined) attributes[key] = Array.isArray(value) ? value.map((item) => item ?? null) : value;
  }
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    ...(parentSpanId ? { parentSpanId } : {}),
    name: span.name,
    serviceName: String(span.resource.attributes["service.name"] ?? ""),
    startTime: new Date(hrTimeMs(span.startTime)).toISOString(),
    durationMs: hrTimeMs(span.duration),
    status: STATUS_NAMES[span.status.code],
    attributes,
  };
}

/**
 * An OpenTelemetry SpanExporter appending finished spans to a span file. Appends are chained so lines
 * keep their order and never interleave; `forceFlush()` and `shutdown()` wait for the chain. A failed
 * write is reported to the SDK as a failed export and never thrown (telemetry never crashes the host).
 */
export class SpanFileExporter implements SpanExporter {
  readonly file: string;
  #pending: Promise<void> = Promise.resolve();
  #directoryReady: Promise<unknown> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(file: string) {
    this.file = file;
  }

  export(spans: ReadableSpan[], resultCallback: (result: core.ExportResult) => void): void {
    if (this.#stopping) {
      resultCallback({ code: core.ExportResultCode.FAILED, error: new Error("span file exporter is shut down") });
      return;
    }
    const text = spans.map((span) => JSON.stringify(toSpanRecord(span)) + "\n").join("");
    this.#directoryReady ??= mkdir(path.dirname(this.file), { recursive: true });
    const write = this.#pending
      .then(() => this.#directoryReady)
      .then(() => appendFile(this.file, text, "utf8"));
    this.#pending = write.then(
      () => resultCallback({ code: core.ExportResultCode.SUCCESS }),
      (error: unknown) => resultCallback({ code: core.ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  /** Resolves once every span handed to `export()` so far is in the file (or failed to get there). */
  forceFlush(): Promise<void> {
    return this.#pending;
  }

  /** Flushes, then refuses further spans. Idempotent: the same promise every call. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#pending;
    return this.#stopping;
  }
}

/**
 * A SimpleSpanProcessor writing to a span file that flushes before it shuts down. The SDK's own
 * processor shuts its exporter down without waiting for exports still held back by resource attributes
 * being detected (the host id), so the last spans of a short command could miss the file.
 */
class FlushingSpanProcessor extends SimpleSpanProcessor {
  #stopping: Promise<void> | undefined;

  override shutdown(): Promise<void> {
    this.#stopping ??= this.forceFlush()
      .catch(() => undefined)
      .then(() => super.shutdown());
    return this.#stopping;
  }
}

/** The span processor `startTelemetry({ spanFile })` adds: every finished span is appended as it ends. */
export function spanFileProcessor(file: string): SimpleSpanProcessor {
  return new FlushingSpanProcessor(new SpanFileExporter(file));
}

/**
 * Reads a span file. A last line without its newline is skipped when it does not parse: the writer was
 * stopped in the middle of an append. Any other bad line is an error naming its line number.
 */
export async function readSpanFile(file: string): Promise<SpanRecord[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new WatchmeshError(ErrorCode.NotFound, `cannot read span file ${file}`, { cause: error });
  }
  const lines = text.split("\n");
  const records: SpanRecord[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const unfinished = index === lines.length - 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      if (unfinished) break;
      throw new WatchmeshError(ErrorCode.InvalidArgument, `span file ${file} line ${index + 1} is not JSON`, { cause: error });
    }
    const result = spanRecordSchema.safeParse(parsed);
    if (!result.success) {
      if (unfinished) break;
      throw new WatchmeshError(ErrorCode.InvalidArgument, `span file ${file} line ${index + 1} is not a span record`, { cause: result.error });
    }
    records.push(result.data);
  }
  return records;
}
