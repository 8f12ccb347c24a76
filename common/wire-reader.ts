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

function malformed(what: string, detail: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.MalformedMessage, `${what} is not a valid protobuf message: ${detail}`);
}

/** A cursor over one message's bytes. */
class FieldReader {
  readonly bytes: Uint8Array;
  readonly what: string;
  position = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes;
    this.what = what;
  }

  get done(): boolean {
    return this.position >= this.bytes.length;
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

  /** The next length-delimited field as a view of the input. */
  lengthDelimited(): Uint8Array {
    const length = this.varint();
    const end = this.position + length;
    if (end > this.bytes.length) throw malformed(this.what, "truncated length-delimited field");
    const view = this.bytes.subarray(this.position, end);
    this.position = end;
    return view;
  }

  string(): string {
    const view = this.lengthDelimited();
    return view.length === 0 ? "" : utf8.decode(view);
  }

  /** Skips a field of an unknown number, as protobuf readers must. */
  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.advance(8);
        return;
      case LENGTH_DELIMITED:
        this.lengthDelimited();
        return;
      case START_GROUP:
        this.#skipGroup();
        return;
      case FIXED32:
        this.advance(4);
        return;
      default:
        throw malformed(this.what, `wire type ${wireType}`);
    }
  }

  advance(count: number): void {
    if (this.position + count > this.bytes.length) throw malformed(this.what, "truncated fixed-width field");
    this.position += count;
  }

  /** A known field must come with the wire type of its declaration. */
  expect(wireType: number, actual: number, field: number): void {
    if (wireType !== actual) throw malformed(this.what, `field ${field} has wire type ${actual}, not ${wireType}`);
  }

  #skipGroup(): void {
    for (;;) {
      if (this.done) throw malformed(this.what, "unterminated group");
      const tag = this.varint();
      if ((tag & 7) === END_GROUP) return;
      this.skip(tag & 7);
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
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    switch (field) {
      case 1:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        fields.payload = reader.lengthDelimited();
        break;
      case 2:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        fields.keyId = reader.string();
        break;
      case 3:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        fields.signature = reader.lengthDelimited();
        break;
      case 4:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        fields.tags = reader.lengthDelimited();
        break;
      default:
        if (field === 0) throw malformed("envelope", "field number 0");
        reader.skip(wireType);
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
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    switch (field) {
      case 1:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        reader.lengthDelimited();
        break;
      case 2:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        summary.respondingCountry = reader.string();
        break;
      case 3:
        reader.expect(VARINT, wireType, field);
        summary.statusNumber = reader.varint();
        break;
      case 4:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        reader.lengthDelimited();
        summary.hitCount += 1;
        break;
      case 5:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        summary.errorCode = reader.string();
        break;
      case 8:
        reader.expect(LENGTH_DELIMITED, wireType, field);
        summary.queryDigest = reader.lengthDelimited();
        break;
      default:
        if (field === 0) throw malformed("match answer", "field number 0");
        reader.skip(wireType);
    }
  }
  return summary;
}
