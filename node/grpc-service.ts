import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { isMalformedRequest, tolerateMalformedRequests, type GrpcServiceBinding, type MalformedRequest } from "../common/grpc-server.ts";
import { watchmeshGrpcPackage, type SignedEnvelope } from "../common/proto.ts";
import { contextFromGrpcMetadata } from "../common/telemetry.ts";
import type { MatchService } from "./match-service.ts";

export const COUNTRY_NODE_SERVICE_NAME = "watchmesh.v1.CountryNode";

/** `CountryNode.Match` over gRPC: the same signed answer as over NATS, for direct country-to-country use. */
export function countryNodeGrpcBinding(service: MatchService): GrpcServiceBinding {
  const constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as { service: ServiceDefinition };
  const implementation: UntypedServiceImplementation = {
    Match(call: ServerUnaryCall<SignedEnvelope | MalformedRequest, SignedEnvelope>, callback: sendUnaryData<SignedEnvelope>) {
      const parent = contextFromGrpcMetadata(call.metadata);
      // Garbage gets the same signed refusal as over NATS.
      const request = call.request;
      callback(null, isMalformedRequest(request) ? service.answerBytes(request.malformedBytes, parent) : service.answer(request, parent));
    },
  };
  return { name: COUNTRY_NODE_SERVICE_NAME, definition: tolerateMalformedRequests(constructor.service), implementation };
}
