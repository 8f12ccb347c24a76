import type { RecordStore } from "../../node/index.ts";

/** The store reads a matcher makes, by kind: machine-independent, unlike time. */
export interface StoreReads {
  records: number;
  indexKeys: number;
  keyCounts: number;
}

export const noStoreReads = (): StoreReads => ({ records: 0, indexKeys: 0, keyCounts: 0 });

/**
 * The store as the matcher sees it, counting its reads into `reads`: record gets, index key reads
 * (`lookup`, `lookupUpTo`) and key counts. Methods run on the store itself (its private fields need it
 * as `this`).
 */
export function countingStore(store: RecordStore, reads: StoreReads): RecordStore {
  const counted: Partial<Record<keyof RecordStore, keyof StoreReads>> = { get: "records", lookup: "indexKeys", lookupUpTo: "indexKeys", keyCount: "keyCounts" };
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const kind = counted[property as keyof RecordStore];
      const method = value as (...args: unknown[]) => unknown;
      return kind === undefined
        ? method.bind(target)
        : (...args: unknown[]) => {
            reads[kind] += 1;
            return method.apply(target, args);
          };
    },
  });
}
