/**
 * Face templates and their nearest-neighbour index.
 *
 * `FaceIndex` keeps one usearch HNSW index (cosine metric) per face model, each in its own file beside
 * the LMDB environment: `<dir>/face-<model>.usearch`. Records are addressed by a numeric key
 * (0 ≤ key < 2⁶⁴ − 1): the store must give every person record a stable numeric key and map it back to
 * the record id; a key is never reused for another record while the index may still hold it.
 *
 * Durability. The index lives in memory and is written on `flush()` and `close()`: each file is written
 * to a temp file, fsynced and renamed over the old one, so a crash leaves either the old or the new file.
 * Changes since the last flush are lost in a crash, so the index is a cache of the store: the first
 * change after a flush creates a marker file (`face-index.dirty`, fsynced), a complete flush removes it,
 * and `open()` finding the marker deletes the stale files, starts empty and reports `needsRebuild`; the
 * store then passes every face template it holds to `rebuild()`. The marker stays until that finishes.
 *
 * Search is approximate (HNSW); `expansionSearch` trades speed for recall. Results below the model's
 * threshold are dropped, so a search answers "who in the gallery is similar enough", not "the top k".
 */
import { closeSync, fsyncSync, openSync, writeFileSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import usearch from "usearch";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import {
  DEFAULT_FACE_MODELS,
  FACE_MODEL_NAME_PATTERN,
  faceSchemaFor,
  MAX_FACE_DIMENSIONS,
  type FaceModelOverrides,
  type FaceModelSpec,
  type FaceTemplate,
} from "./biometric-schema.ts";

export type { FaceModelOverrides, FaceModelSpec, FaceTemplate } from "./biometric-schema.ts";

export type FaceModelRegistry = Readonly<Record<string, Readonly<FaceModelSpec>>>;

/** The key usearch reserves for empty slots; not usable as a record key. */
const MAX_RECORD_KEY = 2n ** 64n - 2n;
const DIRTY_MARKER = "face-index.dirty";
/** One vector per call: usearch's thread pool costs more than it saves, and the caller blocks anyway. */
const SINGLE_THREAD = 1;
/** Rebuilds add in batches of this many templates, on all cores. */
const REBUILD_BATCH = 4096;

/**
 * Validates a `face` field ({model, vector}) against a model registry and returns the template with a
 * unit-length float32 vector. Throws WatchmeshError(InvalidRecord) naming the field, never a value.
 */
export function parseFaceTemplate(input: unknown, field = "face", models: FaceModelRegistry = DEFAULT_FACE_MODELS): FaceTemplate {
  let schema = schemaByRegistry.get(models);
  if (schema === undefined) {
    schema = faceSchemaFor(models);
    schemaByRegistry.set(models, schema);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const describe = (issue: (typeof issues)[number]): string => {
    const where = [field, ...issue.path.map(String)].join(".");
    // zod's own messages name types and limits, never the input; unknown keys are listed by zod.
    return `field "${where}": ${issue.message}`;
  };
  const first = issues[0];
  throw new WatchmeshError(ErrorCode.InvalidRecord, `invalid face template: ${issues.slice(0, 3).map(describe).join("; ")}`, {
    context: { field: first ? [field, ...first.path.map(String)].join(".") : field },
  });
}

const schemaByRegistry = new WeakMap<FaceModelRegistry, ReturnType<typeof faceSchemaFor>>();

/** The default registry with per-node overrides applied; throws ConfigInvalid on a bad override. */
export function resolveFaceModels(overrides: FaceModelOverrides = {}): FaceModelRegistry {
  const models: Record<string, FaceModelSpec> = {};
  for (const [name, spec] of Object.entries(DEFAULT_FACE_MODELS)) models[name] = { ...spec };
  for (const [name, override] of Object.entries(overrides)) {
    if (!FACE_MODEL_NAME_PATTERN.test(name)) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, "face model names must match [a-z0-9][a-z0-9._-]{0,63}");
    }
    const base = models[name];
    const dimensions = override.dimensions ?? base?.dimensions;
    const threshold = override.threshold ?? base?.threshold;
    if (dimensions === undefined || threshold === undefined) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `face model ${name} is not built in: give both dimensions and threshold`);
    }
    if (base !== undefined && dimensions !== base.dimensions) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `face model ${name} has ${base.dimensions} dimensions; it cannot be overridden`);
    }
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_FACE_DIMENSIONS) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `face model ${name}: dimensions must be an integer 1..${MAX_FACE_DIMENSIONS}`);
    }
    if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 1) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `face model ${name}: threshold must be a cosine similarity in (0, 1]`);
    }
    models[name] = { dimensions, threshold };
  }
  return models;
}

export interface FaceIndexOptions {
  /** The node's data directory (beside the LMDB environment); created if missing. */
  dir: string;
  /** Per-node registry changes (thresholds of built-in models, or extra models). */
  models?: FaceModelOverrides;
  /**
   * HNSW graph degree; stored in the file, so it applies to new index files only. Default 32: with 16,
   * 0.4% of genuine probes were missed in `bench face-eval` (512-d, 10,000 enrolled); with 32, none.
   */
  connectivity?: number;
  /** Candidate list size while adding. Default 128. */
  expansionAdd?: number;
  /** Candidate list size while searching: higher is slower with better recall. Default 256. */
  expansionSearch?: number;
}

export interface FaceSearchHit {
  key: bigint;
  /** Cosine similarity, -1..1; at least the model's threshold. */
  similarity: number;
}

interface ResolvedOptions {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
}

export interface FaceIndexEntry {
  key: bigint | number;
  template: FaceTemplate;
}

type UsearchIndex = InstanceType<typeof usearch.Index>;

interface ModelIndex {
  spec: Readonly<FaceModelSpec>;
  index: UsearchIndex;
  dirty: boolean;
}

function toRecordKey(key: bigint | number): bigint {
  if (typeof key === "number" && !Number.isSafeInteger(key)) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, "face record key must be a safe integer or a bigint");
  }
  const value = BigInt(key);
  if (value < 0n || value > MAX_RECORD_KEY) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, "face record key must be in 0..2^64-2");
  }
  return value;
}

function indexFileName(model: string): string {
  return `face-${model}.usearch`;
}

function fsyncPath(target: string): void {
  const fd = openSync(target, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function exists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

export class FaceIndex {
  /** The registry in force (defaults with this node's overrides). */
  readonly models: FaceModelRegistry;
  readonly #dir: string;
  readonly #options: ResolvedOptions;
  readonly #indexes = new Map<string, ModelIndex>();
  #markerWritten: boolean;
  #rebuildPending: boolean;
  #closed: Promise<void> | undefined;

  private constructor(dir: string, models: FaceModelRegistry, options: ResolvedOptions, needsRebuild: boolean) {
    this.#dir = dir;
    this.models = models;
    this.#options = options;
    this.#markerWritten = needsRebuild;
    this.#rebuildPending = needsRebuild;
  }

  /**
   * True when the previous process changed the index without flushing it: the index opened empty and
   * stays marked as incomplete (across restarts) until `rebuild()` has run.
   */
  get needsRebuild(): boolean {
    return this.#rebuildPending;
  }

  /** Opens (or creates) the per-model index files in `dir`. */
  static async open(options: FaceIndexOptions): Promise<FaceIndex> {
    const models = resolveFaceModels(options.models);
    const resolved = {
      connectivity: options.connectivity ?? 32,
      expansionAdd: options.expansionAdd ?? 128,
      expansionSearch: options.expansionSearch ?? 256,
    };
    await mkdir(options.dir, { recursive: true });
    // Leftover temp files of an interrupted flush are garbage.
    for (const name of await readdir(options.dir)) {
      if (name.startsWith("face-") && name.includes(".usearch.tmp-")) await rm(path.join(options.dir, name), { force: true });
    }
    const needsRebuild = await exists(path.join(options.dir, DIRTY_MARKER));
    const faceIndex = new FaceIndex(options.dir, models, resolved, needsRebuild);
    if (needsRebuild) {
      // The files are older than the store's state; drop them so that no stale file outlives a rebuild.
      for (const name of await readdir(options.dir)) {
        if (name.startsWith("face-") && name.endsWith(".usearch")) await rm(path.join(options.dir, name), { force: true });
      }
    } else {
      for (const [model, spec] of Object.entries(models)) {
        const file = path.join(options.dir, indexFileName(model));
        if (!(await exists(file))) continue;
        const entry = faceIndex.#create(model, spec);
        try {
          entry.index.load(file);
        } catch (error) {
          throw new WatchmeshError(ErrorCode.ConfigInvalid, `face index file for model ${model} cannot be read; delete it and rebuild`, {
            cause: error,
          });
        }
        if (entry.index.dimensions() !== spec.dimensions) {
          throw new WatchmeshError(
            ErrorCode.ConfigInvalid,
            `face index file for model ${model} has ${entry.index.dimensions()} dimensions, the registry says ${spec.dimensions}`,
          );
        }
      }
    }
    return faceIndex;
  }

  /**
   * Replaces the whole index with `templates` (every face template the store holds), flushes, and
   * clears `needsRebuild`. Templates of models not in the registry are an error.
   */
  async rebuild(templates: Iterable<FaceIndexEntry> | AsyncIterable<FaceIndexEntry>): Promise<void> {
    this.#assertOpen();
    this.#markDirty();
    this.#rebuildPending = true;
    const models = [...this.#indexes.keys()];
    this.#indexes.clear();
    // Models that end up empty still get an (empty) file, replacing their old one.
    for (const model of models) {
      const spec = this.models[model];
      if (spec !== undefined) this.#create(model, spec).dirty = true;
    }
    let batch = new Map<bigint, FaceTemplate>();
    for await (const { key, template } of templates) {
      this.#entryFor(template); // validates the model and dimension before anything is added
      batch.set(toRecordKey(key), template);
      if (batch.size >= REBUILD_BATCH) {
        this.#addBatch(batch);
        batch = new Map();
      }
    }
    this.#addBatch(batch);
    this.#rebuildPending = false;
    await this.#flush();
  }

  /** Validates a `face` field against this node's registry (see `parseFaceTemplate`). */
  parse(input: unknown, field = "face"): FaceTemplate {
    return parseFaceTemplate(input, field, this.models);
  }

  /** Indexes a record's template, replacing whatever the key held before (in any model). */
  add(recordKey: bigint | number, template: FaceTemplate): void {
    this.#assertOpen();
    const key = toRecordKey(recordKey);
    const entry = this.#entryFor(template);
    this.#markDirty();
    for (const other of this.#indexes.values()) this.#removeFrom(other, key);
    entry.index.add(key, template.vector, SINGLE_THREAD);
    entry.dirty = true;
  }

  /** Removes a record's template; true if the key was indexed. */
  remove(recordKey: bigint | number): boolean {
    this.#assertOpen();
    const key = toRecordKey(recordKey);
    let removed = false;
    for (const entry of this.#indexes.values()) {
      if (entry.index.contains(key) === true) {
        this.#markDirty();
        removed = this.#removeFrom(entry, key) || removed;
      }
    }
    return removed;
  }

  /**
   * Up to k records of the template's model whose similarity reaches the model's threshold, most
   * similar first.
   */
  search(template: FaceTemplate, k: number): FaceSearchHit[] {
    this.#assertOpen();
    if (!Number.isInteger(k) || k < 1) throw new WatchmeshError(ErrorCode.InvalidArgument, "k must be a positive integer");
    const entry = this.#entryFor(template, false);
    if (entry === undefined || entry.index.size() === 0) return [];
    const matches = entry.index.search(template.vector, k, SINGLE_THREAD);
    const hits: FaceSearchHit[] = [];
    for (let i = 0; i < matches.keys.length; i++) {
      const key = matches.keys[i];
      const distance = matches.distances[i];
      if (key === undefined || distance === undefined) continue;
      const similarity = 1 - distance;
      if (similarity >= entry.spec.threshold) hits.push({ key, similarity });
    }
    return hits;
  }

  /**
   * Writes the dirty marker now (once per flush cycle), before the caller commits a change the index
   * will follow: a crash between that commit and `add`/`remove` then still leads to a rebuild.
   */
  markDirty(): void {
    this.#assertOpen();
    this.#markDirty();
  }

  /** Number of indexed templates, for one model or all. */
  size(model?: string): number {
    if (model !== undefined) return this.#indexes.get(model)?.index.size() ?? 0;
    let total = 0;
    for (const entry of this.#indexes.values()) total += entry.index.size();
    return total;
  }

  /** Writes every changed model index (temp file, fsync, rename), then clears the dirty marker. */
  async flush(): Promise<void> {
    this.#assertOpen();
    await this.#flush();
  }

  /** Flushes and releases the indexes. Idempotent: every call gets the same promise. */
  close(): Promise<void> {
    this.#closed ??= this.#flush().finally(() => this.#indexes.clear());
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #flush(): Promise<void> {
    for (const [model, entry] of this.#indexes) {
      if (!entry.dirty) continue;
      const file = path.join(this.#dir, indexFileName(model));
      const temp = `${file}.tmp-${process.pid}`;
      try {
        entry.index.save(temp);
        fsyncPath(temp);
        await rename(temp, file);
      } catch (error) {
        await rm(temp, { force: true });
        throw new WatchmeshError(ErrorCode.Internal, `could not write the face index for model ${model}`, { cause: error });
      }
      entry.dirty = false;
    }
    if (this.#markerWritten && !this.#rebuildPending) {
      fsyncPath(this.#dir);
      await rm(path.join(this.#dir, DIRTY_MARKER), { force: true });
      fsyncPath(this.#dir);
      this.#markerWritten = false;
    }
  }

  /** Synchronous so that add/remove stay synchronous; runs once per flush cycle. */
  #markDirty(): void {
    if (this.#markerWritten) return;
    const marker = path.join(this.#dir, DIRTY_MARKER);
    writeFileSync(marker, "changed since the last flush; rebuild from the store\n");
    fsyncPath(marker);
    fsyncPath(this.#dir);
    this.#markerWritten = true;
  }

  #entryFor(template: FaceTemplate): ModelIndex;
  #entryFor(template: FaceTemplate, create: false): ModelIndex | undefined;
  #entryFor(template: FaceTemplate, create = true): ModelIndex | undefined {
    const spec = Object.hasOwn(this.models, template.model) ? this.models[template.model] : undefined;
    if (spec === undefined) throw new WatchmeshError(ErrorCode.InvalidArgument, "face template: unknown model");
    if (template.vector.length !== spec.dimensions) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, `face template: model ${template.model} needs ${spec.dimensions} dimensions`);
    }
    const entry = this.#indexes.get(template.model);
    if (entry !== undefined || !create) return entry;
    return this.#create(template.model, spec);
  }

  #create(model: string, spec: Readonly<FaceModelSpec>): ModelIndex {
    const index = new usearch.Index({
      dimensions: spec.dimensions,
      metric: usearch.MetricKind.Cos,
      quantization: usearch.ScalarKind.F32,
      connectivity: this.#options.connectivity,
      expansion_add: this.#options.expansionAdd,
      expansion_search: this.#options.expansionSearch,
      multi: false,
    });
    const entry: ModelIndex = { spec, index, dirty: false };
    this.#indexes.set(model, entry);
    return entry;
  }

  /** Adds many templates at once, on all cores; a later template for a key replaces an earlier one. */
  #addBatch(batch: ReadonlyMap<bigint, FaceTemplate>): void {
    const byModel = new Map<string, { keys: bigint[]; vectors: Float32Array[] }>();
    for (const [key, template] of batch) {
      for (const entry of this.#indexes.values()) this.#removeFrom(entry, key);
      let group = byModel.get(template.model);
      if (group === undefined) {
        group = { keys: [], vectors: [] };
        byModel.set(template.model, group);
      }
      group.keys.push(key);
      group.vectors.push(template.vector);
    }
    for (const [model, group] of byModel) {
      const entry = this.#indexes.get(model) ?? this.#create(model, this.models[model] as FaceModelSpec);
      entry.index.add(BigUint64Array.from(group.keys), group.vectors, 0);
      entry.dirty = true;
    }
  }

  #removeFrom(entry: ModelIndex, key: bigint): boolean {
    if (entry.index.contains(key) !== true) return false;
    entry.index.remove(key);
    entry.dirty = true;
    return true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new WatchmeshError(ErrorCode.Unavailable, "face index is closed");
  }
}
