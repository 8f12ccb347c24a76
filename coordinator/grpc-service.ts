import {
  Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ERROR_CODE_METADATA_KEY, ErrorCode, toGrpcStatus, WatchmeshError } from "../common/errors.ts";
import { isMalformedRequest, tolerateMalformedRequests, type GrpcServiceBinding, type MalformedRequest } from "../common/grpc-server.ts";
import { encodeCheckResponse, encodeEnvelope, watchmeshGrpcPackage, type SignedEnvelope } from "../common/proto.ts";
import { regionOf } from "../common/regions.ts";
import { contextFromGrpcMetadata } from "../common/telemetry.ts";
import type { CheckOptions, Coordinator } from "./coordinator.ts";
import type { GatheredResult } from "./gatherer.ts";

export const COORDINATOR_SERVICE_NAME = "watchmesh.v1.Coordinator";

interface CheckRequestMessage {
  query: SignedEnvelope | null;
  deadlineMs: number;
  countries: string[];
}

interface CheckBatchRequestMessage {
  queries: SignedEnvelope[];
  deadlineMs: number;
  countries: string[];
}

/** `Coordinator.Check`, `CheckBatch` and `Aggregate` over gRPC. Query problems become canonical statuses with a stable code in metadata. */
export function coordinatorGrpcBinding(coordinator: Coordinator): GrpcServiceBinding {
  const constructor = watchmeshGrpcPackage()["Coordinator"] as unknown as { service: ServiceDefinition };
  const tolerant = tolerateMalformedRequests(constructor.service);
  const check = tolerant["Check"];
  if (!check) throw new Error("proto/watchmesh/v1/coordinator.proto has no Check method");
  // Check responses are encoded here (encodeCheckResponse), so the nodes' answers pass through as bytes.
  const definition: ServiceDefinition = {
    ...tolerant,
    Check: { ...check, responseSerialize: (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : check.responseSerialize(value)) },
  };
  const implementation: UntypedServiceImplementation = {
    Check(call: ServerUnaryCall<CheckRequestMessage | MalformedRequest, unknown>, callback: sendUnaryData<unknown>) {
      const request = call.request;
      if (isMalformedRequest(request)) {
        fail(callback, new WatchmeshError(ErrorCode.MalformedMessage, "request is not a CheckRequest"));
        return;
      }
      if (!request.query) {
        fail(callback, new WatchmeshError(ErrorCode.MalformedMessage, "CheckRequest.query is missing"));
        return;
      }
      coordinator.check(request.query, checkOptions(call, request)).then(
        (outcome) =>
          callback(
            null,
            encodeCheckResponse({
              queryId: outcome.queryId,
              traceId: outcome.traceId,
              // The gatherer keeps each answer's bytes as received; only an answer without them is encoded.
              results: outcome.results.map((result) => (result.answerBytes || !result.answer ? result : { ...result, answerBytes: encodeEnvelope(result.answer) })),
            }),
          ),
        (error: unknown) => fail(callback, error),
      );
    },
    Aggregate(call: ServerUnaryCall<CheckRequestMessage | MalformedRequest, unknown>, callback: sendUnaryData<unknown>) {
      const request = call.request;
      if (isMalformedRequest(request)) {
        fail(callback, new WatchmeshError(ErrorCode.MalformedMessage, "request is not an AggregateRequest"));
        return;
      }
      if (!request.query) {
        fail(callback, new WatchmeshError(ErrorCode.MalformedMessage, "AggregateRequest.query is missing"));
        return;
      }
      coordinator.aggregate(request.query, checkOptions(call, request)).then(
        (outcome) =>
          callback(null, {
            queryId: outcome.queryId,
            traceId: outcome.traceId,
            results: outcome.results.map((result) => ({
              country: result.country,
              region: regionOf(result.country),
              status: result.status,
              answer: result.answer ?? null,
              elapsedMs: result.elapsedMs,
              errorCode: result.errorCode,
            })),
            totals: outcome.totals,
          }),
        (error: unknown) => fail(callback, error),
      );
    },
    CheckBatch(call: ServerUnaryCall<CheckBatchRequestMessage | MalformedRequest, unknown>, callback: sendUnaryData<unknown>) {
      const request = call.request;
      if (isMalformedRequest(request)) {
        fail(callback, new WatchmeshError(ErrorCode.MalformedMessage, "request is not a CheckBatchRequest"));
        return;
      }
      coordinator.checkBatch(request.queries, checkOptions(call, request)).then(
        (outcome) =>
          callback(null, {
            traceId: outcome.traceId,
            travellers: outcome.travellers.map((traveller) => ({
              queryId: traveller.queryId,
              results: traveller.results.map(countryResultMessage),
            })),
          }),
        (error: unknown) => fail(callback, error),
      );
    },
  };
  return { name: COORDINATOR_SERVICE_NAME, definition, implementation };
}

function checkOptions(call: ServerUnaryCall<unknown, unknown>, request: { deadlineMs: number; countries: string[] }): CheckOptions {
  const callDeadline = call.getDeadline();
  const callerDeadlineAtMs = callDeadline instanceof Date ? callDeadline.getTime() : Number.isFinite(callDeadline) ? callDeadline : undefined;
  return {
    deadlineMs: request.deadlineMs,
    countries: request.countries,
    parentContext: contextFromGrpcMetadata(call.metadata),
    // Leave a little time to send the response before the caller gives up.
    ...(callerDeadlineAtMs === undefined ? {} : { callerDeadlineAtMs: callerDeadlineAtMs - 50 }),
  };
}

function countryResultMessage(result: GatheredResult): object {
  return {
    country: result.country,
    status: result.status,
    answer: result.answer ?? null,
    elapsedMs: result.elapsedMs,
    errorCode: result.errorCode,
  };
}

function fail(callback: sendUnaryData<unknown>, error: unknown): void {
  const failure = WatchmeshError.from(error);
  const trailer = new Metadata();
  trailer.set(ERROR_CODE_METADATA_KEY, failure.code);
  callback({ code: toGrpcStatus(failure.code), details: failure.message, metadata: trailer });
}
