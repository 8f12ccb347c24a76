import {
  Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ERROR_CODE_METADATA_KEY, toGrpcStatus, WatchmeshError } from "../common/errors.ts";
import type { GrpcServiceBinding } from "../common/grpc-server.ts";
import { watchmeshGrpcPackage, type SignedEnvelope } from "../common/proto.ts";
import { contextFromGrpcMetadata } from "../common/telemetry.ts";
import type { Coordinator } from "./coordinator.ts";

export const COORDINATOR_SERVICE_NAME = "watchmesh.v1.Coordinator";

interface CheckRequestMessage {
  query: SignedEnvelope | null;
  deadlineMs: number;
  countries: string[];
}

/** `Coordinator.Check` over gRPC. Query problems become canonical statuses with a stable code in metadata. */
export function coordinatorGrpcBinding(coordinator: Coordinator): GrpcServiceBinding {
  const constructor = watchmeshGrpcPackage()["Coordinator"] as unknown as { service: ServiceDefinition };
  const implementation: UntypedServiceImplementation = {
    Check(call: ServerUnaryCall<CheckRequestMessage, unknown>, callback: sendUnaryData<unknown>) {
      const request = call.request;
      if (!request.query) {
        const trailer = new Metadata();
        trailer.set(ERROR_CODE_METADATA_KEY, "MALFORMED_MESSAGE");
        callback({ code: toGrpcStatus("MALFORMED_MESSAGE"), details: "CheckRequest.query is missing", metadata: trailer });
        return;
      }
      const callDeadline = call.getDeadline();
      const callerDeadlineAtMs = callDeadline instanceof Date ? callDeadline.getTime() : Number.isFinite(callDeadline) ? callDeadline : undefined;
      coordinator
        .check(request.query, {
          deadlineMs: request.deadlineMs,
          countries: request.countries,
          parentContext: contextFromGrpcMetadata(call.metadata),
          // Leave a little time to send the response before the caller gives up.
          ...(callerDeadlineAtMs === undefined ? {} : { callerDeadlineAtMs: callerDeadlineAtMs - 50 }),
        })
        .then(
          (outcome) =>
            callback(null, {
              queryId: outcome.queryId,
              traceId: outcome.traceId,
              results: outcome.results.map((result) => ({
                country: result.country,
                status: result.status,
                answer: result.answer ?? null,
                elapsedMs: result.elapsedMs,
                errorCode: result.errorCode,
              })),
            }),
          (error: unknown) => {
            const failure = WatchmeshError.from(error);
            const trailer = new Metadata();
            trailer.set(ERROR_CODE_METADATA_KEY, failure.code);
            callback({ code: toGrpcStatus(failure.code), details: failure.message, metadata: trailer });
          },
        );
    },
  };
  return { name: COORDINATOR_SERVICE_NAME, definition: constructor.service, implementation };
}
