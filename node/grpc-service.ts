import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { GrpcServiceBinding } from "../common/grpc-server.ts";
import { watchmeshGrpcPackage, type SignedEnvelope } from "../common/proto.ts";
import { contextFromGrpcMetadata } from "../common/telemetry.ts";
import type { MatchService } from "./match-service.ts";

export const COUNTRY_NODE_SERVICE_NAME = "watchmesh.v1.CountryNode";

/** `CountryNode.Match` over gRPC: the same signed answer as over NATS, for direct country-to-country use. */
export function countryNodeGrpcBinding(service: MatchService): GrpcServiceBinding {
  const constructor = watchmeshGrpcPackage()["CountryNode"] as unknown as { service: ServiceDefinition };
  const implementation: UntypedServiceImplementation = {
    Match(call: ServerUnaryCall<SignedEnvelope, SignedEnvelope>, callback: sendUnaryData<SignedEnvelope>) {
      callback(null, service.answer(call.request, contextFromGrpcMetadata(call.metadata)));
    },
  };
  return { name: COUNTRY_NODE_SERVICE_NAME, definition: constructor.service, implementation };
}
