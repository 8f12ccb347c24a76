/**
 * A fixed-size, direct-mapped memo of scores keyed by up to four small whole numbers (token ids): each
 * key has one slot, picked by a hash, and a new entry simply replaces whatever held the slot. Lookups
 * and stores allocate nothing, so remembering millions of comparisons costs the garbage collector
 * nothing — unlike a Map, whose entries all end up in the old generation before they are dropped.
 * The full key is stored and compared, so a collision can lose an entry but never return another's.
 */
export class ScoreMemo {
  readonly #mask: number;
  readonly #a: Float64Array;
  readonly #b: Float64Array;
  readonly #c: Float64Array;
  readonly #d: Float64Array;
  readonly #scores: Float64Array;

  /** `slotsLog2`: the memo holds 2^slotsLog2 entries (40 bytes each). */
  constructor(slotsLog2: number) {
    const slots = 2 ** slotsLog2;
    this.#mask = slots - 1;
    // Keys are ≥ -1 (−1 marks an unused part), so −2 marks an empty slot that no key matches.
    this.#a = new Float64Array(slots).fill(-2);
    this.#b = new Float64Array(slots);
    this.#c = new Float64Array(slots);
    this.#d = new Float64Array(slots);
    this.#scores = new Float64Array(slots);
  }

  /**
   * The remembered score of key (a, b, c, d), or computed and remembered. Each part must be a whole
   * number from −1 to 2^53; pass −1 for parts a key does not use.
   */
  getOrCompute(a: number, b: number, c: number, d: number, compute: () => number): number {
    const cached = this.get(a, b, c, d);
    if (cached !== undefined) return cached;
    const score = compute();
    this.set(a, b, c, d, score);
    return score;
  }

  /** The remembered score of key (a, b, c, d), if its slot still holds it (no callback to allocate). */
  get(a: number, b: number, c: number, d: number): number | undefined {
    const slot = this.#slot(a, b, c, d);
    return this.#a[slot] === a && this.#b[slot] === b && this.#c[slot] === c && this.#d[slot] === d ? this.#scores[slot] : undefined;
  }

  /** Remembers the score of key (a, b, c, d), replacing whatever held its slot. */
  set(a: number, b: number, c: number, d: number, score: number): void {
    const slot = this.#slot(a, b, c, d);
    this.#a[slot] = a;
    this.#b[slot] = b;
    this.#c[slot] = c;
    this.#d[slot] = d;
    this.#scores[slot] = score;
  }

  #slot(a: number, b: number, c: number, d: number): number {
    // Low 32 bits of each part, mixed (murmur3-style constants); the comparison above uses the whole key.
    let h = Math.imul(a | 0, 0xcc9e2d51);
    h = Math.imul(h ^ (b | 0), 0x1b873593);
    h = Math.imul(h ^ (c | 0), 0xe6546b64);
    h = Math.imul(h ^ (d | 0), 0x85ebca6b);
    // murmur3's finaliser, so that the low bits (the slot) depend on every bit of the key parts.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h & this.#mask;
  }
}
