/**
 * A fixed-size, direct-mapped memo of scores keyed by up to four small whole numbers (token ids): each
 * key has one slot, picked by a hash, and a new entry simply replaces whatever held the slot. Lookups
 * and stores allocate nothing, so remembering millions of comparisons costs the garbage collector
 * nothing — unlike a Map, whose entries all end up in the old generation before they are dropped.
 * The full key is stored and compared, so a collision can lose an entry but never return another's.
 */
/** Key parts a, b, c, d and the score. */
const SLOT_FIELDS = 5;

export class ScoreMemo {
  readonly #mask: number;
  /**
   * Each slot's key parts and score side by side (a, b, c, d, score): a lookup in a memo of tens of
   * megabytes touches one or two cache lines, not one in each of five arrays.
   */
  readonly #slots: Float64Array;

  /** `slotsLog2`: the memo holds 2^slotsLog2 entries (40 bytes each). */
  constructor(slotsLog2: number) {
    const slots = 2 ** slotsLog2;
    this.#mask = slots - 1;
    this.#slots = new Float64Array(slots * SLOT_FIELDS);
    // Keys are ≥ -1 (−1 marks an unused part), so −2 marks an empty slot that no key matches.
    for (let slot = 0; slot < slots; slot++) this.#slots[slot * SLOT_FIELDS] = -2;
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
    const slots = this.#slots;
    const at = this.#slot(a, b, c, d) * SLOT_FIELDS;
    return slots[at] === a && slots[at + 1] === b && slots[at + 2] === c && slots[at + 3] === d ? slots[at + 4] : undefined;
  }

  /** Remembers the score of key (a, b, c, d), replacing whatever held its slot. */
  set(a: number, b: number, c: number, d: number, score: number): void {
    const slots = this.#slots;
    const at = this.#slot(a, b, c, d) * SLOT_FIELDS;
    slots[at] = a;
    slots[at + 1] = b;
    slots[at + 2] = c;
    slots[at + 3] = d;
    slots[at + 4] = score;
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
