import { status as GrpcStatus } from "@grpc/grpc-js";

/**
 * Stable error codes. They travel on the wire (MatchAnswer.error_code, CountryResult.error_code,
 * gRPC status details) and appear in the CLI's --json output, so values never change meaning.
 */
export const ErrorCode = {
  InvalidArgument: "INVALID_ARGUMENT",
  MalformedMessage: "MALFORMED_MESSAGE",
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  BadSignature: "BAD_SIGNATURE",
  UnknownSigner: "UNKNOWN_SIGNER",
  KeyNotValid: "KEY_NOT_VALID",
  RoleNotAllowed: "ROLE_NOT_ALLOWED",
  SignerMismatch: "SIGNER_MISMATCH",
  QueryExpired: "QUERY_EXPIRED",
  QueryNotYetValid: "QUERY_NOT_YET_VALID",
  QueryLifetimeTooLong: "QUERY_LIFETIME_TOO_LONG",
  QueryReplayed: "QUERY_REPLAYED",
  /** The node's sharing policy has no rule for the requesting country and agency. */
  PolicyRequesterDenied: "POLICY_REQUESTER_DENIED",
  /** The requester may query this node, but not for the query's purpose. */
  PolicyPurposeDenied: "POLICY_PURPOSE_DENIED",
  /** The query searches a category (persons, documents, entities, DNA, face) the requester may not search. */
  PolicyCategoryDenied: "POLICY_CATEGORY_DENIED",
  /** An aggregate query's noise (epsilon) is outside what the node's policy accepts. */
  PolicyPrivacyDenied: "POLICY_PRIVACY_DENIED",
  /** The requester's daily quota at this node is used up until the next UTC day. */
  QuotaExhausted: "QUOTA_EXHAUSTED",
  /** The requester sends faster than the coordinator's or node's per-requester rate limit allows. */
  RateLimited: "RATE_LIMITED",
  InvalidRecord: "INVALID_RECORD",
  InvalidMrz: "INVALID_MRZ",
  RegistryInvalid: "REGISTRY_INVALID",
  ConfigInvalid: "CONFIG_INVALID",
  KeyFileInvalid: "KEY_FILE_INVALID",
  NotFound: "NOT_FOUND",
  /** A web console request without a valid session or access token. */
  Unauthenticated: "UNAUTHENTICATED",
  Unavailable: "UNAVAILABLE",
  DeadlineExceeded: "DEADLINE_EXCEEDED",
  AnswerInvalid: "ANSWER_INVALID",
  NatsServerMissing: "NATS_SERVER_MISSING",
  Internal: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const errorCodeValues = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(value: string): value is ErrorCode {
  return errorCodeValues.has(value);
}

export interface WatchmeshErrorOptions {
  cause?: unknown;
  /** Safe, non-personal context (ids, counts, field names) for logs. */
  context?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The one error type of the project. `message` must be safe to show and send: never record or query
 * content. Boundary layers translate it to gRPC statuses, signed answers or CLI lines.
 */
export class WatchmeshError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, string | number | boolean>>;

  constructor(code: ErrorCode, message: string, options: WatchmeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WatchmeshError";
    this.code = code;
    this.context = options.context ?? {};
  }

  /** Wraps anything thrown into a WatchmeshError without leaking the original message. */
  static from(error: unknown, fallback: ErrorCode = ErrorCode.Internal): WatchmeshError {
    if (error instanceof WatchmeshError) return error;
    return new WatchmeshError(fallback, "internal error", { cause: error });
  }
}

const grpcStatusByCode: Record<ErrorCode, GrpcStatus> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  MALFORMED_MESSAGE: GrpcStatus.INVALID_ARGUMENT,
  PAYLOAD_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  BAD_SIGNATURE: GrpcStatus.UNAUTHENTICATED,
  UNKNOWN_SIGNER: GrpcStatus.UNAUTHENTICATED,
  KEY_NOT_VALID: GrpcStatus.UNAUTHENTICATED,
  ROLE_NOT_ALLOWED: GrpcStatus.PERMISSION_DENIED,
  SIGNER_MISMATCH: GrpcStatus.PERMISSION_DENIED,
  QUERY_EXPIRED: GrpcStatus.FAILED_PRECONDITION,
  QUERY_NOT_YET_VALID: GrpcStatus.FAILED_PRECONDITION,
  QUERY_LIFETIME_TOO_LONG: GrpcStatus.INVALID_ARGUMENT,
  QUERY_REPLAYED: GrpcStatus.ALREADY_EXISTS,
  POLICY_REQUESTER_DENIED: GrpcStatus.PERMISSION_DENIED,
  POLICY_PURPOSE_DENIED: GrpcStatus.PERMISSION_DENIED,
  POLICY_CATEGORY_DENIED: GrpcStatus.PERMISSION_DENIED,
  POLICY_PRIVACY_DENIED: GrpcStatus.PERMISSION_DENIED,
  QUOTA_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
  INVALID_RECORD: GrpcStatus.INVALID_ARGUMENT,
  INVALID_MRZ: GrpcStatus.INVALID_ARGUMENT,
  REGISTRY_INVALID: GrpcStatus.FAILED_PRECONDITION,
  CONFIG_INVALID: GrpcStatus.FAILED_PRECONDITION,
  KEY_FILE_INVALID: GrpcStatus.FAILED_PRECONDITION,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  ANSWER_INVALID: GrpcStatus.INTERNAL,
  NATS_SERVER_MISSING: GrpcStatus.UNAVAILABLE,
  INTERNAL: GrpcStatus.INTERNAL,
};

export function toGrpcStatus(code: ErrorCode): GrpcStatus {
  return grpcStatusByCode[code];
}

/** gRPC metadata key carrying the stable error code next to the canonical status. */
export const ERROR_CODE_METADATA_KEY = "watchmesh-error-code";
