export { ErrorCode, WatchmeshError, isErrorCode, toGrpcStatus, ERROR_CODE_METADATA_KEY } from "./errors.ts";
export type { WatchmeshErrorOptions } from "./errors.ts";
export {
  MAX_ENVELOPE_BYTES,
  MAX_RECORD_LINE_BYTES,
  MAX_QUERY_LIFETIME_MS,
  DEFAULT_QUERY_LIFETIME_MS,
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_CHECK_DEADLINE_MS,
  MAX_CHECK_DEADLINE_MS,
  MIN_NONCE_BYTES,
  MAX_HITS_PER_ANSWER,
} from "./limits.ts";
export { initSodium } from "./sodium.ts";
export { SignatureDomain, domainPrefix, generateKeyPair, signDetached, verifyDetached, keyFingerprint, sha256 } from "./signing.ts";
export {
  MemberRole,
  createIdentity,
  publicPart,
  readPrivateKeyFile,
  readPublicKeyFile,
  writePrivateKeyFile,
  writePublicKeyFile,
} from "./key-files.ts";
export type { SigningIdentity, PublicIdentity } from "./key-files.ts";
export { TrustRegistry, memberFor, signRegistry, registryDocumentSchema } from "./registry.ts";
export type { RegistryDocument, RegistryMember, RegistryKey, ResolvedSigner } from "./registry.ts";
export { signEnvelope, verifyEnvelope, signQuery, openQuery, signAnswer, openAnswer, hexDigest } from "./envelope.ts";
export type { OpenedQuery, QueryCheckOptions, AnswerCheckOptions } from "./envelope.ts";
export {
  AnswerStatus,
  CountryStatus,
  Purpose,
  RequestedAction,
  PROTO_ROOT_DIR,
  PROTO_FILES,
  encodeEnvelope,
  decodeEnvelope,
  encodeMatchQuery,
  decodeMatchQuery,
  encodeMatchAnswer,
  decodeMatchAnswer,
  watchmeshGrpcPackage,
} from "./proto.ts";
export type {
  SignedEnvelope,
  MatchQuery,
  MatchAnswer,
  PersonQuery,
  EntityQuery,
  TravelDocument,
  Hit,
  DnaProfile,
  FaceTemplate,
} from "./proto.ts";
export { MATCH_ALL_SUBJECT, matchCountrySubject, nodeQueueGroup, coordinatorInboxPrefix, DEADLINE_HEADER } from "./subjects.ts";
export { createLogger, silentLogger } from "./logger.ts";
export type { Logger, LoggerOptions } from "./logger.ts";
export { startGrpcServer } from "./grpc-server.ts";
export type { GrpcServiceBinding, GrpcServerOptions, RunningGrpcServer } from "./grpc-server.ts";
export { connectNats } from "./nats-connection.ts";
export { startNatsServer } from "./nats-server.ts";
export type { NatsServerOptions, RunningNatsServer } from "./nats-server.ts";
export { isCountryCode, COUNTRY_CODE_PATTERN } from "./country-codes.ts";
export { startTelemetry } from "./telemetry-sdk.ts";
export type { TelemetryOptions, RunningTelemetry } from "./telemetry-sdk.ts";
export { tracer, injectIntoGrpcMetadata, contextFromGrpcMetadata, injectIntoNatsHeaders, contextFromNatsHeaders } from "./telemetry.ts";
