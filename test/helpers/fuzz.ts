/**
 * Seeded generators of hostile input for fuzz tests: random bytes, byte-level mutations of valid
 * messages, random protobuf fields, query subjects full of odd Unicode and wrong shapes, and NDJSON
 * record lines. Everything comes from one mulberry32 stream (common/seeded-random.ts), so a failing
 * case is reproduced by its seed and index.
 */
import type { CheckSubject } from "../../client/border-client.ts";
import { seededRandom } from "../../common/seeded-random.ts";

export class Fuzzer {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(256));
  }

  /** A string of code points from scripts, marks, controls, emoji, surrogate halves and separators. */
  text(maxLength = 40): string {
    const length = this.int(maxLength + 1);
    let out = "";
    for (let i = 0; i < length; i++) out += this.#char();
    return out;
  }

  #char(): string {
    const ranges: [number, number][] = [
      [0x20, 0x7e], // ASCII
      [0x20, 0x7e],
      [0x00, 0x1f], // controls
      [0xc0, 0x24f], // Latin with diacritics
      [0x300, 0x36f], // combining marks
      [0x400, 0x4ff], // Cyrillic
      [0x600, 0x6ff], // Arabic
      [0x590, 0x5ff], // Hebrew
      [0x4e00, 0x4fff], // Han
      [0xac00, 0xacff], // Hangul
      [0x3040, 0x30ff], // kana
      [0x200b, 0x200f], // zero-width and direction marks
      [0x2028, 0x202e], // separators and overrides
      [0xd800, 0xdfff], // lone surrogate halves
      [0xfff0, 0xffff], // specials
      [0x1f300, 0x1f64f], // emoji
    ];
    const [low, high] = this.pick(ranges);
    return String.fromCodePoint(low + this.int(high - low + 1));
  }

  /** A byte-level mutation of `input`: flips, overwrites, insertions, deletions, truncation, duplication. */
  mutate(input: Uint8Array): Uint8Array {
    let bytes: Uint8Array = Uint8Array.from(input);
    const rounds = 1 + this.int(4);
    for (let round = 0; round < rounds; round++) {
      const at = bytes.length === 0 ? 0 : this.int(bytes.length);
      switch (this.int(7)) {
        case 0: // flip one bit
          if (bytes.length > 0) bytes[at] = (bytes[at] ?? 0) ^ (1 << this.int(8));
          break;
        case 1: // overwrite a byte with an interesting value
          if (bytes.length > 0) bytes[at] = this.pick([0x00, 0xff, 0x7f, 0x80, 0x0a, 0x22, 0x5c, this.int(256)]);
          break;
        case 2: // insert random bytes
          bytes = concat(bytes.subarray(0, at), this.bytes(1 + this.int(8)), bytes.subarray(at));
          break;
        case 3: // delete a run
          bytes = concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + this.int(8))));
          break;
        case 4: // truncate
          bytes = bytes.subarray(0, at);
          break;
        case 5: // duplicate a run (repeated fields, length prefixes that no longer fit)
          bytes = concat(bytes.subarray(0, at), bytes.subarray(at, at + 1 + this.int(32)), bytes.subarray(at));
          break;
        default: // a huge varint where a length or tag stood
          bytes = concat(bytes.subarray(0, at), Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), bytes.subarray(at + 1));
      }
    }
    return bytes;
  }

  /** A query subject with odd values in every field a border system can fill. */
  subject(): CheckSubject {
    if (this.chance(0.2)) {
      return { entity: { type: this.pick(["phone", "email", "vehicle", "organisation", "device_component", "precursor", "", this.text(12)]), value: this.pick([this.text(60), "+49 151 2345678", "00", "x@", "1HGCM82633A004352", "7727-43-7"]) } };
    }
    const person: Extract<CheckSubject, { person: unknown }>["person"] = {};
    if (this.chance(0.8)) person.names = Array.from({ length: this.int(5) }, () => (this.chance(0.02) ? this.text(2000) : this.text(30)));
    if (this.chance(0.5)) person.dob = this.pick(["", "1980", "1980-02-30", "0000-00-00", "9999-12-31", "1980-13", "19800101", this.text(12)]);
    if (this.chance(0.3)) person.nationality = Array.from({ length: this.int(4) }, () => this.pick(["FRA", "DEU", "", "xx", this.text(5)]));
    if (this.chance(0.3)) person.sex = this.pick(["M", "F", "X", "", "?", this.text(3)]);
    if (this.chance(0.3)) {
      person.documents = Array.from({ length: this.int(4) }, () => ({
        type: this.pick(["passport", "id_card", "visa", "", this.text(8)]),
        number: this.pick(["", "0", "C01X9T7K2", this.text(20), "O0O0I1I1"]),
        country: this.pick(["DEU", "FRA", "", "D<<", this.text(4)]),
      }));
    }
    if (this.chance(0.15)) person.mrz = Array.from({ length: this.int(4) }, () => this.mrzLine());
    if (this.chance(0.1)) {
      const loci: Record<string, string> = {};
      for (let i = this.int(16); i > 0; i--) loci[this.pick(["D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "TH01", "FGA", "AMEL", this.text(6)])] = this.pick(["15,16", "*", "9.3", "1,2,3", "", "X,Y", this.text(6)]);
      person.dna = { loci, markerSet: this.pick(["", "ESS", this.text(5)]) };
    }
    if (this.chance(0.1)) {
      person.face = {
        model: this.pick(["arcface-r100-v1", "facenet-512", "", this.text(10)]),
        embedding: Array.from({ length: this.pick([0, 1, 511, 512, 513, this.int(700)]) }, () => this.pick([this.float() - 0.5, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e30])),
      };
    }
    return { person };
  }

  mrzLine(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";
    if (this.chance(0.3)) return this.text(50);
    const length = this.pick([30, 36, 44, this.int(60)]);
    return Array.from({ length }, () => alphabet[this.int(alphabet.length)] ?? "<").join("");
  }

  /** One NDJSON line (no newline inside): valid, mutated, wrongly shaped, or not JSON at all. */
  ndjsonLine(index: number): string {
    const record = this.record(index);
    switch (this.int(8)) {
      case 0:
      case 1:
        return JSON.stringify(record);
      case 2: // text mutation of a valid line
        return Buffer.from(this.mutate(Buffer.from(JSON.stringify(record), "utf8"))).toString("latin1").replace(/\n/g, " ");
      case 3: // wrong types and shapes in a record
        return JSON.stringify(this.misshapen(record));
      case 4: // a deletion, of an id that may or may not exist
        return JSON.stringify({ op: this.pick(["delete", "DELETE", "remove", ""]), id: this.pick([`FZ-${this.int(400)}`, "", this.text(20), 42]) });
      case 5: // random Unicode text
        return this.text(120).replace(/\n/g, " ");
      case 6: // JSON that is not an object
        return this.pick(["null", "[]", "42", '"person"', "true", "{}", "[{}]", "{", '{"kind":"person"', "\u0000"]);
      default: // raw bytes as latin1 (invalid UTF-8 once written as bytes)
        return Buffer.from(this.bytes(this.int(80))).toString("latin1").replace(/\n/g, " ");
    }
  }

  /** A valid-looking record (ids from a small pool, so later lines update and delete earlier ones). */
  record(index: number): Record<string, unknown> {
    const id = `FZ-${this.int(400)}`;
    if (this.chance(0.25)) {
      return { kind: "entity", id, type: this.pick(["phone", "email", "organisation", "vehicle"]), value: this.pick(["+33 6 12 34 56 78", "a@b.example", "Acme GmbH", "WVWZZZ1JZXW000001"]), links: [] };
    }
    return {
      kind: "person",
      id,
      names: [this.pick(["Jean Dupont", "Мария Иванова", "محمد علي", "李小龙", this.text(20)])],
      dob: this.pick(["1980-05-01", "1979", "1990-12", "2001-02-29"]),
      nationality: [this.pick(["FRA", "DEU", "UKR"])],
      documents: this.chance(0.5) ? [{ type: "passport", number: `FZ${index % 1000}`, country: "FRA" }] : [],
      action: this.pick(["discreet_check", "arrest", "inform_owner"]),
    };
  }

  misshapen(record: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...record };
    const keys = ["kind", "id", "names", "dob", "nationality", "sex", "documents", "action", "type", "value", "links", "expiresAt", "dna", "face", "__proto__", "constructor", "op"];
    for (let i = 1 + this.int(3); i > 0; i--) {
      out[this.pick(keys)] = this.pick<unknown>([null, 0, -1, 1e308, "", [], {}, [null], [[]], { a: 1 }, true, this.text(10), Array.from({ length: 50 }, () => "x"), "x".repeat(5000)]);
    }
    return out;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Protobuf wire encoding of a length-delimited field (wire type 2). */
export function lengthDelimited(field: number, bytes: Uint8Array): Uint8Array {
  return concat(varint((field << 3) | 2), varint(bytes.length), bytes);
}

/** Protobuf wire encoding of a varint field (wire type 0). */
export function varintField(field: number, value: number): Uint8Array {
  return concat(varint(field << 3), varint(value));
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Uint8Array.from(out);
}

export { concat as concatBytes };
