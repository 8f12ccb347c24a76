import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import {
  AnswerStatus,
  decodeEnvelope,
  encodeEnvelope,
  PROTO_FILES,
  PROTO_ROOT_DIR,
  type SignedEnvelope,
  decodeMatchAnswer,
  decodeMatchQuery,
  encodeMatchAnswer,
  encodeMatchQuery,
  Purpose,
  RequestedAction,
  type MatchAnswer,
  type MatchQuery,
} from "../../common/proto.ts";
import { seededRandom } from "../../common/seeded-random.ts";

// The generic protobufjs encoding, to compare the hand-written encoders with.
const protoRoot = new protobuf.Root();
protoRoot.resolvePath = (_origin, target) => (target.startsWith("/") ? target : `${PROTO_ROOT_DIR}/${target}`);
protoRoot.loadSync([...PROTO_FILES]);
const envelopeType = protoRoot.lookupType("watchmesh.v1.SignedEnvelope");

const answer = (overrides: Partial<MatchAnswer> = {}): MatchAnswer => ({
  queryId: "7c0b5d8e-1f2a-4b3c-9d4e-5f6a7b8c9d0e",
  respondingCountry: "DEU",
  status: AnswerStatus.Hit,
  hits: [
    { reference: "DEU-R-ABC", score: 0.95, category: "person", action: RequestedAction.DiscreetCheck, matchedFeatures: ["name", "dob"] },
    { reference: "DEU-R-DEF", score: 0.5, category: "entity:phone", action: RequestedAction.InformOwner, matchedFeatures: [] },
  ],
  errorCode: "",
  nodeElapsedUs: 1234,
  answeredAtMs: 1_780_000_000_123,
  queryDigest: new Uint8Array(32).fill(5),
  ...overrides,
});

describe("answer codec", () => {
  it("round-trips every status, hits and 64-bit times", () => {
    for (const status of Object.values(AnswerStatus)) {
      const sent = answer({ status, ...(status === AnswerStatus.Hit ? {} : { hits: [] }), errorCode: status === AnswerStatus.Refused ? ErrorCode.QueryReplayed : "" });
      const received = decodeMatchAnswer(encodeMatchAnswer(sent));
      expect({ ...received, queryDigest: [...received.queryDigest] }).toEqual({ ...sent, queryDigest: [...sent.queryDigest] });
    }
  });

  it("refuses a status or action that answer.proto does not define", () => {
    expect(() => encodeMatchAnswer(answer({ status: "ANSWER_STATUS_MAYBE" as AnswerStatus }))).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    const badHit = { reference: "x", score: 1, category: "person", action: "REQUESTED_ACTION_SHRUG" as RequestedAction, matchedFeatures: [] };
    expect(() => encodeMatchAnswer(answer({ hits: [badHit] }))).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });

  it("reads garbage as a typed malformed-message error", () => {
    expect(() => decodeMatchAnswer(new Uint8Array([0x0a, 0xff, 0xff]))).toThrow(expect.objectContaining({ code: ErrorCode.MalformedMessage }));
  });
});

describe("query codec", () => {
  const base: MatchQuery = {
    queryId: "q-1",
    requestingCountry: "FRA",
    requestingAgency: "border-police",
    purpose: Purpose.CounterTerrorism,
    legalBasis: "Art. 12",
    issuedAtMs: 1_780_000_000_000,
    expiresAtMs: 1_780_000_060_000,
    nonce: new Uint8Array(16).fill(9),
    requesterLocation: "CDG-T2",
  };

  it("round-trips a person with documents, MRZ, DNA and face, leaving absent parts undefined", () => {
    const sent: MatchQuery = {
      ...base,
      person: {
        names: ["Jean Dupont", "Жан Дюпон"],
        dob: "1980-05-01",
        nationality: ["FRA"],
        sex: "M",
        documents: [{ type: "passport", number: "12AB34567", country: "FRA" }],
        mrz: ["P<FRADUPONT<<JEAN<<<<<<<<<<<<<<<<<<<<<<<<<<<<"],
        dna: { loci: { D3S1358: "15,16", VWA: "17,18" }, markerSet: "ESS" },
        face: { embedding: [0.5, -0.25, 1], model: "arcface-r100-v1" },
      },
    };
    const received = decodeMatchQuery(encodeMatchQuery(sent));
    expect({ ...received, nonce: [...received.nonce] }).toEqual({ ...sent, nonce: [...sent.nonce] });
    const plain = decodeMatchQuery(encodeMatchQuery({ ...base, person: { names: ["A B"], dob: "", nationality: [], sex: "", documents: [], mrz: [] } }));
    expect(plain.person && "dna" in plain.person).toBe(false);
    expect(plain.person && "face" in plain.person).toBe(false);
    expect("entity" in plain).toBe(false);
  });

  it("decodes a query that is a view inside a larger buffer (as NATS hands it over) to plain Uint8Arrays", () => {
    const encoded = encodeMatchQuery({ ...base, person: { names: ["Jean Dupont", "Жан Дюпон"], dob: "1980-05-01", nationality: [], sex: "", documents: [], mrz: [] } });
    const around = new Uint8Array(encoded.length + 40).fill(0xff);
    around.set(encoded, 17);
    const received = decodeMatchQuery(around.subarray(17, 17 + encoded.length));
    expect(received.person?.names).toEqual(["Jean Dupont", "Жан Дюпон"]);
    expect(received.nonce.constructor).toBe(Uint8Array);
    expect([...received.nonce]).toEqual([...base.nonce]);
  });

  it("round-trips an entity query", () => {
    const received = decodeMatchQuery(encodeMatchQuery({ ...base, entity: { type: "phone", value: "+33612345678" } }));
    expect(received.entity).toEqual({ type: "phone", value: "+33612345678" });
    expect("person" in received).toBe(false);
  });
});

describe("envelope codec", () => {
  it("gives absent bytes fields as empty Uint8Arrays, which hashing and comparing accept", () => {
    const empty = decodeEnvelope(new Uint8Array(0));
    for (const field of [empty.payload, empty.signature, empty.tags]) {
      expect(field).toBeInstanceOf(Uint8Array);
      expect(field).toHaveLength(0);
    }
    expect(decodeMatchAnswer(new Uint8Array(0)).queryDigest).toBeInstanceOf(Uint8Array);
    expect(decodeMatchQuery(new Uint8Array(0)).nonce).toBeInstanceOf(Uint8Array);
  });

  it("encodes the very bytes protobufjs encodes, empty and absent fields included", () => {
    const random = seededRandom(6);
    const bytes = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));
    // Lengths across the one- and two-byte varint boundary; key ids with non-ASCII characters.
    const lengths = [0, 1, 127, 128, 300, 16_384];
    const keyIds = ["", "FRA-node-2026", "ÉTAT-clé-Ω", "键-𝔘"];
    let compared = 0;
    for (const payloadLength of lengths) {
      for (const keyId of keyIds) {
        for (const signature of [undefined, null, bytes(0), bytes(64)]) {
          for (const tags of [undefined, bytes(0), bytes(20 * (1 + Math.floor(random() * 200)))]) {
            const envelope = { payload: bytes(payloadLength), keyId, signature, tags } as SignedEnvelope;
            const generic = envelopeType.encode(envelopeType.fromObject(envelope)).finish();
            expect(Buffer.from(encodeEnvelope(envelope)).toString("hex")).toBe(Buffer.from(generic).toString("hex"));
            compared += 1;
          }
        }
      }
    }
    expect(compared).toBe(lengths.length * keyIds.length * 12);
  });

  it("still converts what protobufjs converts: bytes as base64 text or numbers", () => {
    const asText = { payload: "AQI=", keyId: "k" } as unknown as SignedEnvelope;
    const asNumbers = { payload: [1, 2], keyId: "k", signature: [7] } as unknown as SignedEnvelope;
    expect(decodeEnvelope(encodeEnvelope(asText)).payload).toEqual(new Uint8Array([1, 2]));
    const decoded = decodeEnvelope(encodeEnvelope(asNumbers));
    expect([...decoded.payload, ...decoded.signature]).toEqual([1, 2, 7]);
  });
});
