import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { isMalformedRequest, tolerateMalformedRequests, type GrpcServiceBinding, type MalformedRequest } from "../common/grpc-server.ts";
import { watchmeshGrpcPackage, type SignedEnvelope } from "../common/proto.ts";
import { contextFromGrpcMetadata } from "../common/telemetry.ts";
import type { AggregateService } from "./aggregate-service.ts";
import type { MatchService } from "./match-service.ts";

export const COUNTRY_NODE_SERVICE_NAME = "watchmesh.v1.CountryNode";

/**
 * `CountryNode.Match` and `CountryNode.Aggregate` over gRPC: the same signed answers as over NATS, for
 * direct country-to-country use.
 */
export function countryNodeGrpcBinding(service: MatchService, aggregates?: AggregateService): GrpcServiceBinding {
  const constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as { service: ServiceDefinition };
  const implementation: UntypedServiceImplementation = {
    Match(call: ServerUnaryCall<SignedEnvelope | MalformedRequest, SignedEnvelope>, callback: sendUnaryData<SignedEnvelope>) {
      const parent = contextFromGrpcMetadata(call.metadata);
      // Garbage gets the same signed refusal as over NATS.
      const request = call.request;
      callback(null, isMalformedRequest(request) ? service.answerBytes(request.malformedBytes, parent) : service.answer(request, parent));
    },
    Aggregate(call: ServerUnaryCall<SignedEnvelope | MalformedRequest, SignedEnvelope>, callback: sendUnaryData<SignedEnvelope>) {
      if (!aggregates) {
        callback({ code: status.UNIMPLEMENTED, details: "this node does not answer aggregate queries" });
        return;
      }
      const parent = contextFromGrpcMetadata(call.metadata);
      const request = call.request;
      // Never rejects: every problem is a signed refusal.
      void (isMalformedRequest(request) ? aggregates.answerBytes(request.malformedBytes, parent) : aggregates.answer(request, parent)).then((answer) => callback(null, answer));
    },
  };
  return { name: COUNTRY_NODE_SERVICE_NAME, definition: tolerateMalformedRequests(constructor.service), implementation };
}
