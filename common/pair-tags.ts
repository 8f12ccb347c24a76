import type { SigningIdentity } from "./key-files.ts";
import { MAX_PAIR_TAG_RECORDS } from "./limits.ts";
import type { ResolvedSigner } from "./registry.ts";
import { domainPrefix, sha256, type SignatureDomain } from "./signing.ts";
import { sodium } from "./sodium.ts";

/**
 * Pair tags: per-recipient message authentication codes on the hot path, so that a fan-out to 196
 * countries costs each party one hash and a few MACs instead of hundreds of Ed25519 operations.
 *
 * Every pair of registered keys (an asker — border system, coordinator or requesting node — and an
 * answering country node) shares two direction keys, derived with libsodium's `crypto_kx` from the
 * X25519 forms of their Ed25519 keys (the asker is the kx client, the node the kx server). Nobody
 * else can compute them, so a coordinator relaying a query or an answer can forge neither. The wire
 * form (proto/watchmesh/v1/envelope.proto, `SignedEnvelope.tags`) is a concatenation of records:
 *
 *   recipient (4 bytes: SHA-256 of the recipient's Ed25519 public key, first 4 bytes)
 *   || tag (16 bytes: BLAKE2b-128 keyed with the sender→recipient direction key over
 *           "watchmesh/v1/<kind>\0" || payload)
 *
 * Ed25519 signatures stay for what must be evidence to third parties: hits, audit, notifications.
 */
export const PAIR_TAG_BYTES = 16;
export const RECIPIENT_ID_BYTES = 4;
export const PAIR_TAG_RECORD_BYTES = RECIPIENT_ID_BYTES + PAIR_TAG_BYTES;

/** Which end of a pair this keyring is: the asker (kx client) or the answering node (kx server). */
export type PairSide = "asker" | "answerer";

interface DirectionKeys {
  publicKey: Uint8Array;
  /** The peer's recipient id in tag records. */
  recipient: Uint8Array;
  /** Key of messages this keyring sends to the peer. */
  send: Uint8Array;
  /** Key of messages this keyring receives from the peer. */
  receive: Uint8Array;
}

/** The 4-byte recipient id of a public key, as it appears in tag records. */
export function recipientId(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, RECIPIENT_ID_BYTES);
}

/**
 * One party's pair keys, derived on first use per peer key and cached (bounded). Tags cover the exact
 * payload bytes: one BLAKE2b pass, cheaper than hashing the payload first.
 */
export class PairKeyring {
  readonly identity: SigningIdentity;
  readonly recipientId: Uint8Array;
  readonly #side: PairSide;
  readonly #x25519Public: Uint8Array;
  readonly #x25519Secret: Uint8Array;
  readonly #peers = new Map<string, DirectionKeys>();
  readonly #maxPeers: number;

  constructor(identity: SigningIdentity, options: { side: PairSide; maxPeers?: number }) {
    const lib = sodium();
    this.identity = identity;
    this.recipientId = recipientId(identity.publicKey);
    this.#side = options.side;
    this.#maxPeers = options.maxPeers ?? 10_000;
    this.#x25519Public = lib.crypto_sign_ed25519_pk_to_curve25519(identity.publicKey);
    this.#x25519Secret = lib.crypto_sign_ed25519_sk_to_curve25519(identity.secretKey);
  }

  /** Tag record addressed to `peer` for a message of `kind` with these exact payload bytes. */
  tagRecordFor(peer: ResolvedSigner, kind: SignatureDomain, payload: Uint8Array): Uint8Array {
    return this.tagsFor([peer], kind, payload);
  }

  /**
   * Concatenated tag records for several peers (e.g. every node a query goes to), written into one
   * buffer; the message is copied into the hash's memory once for all of them.
   */
  tagsFor(peers: readonly ResolvedSigner[], kind: SignatureDomain, payload: Uint8Array): Uint8Array {
    const tags = new Uint8Array(peers.length * PAIR_TAG_RECORD_BYTES);
    const keys = peers.map((peer, index) => {
      const peerKeys = this.#keys(peer);
      tags.set(peerKeys.recipient, index * PAIR_TAG_RECORD_BYTES);
      return peerKeys.send;
    });
    keyedBlake2b().hashEach(keys, domainPrefix(kind), payload, { into: tags, offset: RECIPIENT_ID_BYTES, stride: PAIR_TAG_RECORD_BYTES });
    return tags;
  }

  /**
   * True when `tags` holds a record addressed to this keyring that `peer` made for this message. A
   * malformed tags field (wrong length, too many records) counts as no tag: the caller falls back to
   * the Ed25519 signature.
   */
  verifyTagFrom(peer: ResolvedSigner, tags: Uint8Array | undefined, kind: SignatureDomain, payload: Uint8Array): boolean {
    if (!tags || tags.length === 0 || tags.length % PAIR_TAG_RECORD_BYTES !== 0) return false;
    if (tags.length > MAX_PAIR_TAG_RECORDS * PAIR_TAG_RECORD_BYTES) return false;
    const hasher = keyedBlake2b();
    let hashed = false;
    for (let offset = 0; offset < tags.length; offset += PAIR_TAG_RECORD_BYTES) {
      if (!this.#isForMe(tags, offset)) continue;
      if (!hashed) hasher.hashOne(this.#keys(peer).receive, domainPrefix(kind), payload);
      hashed = true;
      if (hasher.lastTagEquals(tags, offset + RECIPIENT_ID_BYTES)) return true;
    }
    return false;
  }

  #isForMe(tags: Uint8Array, offset: number): boolean {
    const id = this.recipientId;
    return tags[offset] === id[0] && tags[offset + 1] === id[1] && tags[offset + 2] === id[2] && tags[offset + 3] === id[3];
  }

  #keys(peer: ResolvedSigner): DirectionKeys {
    const cached = this.#peers.get(peer.keyId);
    // The registry hands out the same key object each time; a reloaded registry may bring new bytes.
    if (cached && (cached.publicKey === peer.publicKey || sameBytes(cached.publicKey, peer.publicKey))) return cached;
    const lib = sodium();
    const peerX25519 = lib.crypto_sign_ed25519_pk_to_curve25519(peer.publicKey);
    const session =
      this.#side === "asker"
        ? lib.crypto_kx_client_session_keys(this.#x25519Public, this.#x25519Secret, peerX25519)
        : lib.crypto_kx_server_session_keys(this.#x25519Public, this.#x25519Secret, peerX25519);
    const keys: DirectionKeys = { publicKey: peer.publicKey, recipient: recipientId(peer.publicKey), send: session.sharedTx, receive: session.sharedRx };
    if (this.#peers.size >= this.#maxPeers) {
      const oldest = this.#peers.keys().next().value;
      if (oldest !== undefined) this.#peers.delete(oldest);
    }
    this.#peers.set(peer.keyId, keys);
    return keys;
  }
}

/**
 * Sorts a query's tag records by the country of their recipient node key, so a relay can send each
 * message of a fan-out only the records of the countries it reaches (a tag is useless to anyone but
 * its recipient). Records addressed to no listed node key (e.g. the relay's own) are left out.
 */
export class TagRouter {
  readonly #countryOf = new Map<number, string>();
  /** Per grouping (a fan-out plan's map, made once for a check of every country): each recipient's group. */
  readonly #groupOfRecipient = new WeakMap<ReadonlyMap<string, number>, Map<number, number>>();

  constructor(nodeKeys: readonly ResolvedSigner[]) {
    for (const key of nodeKeys) this.#countryOf.set(recipientNumber(recipientId(key.publicKey), 0), key.country);
  }

  /**
   * The records of `tags` gathered per group of countries (e.g. the messages of a fan-out), one buffer
   * per group, each in the records' order: a country with several keys (a rotation) keeps all its
   * records. Records for no listed key, or for a country in no group, are dropped. `groupOf` is read
   * once per map and remembered (fan-out plans are never changed once made).
   */
  group(tags: Uint8Array, groupOf: ReadonlyMap<string, number>, groupCount: number): Uint8Array[] {
    const records = Math.floor(tags.length / PAIR_TAG_RECORD_BYTES);
    const groupOfRecipient = this.#groupsOfRecipients(groupOf);
    const groupOfRecord = new Int16Array(records).fill(-1);
    const sizes = new Array<number>(groupCount).fill(0);
    for (let index = 0; index < records; index++) {
      const group = groupOfRecipient.get(recipientNumber(tags, index * PAIR_TAG_RECORD_BYTES));
      if (group === undefined || group < 0 || group >= groupCount) continue;
      groupOfRecord[index] = group;
      sizes[group]! += PAIR_TAG_RECORD_BYTES;
    }
    // One buffer holds every group, one after the other; each group is a view of it.
    const starts = new Array<number>(groupCount);
    let total = 0;
    for (let group = 0; group < groupCount; group++) {
      starts[group] = total;
      total += sizes[group]!;
    }
    const all = new Uint8Array(total);
    // Records are copied 4 bytes at a time (20 bytes, 5 words): a byte loop or a view per record to
    // set() from cost 2.5 times as much.
    const source = new DataView(tags.buffer, tags.byteOffset, tags.byteLength);
    const target = new DataView(all.buffer);
    const filled = [...starts];
    for (let index = 0; index < records; index++) {
      const group = groupOfRecord[index]!;
      if (group < 0) continue;
      const at = filled[group]!;
      const from = index * PAIR_TAG_RECORD_BYTES;
      for (let word = 0; word < PAIR_TAG_RECORD_BYTES; word += 4) target.setUint32(at + word, source.getUint32(from + word));
      filled[group] = at + PAIR_TAG_RECORD_BYTES;
    }
    return sizes.map((size, group) => all.subarray(starts[group], starts[group]! + size));
  }

  /** Each listed recipient's group under `groupOf`, worked out once per grouping. */
  #groupsOfRecipients(groupOf: ReadonlyMap<string, number>): Map<number, number> {
    let groups = this.#groupOfRecipient.get(groupOf);
    if (!groups) {
      groups = new Map();
      for (const [recipient, country] of this.#countryOf) {
        const group = groupOf.get(country);
        if (group !== undefined) groups.set(recipient, group);
      }
      this.#groupOfRecipient.set(groupOf, groups);
    }
    return groups;
  }
}

function recipientNumber(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
}

/** The 16-byte tag of a message of `kind` with `payload` under a direction key (see the file comment). */
export function pairTag(key: Uint8Array, kind: SignatureDomain, payload: Uint8Array): Uint8Array {
  return keyedBlake2b().hash(key, domainPrefix(kind), payload);
}

/** The parts of libsodium's WebAssembly module (libsodium-wrappers' `libsodium`) a tag needs. */
interface SodiumModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  _crypto_generichash(out: number, outLength: number, input: number, inputLengthLow: number, inputLengthHigh: number, key: number, keyLength: number): number;
  _crypto_generichash_statebytes(): number;
  _crypto_generichash_init(state: number, key: number, keyLength: number, outLength: number): number;
  _crypto_generichash_update(state: number, input: number, inputLengthLow: number, inputLengthHigh: number): number;
  _crypto_generichash_final(state: number, out: number, outLength: number): number;
}

/**
 * Where libsodium's BLAKE2b state (blake2b_state in its blake2.h: h[8], t[2], f[2] as 64-bit words,
 * buf[256], then buflen) keeps the number of bytes buffered, on 32-bit WebAssembly.
 */
const BLAKE2B_BUFLEN_OFFSET = 8 * 8 + 2 * 8 + 2 * 8 + 256;
const BLAKE2B_BLOCK_BYTES = 128;
/** Key states kept at most (384 bytes of WebAssembly memory each); the table is emptied when full. */
const MAX_KEY_STATES = 4096;

/**
 * Keyed BLAKE2b-128 (libsodium's crypto_generichash) called on libsodium's own WebAssembly module with
 * buffers allocated once, rather than through the wrapper, which allocates, copies and frees every
 * argument on each call: a coordinator checks one tag per country and check, and the wrapper's
 * bookkeeping cost more than the hash.
 *
 * Keyed BLAKE2b first compresses the key, padded to a 128-byte block: the same block for every message
 * under that key. So each key's state after that block is made once and kept, and a tag copies it and
 * hashes only the message: one compression fewer of the three an answer's tag takes (of the four a
 * query's takes). libsodium has no call for that state (it buffers input lazily), so it is reached by feeding
 * one byte past the key block and then marking the buffer empty; a self-check against the one-shot
 * function when the hasher is made decides whether this is used, and a libsodium laid out otherwise
 * gets the one-shot call. Same function, same bytes either way (test/unit/pair-tags.test.ts).
 */
class KeyedBlake2b {
  readonly #module: SodiumModule;
  readonly #key: number;
  readonly #out: number;
  readonly #stateBytes: number;
  /** Where a key's state is copied and the message hashed into it. */
  readonly #work: number;
  /** Bytes fed after the key block to make libsodium compress it (their values do not matter). */
  readonly #filler: number;
  /** Each key's state after its key block, by key object (direction keys live as long as a keyring's peer). */
  readonly #keyStates = new Map<Uint8Array, number>();
  readonly #usesKeyStates: boolean;
  #input = 0;
  #inputCapacity = 0;
  /** The prefix the input buffer starts with (payloads are written after it). */
  #prefixInInput: Uint8Array | undefined;

  constructor(module: SodiumModule) {
    this.#module = module;
    this.#key = module._malloc(32);
    this.#out = module._malloc(PAIR_TAG_BYTES);
    this.#stateBytes = module._crypto_generichash_statebytes();
    this.#work = module._malloc(this.#stateBytes);
    this.#filler = module._malloc(BLAKE2B_BLOCK_BYTES + 1);
    this.#usesKeyStates = this.#stateBytes >= BLAKE2B_BUFLEN_OFFSET + 4 && this.#keyStatesAgreeWithOneShot();
  }

  /** Whether tags made from a kept key state equal the one-shot function's, for a few message lengths. */
  #keyStatesAgreeWithOneShot(): boolean {
    const key = new Uint8Array(32).map((_, index) => 31 * index + 7);
    const prefix = new Uint8Array(0);
    for (const length of [1, 127, 128, 129, 255, 256, 257, 300]) {
      const payload = new Uint8Array(length).map((_, index) => index * 13 + 1);
      const copied = this.#copyMessage(prefix, payload);
      this.#hashFromKeyState(key, copied);
      const fromState = this.#module.HEAPU8.slice(this.#out, this.#out + PAIR_TAG_BYTES);
      this.#hashOneShot(key, copied);
      if (!this.lastTagEquals(fromState, 0)) {
        this.#forgetKeyStates();
        return false;
      }
    }
    this.#forgetKeyStates();
    return true;
  }

  get usesKeyStates(): boolean {
    return this.#usesKeyStates;
  }

  hash(key: Uint8Array, prefix: Uint8Array, payload: Uint8Array): Uint8Array {
    this.hashOne(key, prefix, payload);
    return this.#module.HEAPU8.slice(this.#out, this.#out + PAIR_TAG_BYTES);
  }

  /**
   * The tag of `prefix || payload` under each key, copied into `output.into` at `offset + index * stride`
   * when given; the last one stays in WebAssembly memory for lastTagEquals. The message is copied in once.
   */
  hashEach(keys: readonly Uint8Array[], prefix: Uint8Array, payload: Uint8Array, output?: { into: Uint8Array; offset: number; stride: number }): void {
    const length = this.#copyMessage(prefix, payload);
    for (let index = 0; index < keys.length; index++) {
      this.#hashCopied(keys[index] as Uint8Array, length);
      // The heap view is read after each hash: making a key state may have grown WebAssembly memory.
      output?.into.set(this.#module.HEAPU8.subarray(this.#out, this.#out + PAIR_TAG_BYTES), output.offset + index * output.stride);
    }
  }

  /** The tag of `prefix || payload` under one key, left in WebAssembly memory for lastTagEquals. */
  hashOne(key: Uint8Array, prefix: Uint8Array, payload: Uint8Array): void {
    this.#hashCopied(key, this.#copyMessage(prefix, payload));
  }

  /** Copies `prefix || payload` into the input buffer (grown when needed); returns its length. */
  #copyMessage(prefix: Uint8Array, payload: Uint8Array): number {
    const module = this.#module;
    const length = prefix.length + payload.length;
    if (length > this.#inputCapacity) {
      this.#inputCapacity = Math.max(length, 2 * this.#inputCapacity, 1024);
      const grown = module._malloc(this.#inputCapacity);
      if (this.#input !== 0) module._free(this.#input);
      this.#input = grown;
      this.#prefixInInput = undefined;
    }
    // The heap view is read after any allocation: WebAssembly memory may have grown and moved.
    const heap = module.HEAPU8;
    // Prefixes are shared constants (domainPrefix): one already in place is not copied again.
    if (prefix !== this.#prefixInInput) {
      heap.set(prefix, this.#input);
      this.#prefixInInput = prefix;
    }
    heap.set(payload, this.#input + prefix.length);
    return length;
  }

  #hashCopied(key: Uint8Array, length: number): void {
    // An empty message makes the key block the last block, compressed as such: no kept state for that.
    if (this.#usesKeyStates && key.length > 0 && length > 0) this.#hashFromKeyState(key, length);
    else this.#hashOneShot(key, length);
  }

  #hashOneShot(key: Uint8Array, length: number): void {
    const module = this.#module;
    module.HEAPU8.set(key, this.#key);
    if (module._crypto_generichash(this.#out, PAIR_TAG_BYTES, this.#input, length, 0, this.#key, key.length) !== 0) {
      throw new Error("crypto_generichash failed");
    }
  }

  #hashFromKeyState(key: Uint8Array, length: number): void {
    const state = this.#keyState(key);
    const module = this.#module;
    module.HEAPU8.copyWithin(this.#work, state, state + this.#stateBytes);
    if (module._crypto_generichash_update(this.#work, this.#input, length, 0) !== 0 || module._crypto_generichash_final(this.#work, this.#out, PAIR_TAG_BYTES) !== 0) {
      throw new Error("crypto_generichash_update/final failed");
    }
  }

  /** The state of `key` after its key block: made on first use, kept until the table is full. */
  #keyState(key: Uint8Array): number {
    const known = this.#keyStates.get(key);
    if (known !== undefined) return known;
    if (this.#keyStates.size >= MAX_KEY_STATES) this.#forgetKeyStates();
    const module = this.#module;
    const state = module._malloc(this.#stateBytes);
    module.HEAPU8.set(key, this.#key);
    const initialised = module._crypto_generichash_init(state, this.#key, key.length, PAIR_TAG_BYTES);
    module.HEAPU8.fill(0, this.#key, this.#key + key.length);
    // The key block sits in the buffer; one byte more than it makes libsodium compress it (and keep the
    // extra byte buffered, which the empty buffer below drops).
    if (initialised !== 0 || module._crypto_generichash_update(state, this.#filler, BLAKE2B_BLOCK_BYTES + 1, 0) !== 0) {
      module._free(state);
      throw new Error("crypto_generichash_init/update failed");
    }
    module.HEAPU8.fill(0, state + BLAKE2B_BUFLEN_OFFSET, state + BLAKE2B_BUFLEN_OFFSET + 4);
    this.#keyStates.set(key, state);
    return state;
  }

  /** Wipes and frees every kept key state. */
  #forgetKeyStates(): void {
    const module = this.#module;
    for (const state of this.#keyStates.values()) {
      module.HEAPU8.fill(0, state, state + this.#stateBytes);
      module._free(state);
    }
    this.#keyStates.clear();
  }

  /** Constant-time comparison of the last tag hashed with the one inside `tags` at `offset` (no copies). */
  lastTagEquals(tags: Uint8Array, offset: number): boolean {
    if (offset + PAIR_TAG_BYTES > tags.length) return false;
    const heap = this.#module.HEAPU8;
    const out = this.#out;
    let difference = 0;
    for (let i = 0; i < PAIR_TAG_BYTES; i++) difference |= (tags[offset + i] as number) ^ (heap[out + i] as number);
    return difference === 0;
  }
}

let hasher: KeyedBlake2b | undefined;

/** Whether tags are made from kept key states (else by libsodium's one-shot call); for tests and benches. */
export function pairTagsUseKeyStates(): boolean {
  return keyedBlake2b().usesKeyStates;
}

function keyedBlake2b(): KeyedBlake2b {
  if (!hasher) {
    const module = (sodium() as unknown as { libsodium?: SodiumModule }).libsodium;
    if (typeof module?._crypto_generichash !== "function") throw new Error("libsodium-wrappers no longer exposes its libsodium module");
    hasher = new KeyedBlake2b(module);
  }
  return hasher;
}

/** Public keys are not secret: a plain comparison. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
