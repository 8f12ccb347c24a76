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
  MAX_PAIR_TAG_RECORDS,
  MAX_ENVELOPE_WIRE_BYTES,
  DEFAULT_COORDINATOR_RATE_PER_SECOND,
  DEFAULT_NODE_RATE_PER_SECOND,
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
export {
  signEnvelope,
  verifyEnvelope,
  authenticateEnvelope,
  requireSignature,
  signQuery,
  openQuery,
  signAnswer,
  sealAnswer,
  openAnswer,
  openAnswerOutcome,
  hexDigest,
} from "./envelope.ts";
export type {
  OpenedQuery,
  QueryCheckOptions,
  QuerySigningOptions,
  AnswerCheckOptions,
  AnswerOutcome,
  AnswerSealOptions,
  AuthenticatedEnvelope,
  AuthenticateOptions,
} from "./envelope.ts";
export { PairKeyring, recipientId, PAIR_TAG_BYTES, PAIR_TAG_RECORD_BYTES, RECIPIENT_ID_BYTES } from "./pair-tags.ts";
export type { PairSide } from "./pair-tags.ts";
export { RateLimiter } from "./rate-limiter.ts";
export type { RateLimit } from "./rate-limiter.ts";
export { loadServerTls, loadClientTls } from "./grpc-tls.ts";
export type { ServerTlsFiles, ClientTlsFiles } from "./grpc-tls.ts";
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
  encodeCheckResponse,
  watchmeshGrpcPackage,
  FollowupDecision,
  encodeHitNotification,
  decodeHitNotification,
  encodeFollowupRequest,
  decodeFollowupRequest,
  encodeFollowupReply,
  decodeFollowupReply,
  encodeBatchQuery,
  decodeBatchQuery,
  encodeBatchAnswer,
  decodeBatchAnswer,
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
  HitNotification,
  FollowupRequest,
  FollowupReply,
  BatchQuery,
  BatchAnswer,
} from "./proto.ts";
export {
  MATCH_ALL_SUBJECT,
  matchCountrySubject,
  MATCH_SHARD_COUNT,
  matchShardOf,
  matchShardSubject,
  nodeMatchSubjects,
  nodeQueueGroup,
  coordinatorInboxPrefix,
  coordinatorBatchInboxPrefix,
  DEADLINE_HEADER,
  KIND_HEADER,
  BATCH_QUERY_KIND,
  notifySubject,
  notifyConsumer,
  NOTIFY_STREAM,
  followupRequestSubject,
  followupReplySubject,
  FOLLOWUP_STREAM,
} from "./subjects.ts";
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
export { ensureNotifyStream, ensureFollowupStream, consumeDurably, isJetStreamDisabled, isStreamMissing, NOTIFY_MAX_AGE_MS, NOTIFY_DUPLICATE_WINDOW_MS } from "./jetstream.ts";
export {
  DEFAULT_FOLLOWUP_DEADLINE_MS,
  signFollowupRequest,
  openFollowupRequest,
  signFollowupReply,
  openFollowupReply,
  sealDetails,
  openSealedDetails,
} from "./followup.ts";
export { followFile, DEFAULT_FOLLOW_INTERVAL_MS } from "./file-follower.ts";
export type { FileFollower, FileFollowerOptions } from "./file-follower.ts";
export { MetricsRegistry, Counter, Gauge, Histogram, startMetricsServer, parseMetricsAddress, LATENCY_BUCKETS_SECONDS, METRICS_CONTENT_TYPE } from "./metrics.ts";
export type { MetricsServerOptions, RunningMetricsServer, MetricOptions, HistogramOptions } from "./metrics.ts";
export { SpanFileExporter, spanFileProcessor, readSpanFile, toSpanRecord, MESH_SPAN_FILE_NAME } from "./span-file.ts";
export type { SpanRecord } from "./span-file.ts";
