import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import * as protoLoader from "@grpc/proto-loader";
import { loadPackageDefinition, type GrpcObject } from "@grpc/grpc-js";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import { readCheckResponse, readSignedEnvelope } from "./wire-reader.ts";

/** Directory holding `watchmesh/v1/*.proto`: the wire contract. */
export const PROTO_ROOT_DIR = fileURLToPath(new URL("../proto", import.meta.url));
export const PROTO_FILES = [
  "watchmesh/v1/envelope.proto",
  "watchmesh/v1/query.proto",
  "watchmesh/v1/answer.proto",
  "watchmesh/v1/node.proto",
  "watchmesh/v1/coordinator.proto",
  "watchmesh/v1/notification.proto",
  "watchmesh/v1/batch.proto",
  "watchmesh/v1/followup.proto",
  "watchmesh/v1/aggregate.proto",
] as const;

export const Purpose = {
  Unspecified: "PURPOSE_UNSPECIFIED",
  BorderCheck: "PURPOSE_BORDER_CHECK",
  Investigation: "PURPOSE_INVESTIGATION",
  CounterTerrorism: "PURPOSE_COUNTER_TERRORISM",
  Analysis: "PURPOSE_ANALYSIS",
} as const;
export type Purpose = (typeof Purpose)[keyof typeof Purpose];

export const AnswerStatus = {
  Unspecified: "ANSWER_STATUS_UNSPECIFIED",
  Hit: "ANSWER_STATUS_HIT",
  NoHit: "ANSWER_STATUS_NO_HIT",
  Refused: "ANSWER_STATUS_REFUSED",
  Error: "ANSWER_STATUS_ERROR",
} as const;
export type AnswerStatus = (typeof AnswerStatus)[keyof typeof AnswerStatus];

export const RequestedAction = {
  Unspecified: "REQUESTED_ACTION_UNSPECIFIED",
  DiscreetCheck: "REQUESTED_ACTION_DISCREET_CHECK",
  SpecificCheck: "REQUESTED_ACTION_SPECIFIC_CHECK",
  Arrest: "REQUESTED_ACTION_ARREST",
  InformOwner: "REQUESTED_ACTION_INFORM_OWNER",
} as const;
export type RequestedAction = (typeof RequestedAction)[keyof typeof RequestedAction];

export const CountryStatus = {
  Unspecified: "COUNTRY_STATUS_UNSPECIFIED",
  Hit: "COUNTRY_STATUS_HIT",
  NoHit: "COUNTRY_STATUS_NO_HIT",
  Refused: "COUNTRY_STATUS_REFUSED",
  Unavailable: "COUNTRY_STATUS_UNAVAILABLE",
  Error: "COUNTRY_STATUS_ERROR",
} as const;
export type CountryStatus = (typeof CountryStatus)[keyof typeof CountryStatus];

export interface SignedEnvelope {
  payload: Uint8Array;
  keyId: string;
  /** Ed25519 signature; empty when only pair tags authenticate the envelope. */
  signature: Uint8Array;
  /** Pair tag records (common/pair-tags.ts); absent or empty when the envelope is only signed. */
  tags?: Uint8Array;
}

export interface TravelDocument {
  type: string;
  number: string;
  country: string;
}

export interface DnaProfile {
  loci: Record<string, string>;
  markerSet: string;
}

export interface FaceTemplate {
  embedding: number[];
  model: string;
}

export interface PersonQuery {
  names: string[];
  dob: string;
  nationality: string[];
  sex: string;
  documents: TravelDocument[];
  mrz: string[];
  dna?: DnaProfile;
  face?: FaceTemplate;
}

export interface EntityQuery {
  type: string;
  value: string;
}

export interface MatchQuery {
  queryId: string;
  requestingCountry: string;
  requestingAgency: string;
  purpose: Purpose;
  legalBasis: string;
  issuedAtMs: number;
  expiresAtMs: number;
  nonce: Uint8Array;
  requesterLocation: string;
  person?: PersonQuery;
  entity?: EntityQuery;
}

export interface Hit {
  reference: string;
  score: number;
  category: string;
  action: RequestedAction;
  matchedFeatures: string[];
}

export interface MatchAnswer {
  queryId: string;
  respondingCountry: string;
  status: AnswerStatus;
  hits: Hit[];
  errorCode: string;
  nodeElapsedUs: number;
  answeredAtMs: number;
  queryDigest: Uint8Array;
}

export interface HitNotification {
  notificationId: string;
  ownerCountry: string;
  queryId: string;
  requestingCountry: string;
  requestingAgency: string;
  requesterLocation: string;
  purpose: Purpose;
  queriedAtMs: number;
  notifiedAtMs: number;
  answer: SignedEnvelope;
}

export interface FollowupRequest {
  requestId: string;
  reference: string;
  queryId: string;
  ownerCountry: string;
  requestingCountry: string;
  requestingAgency: string;
  justification: string;
  requestedAtMs: number;
}

export const FollowupDecision = {
  Unspecified: "FOLLOWUP_DECISION_UNSPECIFIED",
  Approved: "FOLLOWUP_DECISION_APPROVED",
  Rejected: "FOLLOWUP_DECISION_REJECTED",
} as const;
export type FollowupDecision = (typeof FollowupDecision)[keyof typeof FollowupDecision];

export interface FollowupReply {
  requestId: string;
  reference: string;
  ownerCountry: string;
  requestingCountry: string;
  decision: FollowupDecision;
  sealedDetails: Uint8Array;
  sealedToKeyId: string;
  reason: string;
  decidedAtMs: number;
}

/** NATS message of a batch check: signed queries, from `firstIndex` of the whole batch on. */
export interface BatchQuery {
  queries: SignedEnvelope[];
  firstIndex: number;
}

/** A node's reply to a BatchQuery: signed answers in query order, from `firstIndex` of the whole batch on. */
export interface BatchAnswer {
  answers: SignedEnvelope[];
  firstIndex: number;
}

export const AggregateDimension = {
  Unspecified: "AGGREGATE_DIMENSION_UNSPECIFIED",
  Month: "AGGREGATE_DIMENSION_MONTH",
  Category: "AGGREGATE_DIMENSION_CATEGORY",
  Designation: "AGGREGATE_DIMENSION_DESIGNATION",
} as const;
export type AggregateDimension = (typeof AggregateDimension)[keyof typeof AggregateDimension];

export const AggregateMeasure = {
  Unspecified: "AGGREGATE_MEASURE_UNSPECIFIED",
  Records: "AGGREGATE_MEASURE_RECORDS",
  Hits: "AGGREGATE_MEASURE_HITS",
} as const;
export type AggregateMeasure = (typeof AggregateMeasure)[keyof typeof AggregateMeasure];

export const AggregateStatus = {
  Unspecified: "AGGREGATE_STATUS_UNSPECIFIED",
  Answered: "AGGREGATE_STATUS_ANSWERED",
  Refused: "AGGREGATE_STATUS_REFUSED",
  Error: "AGGREGATE_STATUS_ERROR",
} as const;
export type AggregateStatus = (typeof AggregateStatus)[keyof typeof AggregateStatus];

/** An analyst's signed question for counts (proto/watchmesh/v1/aggregate.proto). */
export interface AggregateQuery {
  queryId: string;
  requestingCountry: string;
  requestingAgency: string;
  purpose: Purpose;
  legalBasis: string;
  issuedAtMs: number;
  expiresAtMs: number;
  nonce: Uint8Array;
  /** "YYYY-MM", inclusive. */
  fromMonth: string;
  toMonth: string;
  groupBy: AggregateDimension[];
  categories: string[];
  /** > 0: Laplace noise of scale 1/epsilon per count; 0: exact counts. */
  epsilon: number;
}

export interface AggregateCell {
  measure: AggregateMeasure;
  month: string;
  category: string;
  designation: string;
  count: number;
  suppressed: boolean;
}

export interface AggregateAnswer {
  queryId: string;
  respondingCountry: string;
  status: AggregateStatus;
  errorCode: string;
  cells: AggregateCell[];
  minCellCount: number;
  epsilon: number;
  undatedRecords: number;
  answeredAtMs: number;
  queryDigest: Uint8Array;
}

function loadProtoRoot(): protobuf.Root {
  const protoRoot = new protobuf.Root();
  // Imports in the .proto files are relative to PROTO_ROOT_DIR, as with protoc's -I.
  protoRoot.resolvePath = (_origin, target) => (target.startsWith("/") ? target : `${PROTO_ROOT_DIR}/${target}`);
  protoRoot.loadSync([...PROTO_FILES]);
  return protoRoot;
}

const root = loadProtoRoot();
const envelopeType = root.lookupType("watchmesh.v1.SignedEnvelope");
const queryType = root.lookupType("watchmesh.v1.MatchQuery");
const answerType = root.lookupType("watchmesh.v1.MatchAnswer");
const notificationType = root.lookupType("watchmesh.v1.HitNotification");
const batchQueryType = root.lookupType("watchmesh.v1.BatchQuery");
const batchAnswerType = root.lookupType("watchmesh.v1.BatchAnswer");
const followupRequestType = root.lookupType("watchmesh.v1.FollowupRequest");
const followupReplyType = root.lookupType("watchmesh.v1.FollowupReply");
const aggregateQueryType = root.lookupType("watchmesh.v1.AggregateQuery");
const aggregateAnswerType = root.lookupType("watchmesh.v1.AggregateAnswer");

/** Protobuf wire types and field keys, for the encoders written field by field. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const tag = (field: number, wireType: number): number => (field << 3) | wireType;

const toObjectOptions: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  bytes: Uint8Array,
  defaults: true,
  arrays: true,
  objects: true,
};

/** The decoded message itself (prototype defaults, numeric enums, Long or number int64s); MALFORMED_MESSAGE when it does not decode. */
function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array, what: string): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (error) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, `${what} is not a valid protobuf message`, { cause: error });
  }
}

/** The decoded message as a plain object with the project's conventions (toObjectOptions). */
function decode(type: protobuf.Type, bytes: Uint8Array, what: string): Record<string, unknown> {
  return type.toObject(decodeMessage<protobuf.Message>(type, bytes, what), toObjectOptions);
}

function encode(type: protobuf.Type, value: object, what: string): Uint8Array {
  let message: protobuf.Message;
  try {
    message = type.fromObject(value);
  } catch (error) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, `${what} is invalid`, { cause: error });
  }
  const problem = type.verify(message);
  if (problem) throw new WatchmeshError(ErrorCode.InvalidArgument, `${what} is invalid: ${problem}`);
  return type.encode(message).finish();
}

/**
 * Encodes a SignedEnvelope (envelope.proto) field by field: every answer a node sends and every query
 * a coordinator relays is one, and the generic conversion, check and writer cost more than the bytes.
 * The same bytes as protobufjs gives (test/unit/proto-codec.test.ts), including its one quirk that
 * matters here: a field given, even empty, is written (an unsigned answer's empty signature). Any
 * other shape (bytes as base64 text or number arrays, which protobufjs converts) goes the generic way.
 */
export function encodeEnvelope(envelope: SignedEnvelope): Uint8Array {
  const { payload, keyId, signature, tags } = envelope;
  if (!(payload instanceof Uint8Array) || typeof keyId !== "string" || !isBytesOrAbsent(signature) || !isBytesOrAbsent(tags)) {
    return encode(envelopeType, envelope, "envelope");
  }
  const keyIdLength = Buffer.byteLength(keyId, "utf8");
  const out = new ProtoWriter(
    bytesFieldLength(payload.length) + bytesFieldLength(keyIdLength) + (signature ? bytesFieldLength(signature.length) : 0) + (tags ? bytesFieldLength(tags.length) : 0),
  );
  out.bytesField(1, payload);
  out.tag(2, LENGTH_DELIMITED);
  out.varint(keyIdLength);
  out.utf8(keyId);
  if (signature) out.bytesField(3, signature);
  if (tags) out.bytesField(4, tags);
  return out.finish();
}

function isBytesOrAbsent(value: unknown): value is Uint8Array | undefined | null {
  return value === undefined || value === null || value instanceof Uint8Array;
}

/** Bytes of a length-delimited field (numbers below 16) whose value is `length` bytes long. */
function bytesFieldLength(length: number): number {
  return 1 + varintLength(length) + length;
}

/**
 * An envelope's bytes with `tags` as its tags field (4), from the encoding of its other fields: the
 * tags field is the last, so appending it gives what encodeEnvelope gives for the whole envelope.
 * Lets a relay send each recipient the same envelope with only its own tag records.
 */
export function withTagsField(encodedWithoutTags: Uint8Array, tags: Uint8Array): Uint8Array {
  if (tags.length === 0) return encodedWithoutTags;
  const out = new ProtoWriter(encodedWithoutTags.length + 1 + varintLength(tags.length) + tags.length);
  out.raw(encodedWithoutTags);
  out.bytesField(4, tags);
  return out.finish();
}

/** A decoded bytes field: protobufjs leaves an absent one as its shared empty array, not a Uint8Array. */
function bytesOf(value: Uint8Array | readonly number[] | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) return new Uint8Array(value ?? []);
  // A Buffer (a query is read through one) becomes a plain view of the same bytes: callers compare and print Uint8Arrays.
  return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Decodes an envelope with the hot-path reader (common/wire-reader.ts): every answer of a fan-out
 * passes here at the coordinator and the client. Byte fields are views of `bytes`.
 */
export function decodeEnvelope(bytes: Uint8Array): SignedEnvelope {
  return readSignedEnvelope(bytes);
}

export function encodeMatchQuery(query: MatchQuery): Uint8Array {
  return encode(queryType, query, "match query");
}

type Int64 = number | { toNumber(): number };

/** A decoded PersonQuery message: absent message fields read as null. */
type DecodedPerson = Omit<PersonQuery, "dna" | "face"> & { dna?: DnaProfile | null; face?: FaceTemplate | null };

interface DecodedQuery {
  queryId: string;
  requestingCountry: string;
  requestingAgency: string;
  purpose: number;
  legalBasis: string;
  issuedAtMs: Int64;
  expiresAtMs: Int64;
  nonce: Uint8Array;
  requesterLocation: string;
  person?: DecodedPerson | null;
  entity?: EntityQuery | null;
}

const purposeNames = enumNames("watchmesh.v1.Purpose");

/**
 * Decodes a query payload, reading the decoded message directly (every node decodes every query);
 * message-typed fields absent on the wire stay undefined.
 */
export function decodeMatchQuery(bytes: Uint8Array): MatchQuery {
  // Read through a Buffer view (no copy): protobufjs then reads strings with Node's native UTF-8
  // decoder instead of its JavaScript one, a quarter of a query's decoding time.
  const message = decodeMessage<DecodedQuery>(queryType, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), "match query");
  const person = message.person;
  const entity = message.entity;
  return {
    queryId: message.queryId,
    requestingCountry: message.requestingCountry,
    requestingAgency: message.requestingAgency,
    purpose: (purposeNames.get(message.purpose) ?? Purpose.Unspecified) as Purpose,
    legalBasis: message.legalBasis,
    issuedAtMs: toNumber(message.issuedAtMs),
    expiresAtMs: toNumber(message.expiresAtMs),
    nonce: bytesOf(message.nonce),
    requesterLocation: message.requesterLocation,
    ...(person
      ? {
          person: {
            names: person.names,
            dob: person.dob,
            nationality: person.nationality,
            sex: person.sex,
            documents: person.documents.map((document) => ({ type: document.type, number: document.number, country: document.country })),
            mrz: person.mrz,
            ...(person.dna ? { dna: { loci: { ...person.dna.loci }, markerSet: person.dna.markerSet } } : {}),
            ...(person.face ? { face: { embedding: person.face.embedding, model: person.face.model } } : {}),
          },
        }
      : {}),
    ...(entity ? { entity: { type: entity.type, value: entity.value } } : {}),
  };
}

const answerStatusNumbers = enumNumbers("watchmesh.v1.AnswerStatus");
const actionNumbers = enumNumbers("watchmesh.v1.RequestedAction");

function enumNumbers(name: string): Map<string, number> {
  return new Map(Object.entries(root.lookupEnum(name).values));
}

function enumNumber(numbers: Map<string, number>, name: string, what: string): number {
  const value = numbers.get(name);
  if (value === undefined) throw new WatchmeshError(ErrorCode.InvalidArgument, `match answer is invalid: ${what} ${JSON.stringify(name)} is not in answer.proto`);
  return value;
}

/**
 * Encodes a node's answer field by field (answer.proto), without the generic object conversion: every
 * node encodes one per query. Default values are left out, as proto3 encoders do.
 */
export function encodeMatchAnswer(answer: MatchAnswer): Uint8Array {
  const writer = protobuf.Writer.create();
  if (answer.queryId) writer.uint32(tag(1, LENGTH_DELIMITED)).string(answer.queryId);
  if (answer.respondingCountry) writer.uint32(tag(2, LENGTH_DELIMITED)).string(answer.respondingCountry);
  const status = enumNumber(answerStatusNumbers, answer.status, "status");
  if (status !== 0) writer.uint32(tag(3, VARINT)).int32(status);
  for (const hit of answer.hits) {
    writer.uint32(tag(4, LENGTH_DELIMITED)).fork();
    if (hit.reference) writer.uint32(tag(1, LENGTH_DELIMITED)).string(hit.reference);
    if (hit.score !== 0) writer.uint32(tag(2, FIXED64)).double(hit.score);
    if (hit.category) writer.uint32(tag(3, LENGTH_DELIMITED)).string(hit.category);
    const action = enumNumber(actionNumbers, hit.action, "action");
    if (action !== 0) writer.uint32(tag(4, VARINT)).int32(action);
    for (const feature of hit.matchedFeatures) writer.uint32(tag(5, LENGTH_DELIMITED)).string(feature);
    writer.ldelim();
  }
  if (answer.errorCode) writer.uint32(tag(5, LENGTH_DELIMITED)).string(answer.errorCode);
  if (answer.nodeElapsedUs) writer.uint32(tag(6, VARINT)).int64(answer.nodeElapsedUs);
  if (answer.answeredAtMs) writer.uint32(tag(7, VARINT)).int64(answer.answeredAtMs);
  if (answer.queryDigest.length > 0) writer.uint32(tag(8, LENGTH_DELIMITED)).bytes(answer.queryDigest);
  return writer.finish();
}

const answerStatusNames = enumNames("watchmesh.v1.AnswerStatus");

/** The AnswerStatus of an enum number as read off the wire; an unknown number (a newer peer) reads as unspecified. */
export function answerStatusOf(statusNumber: number): AnswerStatus {
  return (answerStatusNames.get(statusNumber) ?? AnswerStatus.Unspecified) as AnswerStatus;
}
const actionNames = enumNames("watchmesh.v1.RequestedAction");

function enumNames(name: string): Map<number, string> {
  return new Map(Object.entries(root.lookupEnum(name).values).map(([key, value]) => [value, key]));
}

function toNumber(value: Int64): number {
  return typeof value === "number" ? value : value.toNumber();
}

type DecodedAnswer = Omit<MatchAnswer, "status" | "hits" | "nodeElapsedUs" | "answeredAtMs"> & {
  status: number;
  hits: DecodedHit[];
  nodeElapsedUs: Int64;
  answeredAtMs: Int64;
};

interface DecodedHit {
  reference: string;
  score: number;
  category: string;
  action: number;
  matchedFeatures: string[];
}

/** Decodes an answer payload, reading the decoded message directly (a hot path, as decodeEnvelope). */
export function decodeMatchAnswer(bytes: Uint8Array): MatchAnswer {
  const message = decodeMessage<DecodedAnswer>(answerType, bytes, "match answer");
  return {
    queryId: message.queryId,
    respondingCountry: message.respondingCountry,
    // An unknown number (a newer peer) reads as unspecified, which every reader treats as an error.
    status: answerStatusOf(message.status),
    hits: message.hits.map((hit) => ({
      reference: hit.reference,
      score: hit.score,
      category: hit.category,
      action: (actionNames.get(hit.action) ?? RequestedAction.Unspecified) as RequestedAction,
      matchedFeatures: hit.matchedFeatures,
    })),
    errorCode: message.errorCode,
    nodeElapsedUs: toNumber(message.nodeElapsedUs),
    answeredAtMs: toNumber(message.answeredAtMs),
    queryDigest: bytesOf(message.queryDigest),
  };
}

export function encodeHitNotification(notification: HitNotification): Uint8Array {
  return encode(notificationType, notification, "hit notification");
}

export function decodeHitNotification(bytes: Uint8Array): HitNotification {
  const raw = decode(notificationType, bytes, "hit notification") as unknown as HitNotification & { answer: SignedEnvelope | null };
  if (!raw.answer) throw new WatchmeshError(ErrorCode.MalformedMessage, "hit notification carries no answer");
  return raw;
}

export function encodeFollowupRequest(request: FollowupRequest): Uint8Array {
  return encode(followupRequestType, request, "follow-up request");
}

export function decodeFollowupRequest(bytes: Uint8Array): FollowupRequest {
  return decode(followupRequestType, bytes, "follow-up request") as unknown as FollowupRequest;
}

export function encodeFollowupReply(reply: FollowupReply): Uint8Array {
  return encode(followupReplyType, reply, "follow-up reply");
}

export function decodeFollowupReply(bytes: Uint8Array): FollowupReply {
  return decode(followupReplyType, bytes, "follow-up reply") as unknown as FollowupReply;
}

export function encodeBatchQuery(batch: BatchQuery): Uint8Array {
  return encode(batchQueryType, batch, "batch query");
}

export function decodeBatchQuery(bytes: Uint8Array): BatchQuery {
  return decode(batchQueryType, bytes, "batch query") as unknown as BatchQuery;
}

export function encodeBatchAnswer(batch: BatchAnswer): Uint8Array {
  return encode(batchAnswerType, batch, "batch answer");
}

export function decodeBatchAnswer(bytes: Uint8Array): BatchAnswer {
  return decode(batchAnswerType, bytes, "batch answer") as unknown as BatchAnswer;
}

export function encodeAggregateQuery(query: AggregateQuery): Uint8Array {
  return encode(aggregateQueryType, query, "aggregate query");
}

export function decodeAggregateQuery(bytes: Uint8Array): AggregateQuery {
  return decode(aggregateQueryType, bytes, "aggregate query") as unknown as AggregateQuery;
}

export function encodeAggregateAnswer(answer: AggregateAnswer): Uint8Array {
  return encode(aggregateAnswerType, answer, "aggregate answer");
}

export function decodeAggregateAnswer(bytes: Uint8Array): AggregateAnswer {
  return decode(aggregateAnswerType, bytes, "aggregate answer") as unknown as AggregateAnswer;
}

/** One country's line of a CheckResponse, with the node's answer envelope as the exact bytes received. */
export interface CountryResultBytes {
  country: string;
  status: CountryStatus;
  /** The encoded SignedEnvelope the node sent; absent when the country is unavailable. */
  answerBytes?: Uint8Array | undefined;
  elapsedMs: number;
  errorCode: string;
}

const countryStatusNumbers = enumNumbers("watchmesh.v1.CountryStatus");

const countryStatusNames = new Map([...countryStatusNumbers].map(([name, number]) => [number, name as CountryStatus]));

/** A CheckResponse as the border system reads it: the shape of the generic gRPC decoder's object. */
export interface CheckResponseMessage {
  queryId: string;
  traceId: string;
  results: { country: string; status: CountryStatus; answer: SignedEnvelope | null; elapsedMs: number; errorCode: string }[];
}

/**
 * Decodes a CheckResponse with the wire reader: the same object as the generic gRPC decoder's (status
 * as its enum name; a number it does not know reads as unspecified), but each answer envelope's bytes
 * are views of the response instead of copies. Throws MALFORMED_MESSAGE.
 */
/** The number of a CountryStatus on the wire (coordinator.proto). */
export function countryStatusNumber(status: CountryStatus): number {
  return countryStatusNumbers.get(status) ?? 0;
}

export function decodeCheckResponse(bytes: Uint8Array): CheckResponseMessage {
  const response = readCheckResponse(bytes);
  return {
    queryId: response.queryId,
    traceId: response.traceId,
    // Fields named one by one: a rest-and-spread copy of 196 results was half of this decoder's time.
    results: response.results.map((result) => ({
      country: result.country,
      status: countryStatusNames.get(result.statusNumber) ?? CountryStatus.Unspecified,
      answer: result.answer,
      elapsedMs: result.elapsedMs,
      errorCode: result.errorCode,
    })),
  };
}

/**
 * Encodes a CheckResponse (coordinator.proto) with each node's answer envelope copied in as received,
 * rather than decoded and encoded again: the coordinator forwards the very bytes each node signed or
 * tagged. Sizes are computed first and the message is written into one buffer: at 196 countries per
 * check the generic writer's per-field bookkeeping was a visible share of the coordinator's time.
 */
export function encodeCheckResponse(response: { queryId: string; traceId: string; results: readonly CountryResultBytes[] }): Uint8Array {
  const statuses = response.results.map((result) => countryStatusNumbers.get(result.status) ?? 0);
  const lengths = response.results.map((result, index) => countryResultLength(result, statuses[index] ?? 0));
  let total = stringFieldLength(response.queryId) + stringFieldLength(response.traceId);
  for (const length of lengths) total += 1 + varintLength(length) + length;
  const out = new ProtoWriter(total);
  out.stringField(1, response.queryId);
  response.results.forEach((result, index) => {
    out.tag(2, LENGTH_DELIMITED);
    out.varint(lengths[index] ?? 0);
    out.stringField(1, result.country);
    const status = statuses[index] ?? 0;
    if (status !== 0) out.varintField(2, status);
    if (result.answerBytes) out.bytesField(3, result.answerBytes);
    if (result.elapsedMs) out.varintField(4, result.elapsedMs);
    out.stringField(5, result.errorCode);
  });
  out.stringField(3, response.traceId);
  return out.finish();
}

function countryResultLength(result: CountryResultBytes, status: number): number {
  return (
    stringFieldLength(result.country) +
    (status !== 0 ? 1 + varintLength(status) : 0) +
    (result.answerBytes ? 1 + varintLength(result.answerBytes.length) + result.answerBytes.length : 0) +
    (result.elapsedMs ? 1 + varintLength(result.elapsedMs) : 0) +
    stringFieldLength(result.errorCode)
  );
}

/** Bytes of a string field (tag, length, UTF-8), 0 for an empty string, which proto3 leaves out. */
function stringFieldLength(value: string): number {
  if (!value) return 0;
  const bytes = utf8Length(value);
  return 1 + varintLength(bytes) + bytes;
}

/**
 * Strings up to this many characters (country codes) are measured and written by a short loop when
 * they are ASCII: Buffer's byteLength and write are calls into C++ that cost more for 3 characters.
 */
const SHORT_STRING_CHARACTERS = 8;

function isShortAscii(value: string): boolean {
  if (value.length > SHORT_STRING_CHARACTERS) return false;
  for (let index = 0; index < value.length; index++) if (value.charCodeAt(index) >= 0x80) return false;
  return true;
}

function utf8Length(value: string): number {
  return isShortAscii(value) ? value.length : Buffer.byteLength(value, "utf8");
}

/** Bytes of a non-negative varint below 2^32. */
function varintLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Writes fields (numbers below 16, non-negative varints below 2^32) into a buffer of the exact size. */
class ProtoWriter {
  readonly #buffer: Buffer;
  #position = 0;

  constructor(size: number) {
    this.#buffer = Buffer.allocUnsafe(size);
  }

  tag(field: number, wireType: number): void {
    this.#buffer[this.#position++] = (field << 3) | wireType;
  }

  varint(value: number): void {
    let rest = value >>> 0;
    while (rest >= 0x80) {
      this.#buffer[this.#position++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.#buffer[this.#position++] = rest;
  }

  varintField(field: number, value: number): void {
    this.tag(field, VARINT);
    this.varint(value);
  }

  stringField(field: number, value: string): void {
    if (!value) return;
    this.tag(field, LENGTH_DELIMITED);
    this.varint(utf8Length(value));
    this.utf8(value);
  }

  /** A string's UTF-8 bytes alone (its field's tag and length written before). */
  utf8(value: string): void {
    if (isShortAscii(value)) {
      for (let index = 0; index < value.length; index++) this.#buffer[this.#position++] = value.charCodeAt(index);
    } else {
      this.#position += this.#buffer.write(value, this.#position, "utf8");
    }
  }

  bytesField(field: number, value: Uint8Array): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.length);
    this.#buffer.set(value, this.#position);
    this.#position += value.length;
  }

  /** Bytes already encoded (whole fields). */
  raw(bytes: Uint8Array): void {
    this.#buffer.set(bytes, this.#position);
    this.#position += bytes.length;
  }

  finish(): Uint8Array {
    if (this.#position !== this.#buffer.length) throw new Error(`encoder wrote ${this.#position} of ${this.#buffer.length} bytes`);
    return this.#buffer;
  }
}

/** Options shared by every gRPC loader so servers and clients see the same JS shapes. */
export const GRPC_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: false,
  arrays: true,
  includeDirs: [PROTO_ROOT_DIR],
};

let grpcPackage: GrpcObject | undefined;

/** The `watchmesh.v1` gRPC package (service constructors and definitions). */
export function watchmeshGrpcPackage(): GrpcObject {
  if (!grpcPackage) {
    const definition = protoLoader.loadSync([...PROTO_FILES], GRPC_LOADER_OPTIONS);
    const loaded = loadPackageDefinition(definition) as unknown as { watchmesh: { v1: GrpcObject } };
    grpcPackage = loaded.watchmesh.v1;
  }
  return grpcPackage;
}

/** The package definition itself, for gRPC server reflection. */
export function watchmeshPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync([...PROTO_FILES], GRPC_LOADER_OPTIONS);
}
