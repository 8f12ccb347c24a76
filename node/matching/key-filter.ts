/**
 * A blocked Bloom filter of index keys: whether a key may hold records, answered in memory. Most keys a
 * query asks for hold nobody (an invented traveller's name pairs and date), and each of those costs
 * an LMDB lookup of about 2 µs (a B-tree descent through pages spread over gigabytes); the filter says
 * "nobody" for them in a fraction of a microsecond. A key it has seen is always "maybe"; a key it has
 * not seen is "maybe" about once in a hundred times, and then the store is read as before.
 *
 * Each key sets BITS_PER_KEY_SET bits inside one 512-bit block (a cache line), so a lookup touches
 * one line of memory rather than seven.
 */

import { fnv1a } from "./names/pairs.ts";

/** Bits of filter per key: about 1% false "maybe" with 6 bits set per key in 512-bit blocks. */
const BITS_PER_KEY = 12;
const BITS_PER_KEY_SET = 6;
const WORDS_PER_BLOCK = 16;

export class KeyFilter {
  readonly #words: Uint32Array;
  readonly #blocks: number;

  /** A filter sized for about `expectedKeys` keys (more only raise the share of false "maybe"). */
  constructor(expectedKeys: number) {
    this.#blocks = Math.max(1, Math.ceil((expectedKeys * BITS_PER_KEY) / (WORDS_PER_BLOCK * 32)));
    this.#words = new Uint32Array(this.#blocks * WORDS_PER_BLOCK);
  }

  /** Memory the filter holds. */
  get bytes(): number {
    return this.#words.byteLength;
  }

  add(key: string): void {
    this.#probe(key, true);
  }

  /** False only when the key was never added. */
  mayHold(key: string): boolean {
    return this.#probe(key, false);
  }

  /** Visits the key's bits, setting them (`setting`) or returning false at the first one unset. */
  #probe(key: string, setting: boolean): boolean {
    const words = this.#words;
    const base = this.#blockOf(key) * WORDS_PER_BLOCK;
    const step = hashB(key);
    let position = step >>> 16;
    for (let i = 0; i < BITS_PER_KEY_SET; i++) {
      const word = base + ((position & 511) >>> 5);
      const bit = 1 << (position & 31);
      if (setting) words[word]! |= bit;
      else if ((words[word]! & bit) === 0) return false;
      position += step | 1;
    }
    return true;
  }

  /** The block of a key: its first hash (FNV-1a) scaled to the number of blocks, so any number of blocks fits. */
  #blockOf(key: string): number {
    return Math.floor((fnv1a(key) * this.#blocks) / 4294967296);
  }
}

/** A second, independent hash (murmur3's mixing per code unit and its finaliser): picks the bits in the block. */
function hashB(text: string): number {
  let hash = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x5bd1e995);
    hash ^= hash >>> 15;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
