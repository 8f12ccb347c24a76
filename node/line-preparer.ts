/**
 * Turns batches of NDJSON record lines into lines prepared for the store (record-preparation.ts),
 * either in the calling thread or in a worker thread. Preparation (validation, canonical JSON, name
 * analysis, index keys) is about a third of an import's work and needs no store access, so a large
 * import runs it in a worker while the main thread writes the previous batch to LMDB.
 */
import { Worker } from "node:worker_threads";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { prepareLine, type PreparationContext, type PreparedLine } from "./record-preparation.ts";
import { parseRecordLine, type NativeRecord } from "./record-schema.ts";

/** A line that could not be prepared: the error's stable code and safe message. */
export interface LineRejection {
  rejected: { code: string; message: string };
}

export type PreparationResult = PreparedLine | LineRejection;

export interface LinePreparer {
  /** One result per text, in order. */
  prepare(texts: readonly string[]): Promise<PreparationResult[]>;
  close(): Promise<void>;
}

/** Parses and prepares one line; a WatchmeshError (invalid record, underivable key) rejects the line only. */
export function prepareText(text: string, context: PreparationContext): PreparationResult {
  try {
    return prepareLine(parseRecordLine(text), context);
  } catch (error) {
    if (!(error instanceof WatchmeshError)) throw error;
    return { rejected: { code: error.code, message: error.message } };
  }
}

export function isRejection(result: PreparationResult): result is LineRejection {
  return "rejected" in result;
}

/** Prepares in the calling thread: for small imports, where starting a worker costs more than it saves. */
export function inThreadPreparer(context: PreparationContext): LinePreparer {
  return {
    prepare: (texts) => Promise.resolve(texts.map((text) => prepareText(text, context))),
    close: () => Promise.resolve(),
  };
}

/** What the worker receives at start (structured-clonable form of a PreparationContext). */
export interface PreparationWorkerData {
  referenceSecretHex: string;
  defaultRegion?: string;
}

export type PreparationRequest = { id: number; texts: readonly string[] };
export type PreparationReply = { id: number; results: PackedResults } | { id: number; failure: string };

/**
 * Results in a form that crosses threads cheaply: all strings concatenated into one, with their lengths
 * and the item layout in one transferable Uint32Array. Copying millions of small objects and strings
 * between threads costs the receiving thread about as much as preparing the lines itself.
 */
export interface PackedResults {
  text: string;
  /** Per item: tag (0 upsert, 1 upsert with face, 2 delete, 3 rejected), then its strings' lengths. */
  layout: Uint32Array;
}

const Tag = { Upsert: 0, UpsertWithFace: 1, Delete: 2, Rejected: 3 } as const;

export function packResults(results: readonly PreparationResult[]): PackedResults {
  const parts: string[] = [];
  const layout: number[] = [results.length];
  const add = (value: string): void => {
    parts.push(value);
    layout.push(value.length);
  };
  for (const result of results) {
    if (isRejection(result)) {
      layout.push(Tag.Rejected);
      add(result.rejected.code);
      add(result.rejected.message);
    } else if (result.op === "delete") {
      layout.push(Tag.Delete);
      add(result.id);
    } else {
      layout.push(result.hasFace ? Tag.UpsertWithFace : Tag.Upsert);
      add(result.id);
      add(result.kind);
      add(result.json);
      layout.push(result.keys.length);
      for (const key of result.keys) add(key);
      layout.push(result.terms.length);
      for (const term of result.terms) add(term);
    }
  }
  return { text: parts.join(""), layout: Uint32Array.from(layout) };
}

export function unpackResults({ text, layout }: PackedResults): PreparationResult[] {
  let slot = 0;
  let position = 0;
  const next = (): number => layout[slot++] ?? 0;
  const take = (): string => {
    const length = next();
    position += length;
    return text.slice(position - length, position);
  };
  const count = next();
  const results: PreparationResult[] = [];
  for (let i = 0; i < count; i++) {
    const tag = next();
    if (tag === Tag.Rejected) {
      const code = take();
      results.push({ rejected: { code, message: take() } });
    } else if (tag === Tag.Delete) {
      results.push({ op: "delete", id: take() });
    } else {
      const id = take();
      const kind = take() as NativeRecord["kind"];
      const json = take();
      const keys = Array.from({ length: next() }, take);
      const terms = Array.from({ length: next() }, take);
      results.push({ op: "upsert", id, kind, json, keys, hasFace: tag === Tag.UpsertWithFace, terms });
    }
  }
  return results;
}

/** Prepares in `threads` worker threads, batches handed out in turn; each batch's promise settles alone. */
export function workerPreparer(context: PreparationContext, threads = 1): LinePreparer {
  const workerData: PreparationWorkerData = {
    referenceSecretHex: context.referenceSecret.toString("hex"),
    ...(context.defaultRegion === undefined ? {} : { defaultRegion: context.defaultRegion }),
  };
  const pending = new Map<number, { resolve: (results: PreparationResult[]) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: WatchmeshError | undefined;
  const failAll = (error: WatchmeshError): void => {
    failure ??= error;
    for (const { reject } of pending.values()) reject(failure);
    pending.clear();
  };
  const workers = Array.from({ length: Math.max(1, threads) }, () => {
    // A JavaScript entry point: a worker thread does not inherit the TypeScript loader of its parent.
    const worker = new Worker(new URL("../bin/preparation-worker.js", import.meta.url), { workerData });
    worker.on("message", (reply: PreparationReply) => {
      const waiting = pending.get(reply.id);
      pending.delete(reply.id);
      if ("failure" in reply) waiting?.reject(new WatchmeshError(ErrorCode.Internal, `record preparation failed: ${reply.failure}`));
      else waiting?.resolve(unpackResults(reply.results));
    });
    worker.on("error", (error) => failAll(new WatchmeshError(ErrorCode.Internal, "record preparation worker failed", { cause: error })));
    worker.on("exit", () => failAll(new WatchmeshError(ErrorCode.Internal, "record preparation worker stopped")));
    return worker;
  });
  return {
    prepare(texts) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        workers[id % workers.length]?.postMessage({ id, texts } satisfies PreparationRequest);
      });
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
