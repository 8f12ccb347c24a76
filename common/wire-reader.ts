import { ErrorCode, WatchmeshError } from "./errors.ts";

/**
 * A minimal protobuf reader for the two messages every answer of a fan-out passes through at the
 * coordinator and the border client: the SignedEnvelope, and the few MatchAnswer fields a gatherer
 * needs. At 196 answers per check the generic decoders' allocations add up; this reads only what is
 * needed, with byte fields as views of the input (as protobufjs gives them too), and leaves the hits
 * of an answer undecoded (counted only).
 *
 * Stricter than protobufjs, never looser: a known field with the wrong wire type, a truncated field,
 * a varint longer than 10 bytes or the wire types 6 and 7 are MALFORMED_MESSAGE; unknown fields are
 * skipped, and a repeated scalar field keeps its last value, as proto3 says. Strings are decoded as
 * WHATWG UTF-8 (ill-formed bytes read as U+FFFD). The equivalence with protobufjs on valid messages
 * is tested (test/unit/wire-reader.test.ts).
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

const utf8 = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Strings up to this many bytes (country codes, statuses) are read without TextDecoder when they are
 * ASCII: its call costs about twice a short loop; past a few bytes the decoder is the faster.
 */
const SHORT_STRING_BYTES = 8;

/**
 * Strings met again and again (key ids), by an FNV-1a hash of their length and last bytes (key ids
 * end in their random part, e.g. `DEU:node:<16 hex digits>`). A hit is checked byte by byte against
 * the string, so a collision or a flood of made-up key ids costs time, never a wrong string; the
 * table is emptied when full. Only ASCII strings are kept (one byte per character).
 */
const HASHED_TAIL_BYTES = 8;

class RepeatedStrings {
  readonly #byHash = new Map<number, string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  read(bytes: Uint8Array, start: number, end: number): string {
    let hash = Math.imul(0x811c9dc5 ^ (end - start), 0x01000193);
    for (let index = Math.max(start, end - HASHED_TAIL_BYTES); index < end; index++) hash = Math.imul(hash ^ (bytes[index] as number), 0x01000193);
    const known = this.#byHash.get(hash);
    if (known !== undefined && sameAscii(known, bytes, start, end)) return known;
    const text = utf8.decode(plainView(bytes, start, end));
    if (isAscii(text)) {
      if (this.#byHash.size >= this.#capacity) this.#byHash.clear();
      this.#byHash.set(hash, text);
    }
    return text;
  }
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) >= 0x80) return false;
  return true;
}

function sameAscii(text: string, bytes: Uint8Array, start: number, end: number): boolean {
  if (text.length !== end - start) return false;
  for (let index = start; index < end; index++) if (text.charCodeAt(index - start) !== bytes[index]) return false;
  return true;
}

const keyIds = new RepeatedStrings(4096);

/**
 * A plain Uint8Array over bytes[start, end): subarray() of a Node.js Buffer (NATS hands messages over
 * as Buffers) builds another Buffer through its species constructor, about 20% slower a view alone,
 * and 4% of the coordinator's CPU profile at saturation with what it allocates.
 */
function plainView(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

function shortString(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let index = start; index < end; index++) {
    const byte = bytes[index] as number;
    if (byte >= 0x80) return utf8.decode(plainView(bytes, start, end));
    text += String.fromCharCode(byte);
  }
  return text;
}

function malformed(what: string, detail: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.MalformedMessage, `${what} is not a valid protobuf message: ${detail}`);
}

/** A cursor over one message's bytes, field by field. */
class FieldReader {
  readonly bytes: Uint8Array;
  readonly what: string;
  position = 0;
  /** Number and wire type of the field read by the last `nextField()`. */
  field = 0;
  wireType = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes;
    this.what = what;
  }

  get done(): boolean {
    return this.position >= this.bytes.length;
  }

  /** Reads the next field's tag; field number 0 is never valid. */
  nextField(): number {
    const tag = this.varint();
    this.field = tag >>> 3;
    this.wireType = tag & 7;
    if (this.field === 0) throw malformed(this.what, "field number 0");
    return this.field;
  }

  /** The current field's value as bytes (a view of the input); it must be length-delimited. */
  bytesField(): Uint8Array {
    this.#expect(LENGTH_DELIMITED);
    return this.lengthDelimited();
  }

  /** The current field's value as a string; it must be length-delimited. */
  stringField(): string {
    const start = this.#stringStart();
    const end = this.position;
    return end - start <= SHORT_STRING_BYTES ? shortString(this.bytes, start, end) : utf8.decode(plainView(this.bytes, start, end));
  }

  /**
   * The current field's value as a string, for key ids: a reader meets the same few over and over (one
   * per registered key), so an ASCII one already seen is given back as the same string rather than
   * decoded again, and a registry lookup by it then need not hash it again either.
   */
  keyIdField(): string {
    const start = this.#stringStart();
    const end = this.position;
    return end - start <= SHORT_STRING_BYTES ? shortString(this.bytes, start, end) : keyIds.read(this.bytes, start, end);
  }

  /** Moves past the current length-delimited field (no view made) and returns where its value starts. */
  #stringStart(): number {
    this.#expect(LENGTH_DELIMITED);
    const length = this.varint();
    const start = this.position;
    if (start + length > this.bytes.length) throw malformed(this.what, "truncated length-delimited field");
    this.position = start + length;
    return start;
  }

  /** The current field's value as a varint (only the low 32 bits: enums and counts). */
  varintField(): number {
    this.#expect(VARINT);
    return this.varint();
  }

  /** Skips the current field (an unknown number), as protobuf readers must. */
  skipField(): void {
    this.#skip(this.wireType);
  }

  /** Skips the current field, which must be length-delimited (a known field not needed). */
  skipBytesField(): void {
    this.#expect(LENGTH_DELIMITED);
    this.#skipLengthDelimited();
  }

  /** Past the next length-delimited value, without a view of it. */
  #skipLengthDelimited(): void {
    const length = this.varint();
    const end = this.position + length;
    if (end > this.bytes.length) throw malformed(this.what, "truncated length-delimited field");
    this.position = end;
  }

  /** A varint as a number; only the low 32 bits are kept for values above 2^32 (tags, lengths, enums). */
  varint(): number {
    const bytes = this.bytes;
    let value = 0;
    for (let shift = 0, index = 0; index < 10; index++, shift += 7) {
      if (this.position >= bytes.length) throw malformed(this.what, "truncated varint");
      const byte = bytes[this.position++] as number;
      if (shift < 28) value |= (byte & 0x7f) << shift;
      else if (shift === 28) value = (value | ((byte & 0x0f) << 28)) >>> 0;
      if (byte < 0x80) return value >>> 0;
    }
    throw malformed(this.what, "varint longer than 10 bytes");
  }

  /** The next length-delimited value as a view of the input. */
  lengthDelimited(): Uint8Array {
    const length = this.varint();
    const end = this.position + length;
    if (end > this.bytes.length) throw malformed(this.what, "truncated length-delimited field");
    const view = plainView(this.bytes, this.position, end);
    this.position = end;
    return view;
  }

  #skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.#advance(8);
        return;
      case LENGTH_DELIMITED:
        this.#skipLengthDelimited();
        return;
      case START_GROUP:
        this.#skipGroup();
        return;
      case FIXED32:
        this.#advance(4);
        return;
      default:
        throw malformed(this.what, `wire type ${wireType}`);
    }
  }

  #advance(count: number): void {
    if (this.position + count > this.bytes.length) throw malformed(this.what, "truncated fixed-width field");
    this.position += count;
  }

  /** A known field must come with the wire type of its declaration. */
  #expect(wireType: number): void {
    if (this.wireType !== wireType) throw malformed(this.what, `field ${this.field} has wire type ${this.wireType}, not ${wireType}`);
  }

  #skipGroup(): void {
    for (;;) {
      if (this.done) throw malformed(this.what, "unterminated group");
      const tag = this.varint();
      if ((tag & 7) === END_GROUP) return;
      this.#skip(tag & 7);
    }
  }
}

export interface EnvelopeFields {
  payload: Uint8Array;
  keyId: string;
  signature: Uint8Array;
  tags: Uint8Array;
}

/** SignedEnvelope (proto/watchmesh/v1/envelope.proto): payload = 1, key_id = 2, signature = 3, tags = 4. */
export function readSignedEnvelope(bytes: Uint8Array): EnvelopeFields {
  const reader = new FieldReader(bytes, "envelope");
  const fields: EnvelopeFields = { payload: EMPTY, keyId: "", signature: EMPTY, tags: EMPTY };
  while (!reader.done) {
    switch (reader.nextField()) {
      case 1:
        fields.payload = reader.bytesField();
        break;
      case 2:
        fields.keyId = reader.keyIdField();
        break;
      case 3:
        fields.signature = reader.bytesField();
        break;
      case 4:
        fields.tags = reader.bytesField();
        break;
      default:
        reader.skipField();
    }
  }
  return fields;
}

/** What a gatherer needs of a MatchAnswer: who answered what, to which query, with how many hits. */
export interface AnswerSummary {
  respondingCountry: string;
  /** The AnswerStatus enum's number (0 when absent). */
  statusNumber: number;
  hitCount: number;
  errorCode: string;
  queryDigest: Uint8Array;
}

/**
 * MatchAnswer (proto/watchmesh/v1/answer.proto): responding_country = 2, status = 3, hits = 4 (counted,
 * not decoded), error_code = 5, query_digest = 8; the query id 1 (the digest binds the answer) and the
 * timings 6 and 7 are skipped unread.
 */
export function readAnswerSummary(bytes: Uint8Array): AnswerSummary {
  const reader = new FieldReader(bytes, "match answer");
  const summary: AnswerSummary = { respondingCountry: "", statusNumber: 0, hitCount: 0, errorCode: "", queryDigest: EMPTY };
  while (!reader.done) {
    switch (reader.nextField()) {
      case 1:
        reader.skipBytesField(); // the query id: the digest binds the answer
        break;
      case 2:
        summary.respondingCountry = reader.stringField();
        break;
      case 3:
        summary.statusNumber = reader.varintField();
        break;
      case 4:
        reader.skipBytesField();
        summary.hitCount += 1;
        break;
      case 5:
        summary.errorCode = reader.stringField();
        break;
      case 8:
        summary.queryDigest = reader.bytesField();
        break;
      default:
        reader.skipField(); // e.g. the timings 6 and 7
    }
  }
  return summary;
}

/** One country's line of a CheckResponse as read: the node's answer envelope, when there is one. */
export interface CountryResultFields {
  country: string;
  /** The CountryStatus enum's number (0 when absent). */
  statusNumber: number;
  /** Null when the field is absent (an unavailable country), as the generic decoder gives it. */
  answer: EnvelopeFields | null;
  elapsedMs: number;
  errorCode: string;
}

export interface CheckResponseFields {
  queryId: string;
  traceId: string;
  results: CountryResultFields[];
}

/**
 * CheckResponse (proto/watchmesh/v1/coordinator.proto): query_id = 1, results = 2, trace_id = 3; each
 * CountryResult: country = 1, status = 2, answer = 3, elapsed_ms = 4, error_code = 5. A border system
 * reads 196 of them per check; the answers' byte fields stay views of the response.
 */
export function readCheckResponse(bytes: Uint8Array): CheckResponseFields {
  const reader = new FieldReader(bytes, "check response");
  const response: CheckResponseFields = { queryId: "", traceId: "", results: [] };
  while (!reader.done) {
    switch (reader.nextField()) {
      case 1:
        response.queryId = reader.stringField();
        break;
      case 2:
        response.results.push(readCountryResult(reader.bytesField()));
        break;
      case 3:
        response.traceId = reader.stringField();
        break;
      default:
        reader.skipField();
    }
  }
  return response;
}

function readCountryResult(bytes: Uint8Array): CountryResultFields {
  const reader = new FieldReader(bytes, "country result");
  const result: CountryResultFields = { country: "", statusNumber: 0, answer: null, elapsedMs: 0, errorCode: "" };
  while (!reader.done) {
    switch (reader.nextField()) {
      case 1:
        result.country = reader.stringField();
        break;
      case 2:
        result.statusNumber = reader.varintField();
        break;
      case 3:
        result.answer = readSignedEnvelope(reader.bytesField());
        break;
      case 4:
        result.elapsedMs = reader.varintField();
        break;
      case 5:
        result.errorCode = reader.stringField();
        break;
      default:
        reader.skipField();
    }
  }
  return result;
}
