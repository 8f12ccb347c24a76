/**
 * A memo of bounded size that never forgets everything at once. Entries live in two generations of at
 * most `maxEntries` each: when the current one is full it becomes the previous one (the older previous
 * is dropped), and an entry found in the previous generation moves back into the current one. Entries
 * in use survive, unused ones age out, and a store far larger than the cache does not make it thrash
 * (clearing a full cache threw away the common names with the rare ones).
 */
export class BoundedCache<K, V> {
  readonly maxEntries: number;
  #current = new Map<K, V>();
  #previous = new Map<K, V>();

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  /** The cached value of `key`, computing (and caching) it on a miss. `compute` may return undefined. */
  getOrCompute(key: K, compute: (key: K) => V): V {
    const cached = this.#current.get(key);
    if (cached !== undefined || this.#current.has(key)) return cached as V;
    const value = this.#previous.has(key) ? (this.#previous.get(key) as V) : compute(key);
    if (this.#current.size >= this.maxEntries) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, value);
    return value;
  }

  /** Entries held (both generations; an entry may be counted twice while it moves). */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}
