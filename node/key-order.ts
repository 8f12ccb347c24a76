/**
 * An order for writing many LMDB keys so that neighbouring writes land on neighbouring B-tree pages.
 *
 * Index keys are spread uniformly over the tree, so a batch written in record order descends to a
 * random leaf page for every key; on a store of millions of records each descent misses the CPU
 * caches. Written in key order, consecutive writes share their path and pages. Sorting the strings
 * themselves costs more than it saves, so this sorts 64-bit integers natively instead: the first six
 * characters of the key (7 bits each, LMDB compares UTF-8 bytes, so ASCII order is its order) above
 * the key's position. That is close enough to LMDB's order for locality, and equal prefixes keep
 * their original order, so writes to one key are never reordered (the sort is stable per key).
 */
import { endianness } from "node:os";

const PREFIX_CHARS = 6;
const POSITION_BITS = 22;
const POSITION_LIMIT = 2 ** POSITION_BITS;
const LOW_PREFIX_BITS = 32 - POSITION_BITS;
const LOW_PREFIX_SPAN = 2 ** LOW_PREFIX_BITS;
const littleEndian = endianness() === "LE";

function prefixOf(key: string): number {
  let prefix = 0;
  for (let i = 0; i < PREFIX_CHARS; i++) {
    const code = i < key.length ? key.charCodeAt(i) : 0;
    // Any non-ASCII character sorts after ASCII, as its UTF-8 lead byte does.
    prefix = prefix * 128 + (code < 0x80 ? code : 0x7f);
  }
  return prefix;
}

/** Positions of `keys` in write order (see above); the identity order when there are too many keys. */
export function writeOrder(keys: readonly string[]): Uint32Array {
  const count = keys.length;
  const order = new Uint32Array(count);
  if (!littleEndian || count >= POSITION_LIMIT) {
    for (let i = 0; i < count; i++) order[i] = i;
    return order;
  }
  const packed = new BigUint64Array(count);
  // The same memory as 32-bit words: on a little-endian machine word 2i is the low half of packed[i].
  const words = new Uint32Array(packed.buffer);
  for (let i = 0; i < count; i++) {
    const prefix = prefixOf(keys[i] ?? "");
    words[2 * i + 1] = Math.floor(prefix / LOW_PREFIX_SPAN);
    words[2 * i] = (prefix % LOW_PREFIX_SPAN) * POSITION_LIMIT + i;
  }
  packed.sort();
  for (let i = 0; i < count; i++) order[i] = (words[2 * i] ?? 0) % POSITION_LIMIT;
  return order;
}
