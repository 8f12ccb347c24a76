/**
 * NDJSON import into a RecordStore: line by line, in batches of one write transaction each.
 *
 * A bad line (too long, not UTF-8, not JSON, not a valid record) is reported with its 1-based line number
 * and skipped; the lines around it are imported. Importing the same file again reports every record
 * `unchanged` and writes nothing. Blank lines are skipped and not counted.
 *
 * Lines are split here rather than with node:readline so that an oversized line is discarded while it
 * streams in (readline would first buffer all of it), and so that invalid UTF-8 is rejected instead of
 * silently replaced with U+FFFD.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { MAX_RECORD_LINE_BYTES } from "../common/limits.ts";
import { inThreadPreparer, isRejection, workerPreparer, type LinePreparer } from "./line-preparer.ts";
import type { PreparedLine } from "./record-preparation.ts";
import type { ApplyOutcome, RecordStore } from "./store.ts";

/**
 * Lines per LMDB transaction. Each commit is durable (fsync) and rewrites every index page the batch
 * touched; on a store of a million persons a batch of 100,000 touches most index pages once, so larger
 * batches import much faster (about 15,000 records/s against 11,000 with 20,000-line batches).
 */
export const DEFAULT_IMPORT_BATCH_SIZE = 100_000;

export type ImportInput = { path: string } | { stream: NodeJS.ReadableStream };

export interface ImportProgress {
  /** Bytes of input consumed so far. */
  bytesRead: number;
  /** Size of the input file; absent for streams. */
  totalBytes?: number;
  /** Non-blank lines processed so far. */
  lines: number;
}

export interface ImportOptions {
  /** Lines per write transaction (default DEFAULT_IMPORT_BATCH_SIZE). */
  batchSize?: number;
  /** Called after each batch is committed and once at the end. */
  onProgress?: (progress: ImportProgress) => void;
  /** Stops the import between lines; batches already committed stay (re-importing is idempotent). */
  signal?: AbortSignal;
  /**
   * Validate lines and derive index keys in a worker thread while the main thread writes (default: for
   * files of at least WORKER_PREPARATION_MIN_BYTES, where it saves more than starting a worker costs).
   */
  prepareInWorker?: boolean;
}

/**
 * Batches read ahead of the one committing: the worker prepares the next ones meanwhile, so that it is
 * never idle while the main thread writes (preparation is faster than writing to a large store, but
 * not to a small one).
 */
const MAX_BATCHES_IN_FLIGHT = 2;

/** Input size from which an import prepares its lines in a worker thread by default. */
export const WORKER_PREPARATION_MIN_BYTES = 8 * 1024 * 1024;

export interface RejectedLine {
  /** 1-based line number in the input. */
  line: number;
  /** A stable ErrorCode: INVALID_RECORD, or PAYLOAD_TOO_LARGE for an oversized line. */
  code: string;
  /** Safe text: names the field and the rule, never a value from the line. */
  message: string;
}

export interface ImportReport {
  /** Non-blank lines read: inserted + updated + unchanged + deleted + notFound + rejected.length. */
  lines: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Delete operations for ids that were not stored. */
  notFound: number;
  rejected: RejectedLine[];
}

interface RawLine {
  number: number;
  /** Line content without "\n" or a trailing "\r"; undefined when it exceeded the limit. */
  bytes: Buffer | undefined;
  /** Input bytes consumed up to and including this line's newline. */
  endOffset: number;
}

/** Splits a byte stream into lines, dropping the content of any line longer than `maxLineBytes`. */
async function* splitLines(chunks: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let partsBytes = 0;
  let oversized = false;
  let number = 0;
  let offset = 0;
  // One byte of slack for a "\r" before the "\n".
  const append = (segment: Buffer): void => {
    if (oversized || segment.length === 0) return;
    if (partsBytes + segment.length > maxLineBytes + 1) {
      oversized = true;
      parts = [];
      partsBytes = 0;
      return;
    }
    parts.push(segment);
    partsBytes += segment.length;
  };
  const finish = (): RawLine => {
    number += 1;
    let bytes: Buffer | undefined;
    if (!oversized) {
      const first = parts.length === 1 ? parts[0] : undefined;
      bytes = first ?? Buffer.concat(parts, partsBytes);
      if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
      if (bytes.length > maxLineBytes) bytes = undefined;
    }
    parts = [];
    partsBytes = 0;
    oversized = false;
    return { number, bytes, endOffset: offset };
  };
  for await (const chunk of chunks) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(0x0a, start);
      if (newline === -1) {
        append(buffer.subarray(start));
        offset += buffer.length - start;
        break;
      }
      append(buffer.subarray(start, newline));
      offset += newline + 1 - start;
      start = newline + 1;
      yield finish();
    }
  }
  if (partsBytes > 0 || oversized) yield finish();
}

async function openInput(input: ImportInput): Promise<{ chunks: AsyncIterable<Buffer | string>; totalBytes?: number; close: () => void }> {
  if ("stream" in input) return { chunks: input.stream, close: () => {} };
  let size: number;
  try {
    const info = await stat(input.path);
    if (!info.isFile()) throw new WatchmeshError(ErrorCode.InvalidArgument, `import path is not a file: ${input.path}`);
    size = info.size;
  } catch (error) {
    if (error instanceof WatchmeshError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new WatchmeshError(ErrorCode.NotFound, `import file not found: ${input.path}`, { cause: error });
    }
    throw new WatchmeshError(ErrorCode.Unavailable, `cannot read import file: ${input.path}`, { cause: error });
  }
  const stream = createReadStream(input.path);
  return { chunks: stream, totalBytes: size, close: () => stream.destroy() };
}

function count(report: ImportReport, outcome: ApplyOutcome): void {
  switch (outcome) {
    case "inserted":
      report.inserted += 1;
      break;
    case "updated":
      report.updated += 1;
      break;
    case "unchanged":
      report.unchanged += 1;
      break;
    case "deleted":
      report.deleted += 1;
      break;
    case "not_found":
      report.notFound += 1;
      break;
  }
}

/** Imports native NDJSON records into the store. Missing file → WatchmeshError(NotFound). */
export async function importNdjson(store: RecordStore, input: ImportInput, options: ImportOptions = {}): Promise<ImportReport> {
  const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, "batchSize must be a positive integer");
  }
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const source = await openInput(input);
  const report: ImportReport = { lines: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, notFound: 0, rejected: [] };
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const prepareInWorker = options.prepareInWorker ?? (source.totalBytes ?? 0) >= WORKER_PREPARATION_MIN_BYTES;
  const preparer: LinePreparer = prepareInWorker ? workerPreparer(store.preparationContext()) : inThreadPreparer(store.preparationContext());
  let texts: string[] = [];
  let numbers: number[] = [];
  let bytesRead = 0;

  const progress = (): void => {
    onProgress?.({ bytesRead, lines: report.lines, ...(source.totalBytes === undefined ? {} : { totalBytes: source.totalBytes }) });
  };
  const reject = (line: number, code: string, message: string): void => {
    report.rejected.push({ line, code, message });
  };
  // A pipeline of batches: the next ones are prepared (in the worker) while one commits; batches commit
  // in input order, and none after a failed one.
  let committing: Promise<void> = Promise.resolve();
  const inFlight: Promise<void>[] = [];
  const flush = async (): Promise<void> => {
    if (texts.length > 0) {
      const batchNumbers = numbers;
      const preparing = preparer.prepare(texts);
      const previous = committing;
      committing = (async () => {
        const results = await preparing;
        await previous;
        const prepared: PreparedLine[] = [];
        results.forEach((result, i) => {
          if (isRejection(result)) reject(batchNumbers[i] ?? 0, result.rejected.code, result.rejected.message);
          else prepared.push(result);
        });
        for (const outcome of await store.applyPrepared(prepared)) count(report, outcome);
      })();
      // Handled when awaited below; this only keeps a failure from surfacing as unhandled meanwhile.
      committing.catch(() => undefined);
      inFlight.push(committing);
      texts = [];
      numbers = [];
      if (inFlight.length > MAX_BATCHES_IN_FLIGHT) await inFlight.shift();
    }
    progress();
  };

  try {
    for await (const raw of splitLines(source.chunks, MAX_RECORD_LINE_BYTES)) {
      signal?.throwIfAborted();
      bytesRead = raw.endOffset;
      if (raw.bytes === undefined) {
        report.lines += 1;
        reject(raw.number, ErrorCode.PayloadTooLarge, `line is longer than ${MAX_RECORD_LINE_BYTES} bytes`);
        continue;
      }
      let text: string;
      try {
        text = decoder.decode(raw.bytes);
      } catch {
        report.lines += 1;
        reject(raw.number, ErrorCode.InvalidRecord, "invalid record: line is not valid UTF-8");
        continue;
      }
      if (text.trim() === "") continue;
      report.lines += 1;
      texts.push(text);
      numbers.push(raw.number);
      if (texts.length >= batchSize) await flush();
      else if (report.lines % 1000 === 0) progress(); // the progress bar moves between large batches too
    }
    signal?.throwIfAborted();
    await flush();
    await committing;
    // Writes the face index once per import rather than per batch (see store.ts).
    await store.flush();
    await store.recordImportOutcomes({
      inserted: report.inserted,
      updated: report.updated,
      unchanged: report.unchanged,
      deleted: report.deleted,
      not_found: report.notFound,
      rejected: report.rejected.length,
    });
  } finally {
    // Never leave a batch committing behind the caller's back, even when the import failed.
    await committing.catch(() => undefined);
    await preparer.close();
    source.close();
  }
  // Lines rejected while reading and lines rejected by preparation, in input order.
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}
