/**
 * Reads a node's LMDB store directly (read-only, as a second process or handle may), to check its
 * consistency and to take a digest of its contents. It knows the store's layout as documented at the
 * top of node/store.ts (format version 6): `records`, `record-keys`, `index` (dupSort), `face-keys`,
 * `meta`. Nonces, quotas and the audit log are not part of the digest: answering a query may change
 * them, but never the records or their index.
 */
import { createHash } from "node:crypto";
import { open, type RootDatabase } from "lmdb";

export interface StoreSnapshot {
  persons: number;
  entities: number;
  /** The counters in `meta` (what `RecordStore.stats()` reports). */
  counters: { persons: number; entities: number; generation: number };
  /** Entries of the index (key → record id pairs). */
  indexEntries: number;
  /** SHA-256 over records, record keys, index entries, face keys and the counters (not the generation). */
  digest: string;
  /** Every inconsistency found; empty for a consistent store. */
  problems: string[];
}

/** Snapshot of the store in `dir`: opens its own read-only handle and closes it again. */
export async function snapshotStore(dir: string): Promise<StoreSnapshot> {
  const root = open({ path: dir, noSubdir: false, maxDbs: 8, readOnly: true });
  try {
    return readSnapshot(root);
  } finally {
    await root.close();
  }
}

/**
 * A read-only handle kept open for repeated snapshots, e.g. while the store is open in this process
 * (closing a second handle of an environment this process also has open is left to the very end).
 */
export function openStoreReader(dir: string): { snapshot(): StoreSnapshot; persons(): number; close(): Promise<void> } {
  const root = open({ path: dir, noSubdir: false, maxDbs: 8, readOnly: true });
  // A read-only handle cannot create the database: it appears once the store's first transaction commits.
  let meta: ReturnType<typeof root.openDB<unknown, string>> | undefined;
  return {
    snapshot: () => readSnapshot(root),
    persons: () => {
      meta ??= root.openDB<unknown, string>("meta", { encoding: "json" }) ?? undefined;
      return Number(meta?.get("persons") ?? 0);
    },
    close: () => root.close(),
  };
}

function readSnapshot(root: RootDatabase): StoreSnapshot {
  const records = root.openDB<{ kind?: string }, string>("records", { encoding: "json" });
  const recordKeys = root.openDB<string[], string>("record-keys", { encoding: "json" });
  const index = root.openDB<string, string>("index", { dupSort: true, encoding: "ordered-binary" });
  const faceKeys = root.openDB<unknown, string>("face-keys", { encoding: "json" });
  const meta = root.openDB<unknown, string>("meta", { encoding: "json" });
  const hash = createHash("sha256");
  const problems: string[] = [];
  const note = (problem: string): void => {
    if (problems.length < 20) problems.push(problem);
  };

  let persons = 0;
  let entities = 0;
  const ids = new Set<string>();
  for (const { key, value } of records.getRange()) {
    ids.add(key);
    if (value.kind === "person") persons += 1;
    else if (value.kind === "entity") entities += 1;
    else note(`record ${key} has kind ${String(value.kind)}`);
    hash.update(`r\0${key}\0${JSON.stringify(value)}\n`);
  }
  const keysOf = new Map<string, Set<string>>();
  for (const { key, value } of recordKeys.getRange()) {
    if (!ids.has(key)) note(`record-keys for ${key}, which has no record`);
    keysOf.set(key, new Set(value));
    hash.update(`k\0${key}\0${JSON.stringify(value)}\n`);
  }
  for (const id of ids) if (!keysOf.has(id)) note(`record ${id} has no record-keys entry`);
  const indexed = new Set<string>();
  let indexEntries = 0;
  for (const { key, value } of index.getRange()) {
    indexEntries += 1;
    indexed.add(`${key}\0${value}`);
    if (!ids.has(value)) note(`index ${key} points to missing record ${value}`);
    else if (!keysOf.get(value)?.has(key)) note(`index ${key} → ${value} is not among that record's keys`);
    hash.update(`i\0${key}\0${value}\n`);
  }
  for (const [id, keys] of keysOf) for (const key of keys) if (!indexed.has(`${key}\0${id}`)) note(`record ${id} lacks its index entry ${key}`);
  for (const { key, value } of faceKeys.getRange()) hash.update(`f\0${key}\0${JSON.stringify(value)}\n`);

  const counters = { persons: Number(meta.get("persons") ?? -1), entities: Number(meta.get("entities") ?? -1), generation: Number(meta.get("generation") ?? -1) };
  if (counters.persons !== persons) note(`meta counts ${counters.persons} persons, the store holds ${persons}`);
  if (counters.entities !== entities) note(`meta counts ${counters.entities} entities, the store holds ${entities}`);
  hash.update(`m\0${counters.persons}\0${counters.entities}\n`);
  return { persons, entities, counters, indexEntries, digest: hash.digest("hex"), problems };
}
