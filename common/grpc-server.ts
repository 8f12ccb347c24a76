import path from "node:path";
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check";
import { ReflectionService } from "@grpc/reflection";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import { MAX_ENVELOPE_WIRE_BYTES } from "./limits.ts";
import { GRPC_LOADER_OPTIONS, PROTO_FILES } from "./proto.ts";

export interface GrpcServiceBinding {
  /** Fully qualified name, e.g. "watchmesh.v1.CountryNode" (used for health status). */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

/** What a handler receives instead of a request that is not its method's protobuf message. */
export interface MalformedRequest {
  readonly malformedBytes: Uint8Array;
}

export function isMalformedRequest(request: unknown): request is MalformedRequest {
  return typeof request === "object" && request !== null && "malformedBytes" in request;
}

/**
 * The service definition with requests that fail to decode handed to the handler as a
 * MalformedRequest, so it answers with the project's typed error (or a signed refusal) instead of
 * grpc-js's bare INTERNAL "Error deserializing request".
 */
export function tolerateMalformedRequests(definition: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer): unknown => {
          try {
            return method.requestDeserialize(bytes);
          } catch {
            return { malformedBytes: new Uint8Array(bytes) } satisfies MalformedRequest;
          }
        },
      },
    ]),
  );
}

export interface GrpcServerOptions {
  /** host:port; port 0 picks a free one. */
  address: string;
  services: GrpcServiceBinding[];
  credentials?: ServerCredentials;
  maxReceiveMessageBytes?: number;
}

export interface RunningGrpcServer {
  readonly port: number;
  readonly address: string;
  /** Marks services NOT_SERVING so load balancers drain, then shuts down gracefully. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a gRPC server exposing the given services plus the standard health-checking and
 * server-reflection services, so clients generated in any language can discover and probe it.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    // A query envelope (payload and pair tags) is at most MAX_ENVELOPE_WIRE_BYTES; anything larger is refused before decoding.
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? MAX_ENVELOPE_WIRE_BYTES,
    // channelz keeps per-call statistics for a channelz service, which Watchmesh does not serve: about
    // 9 of grpc-js's 100 µs of server CPU per unary call here.
    "grpc.enable_channelz": 0,
  });
  for (const service of options.services) server.addService(service.definition, service.implementation);

  const statuses: Record<string, "SERVING"> = { "": "SERVING" };
  for (const service of options.services) statuses[service.name] = "SERVING";
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  reflectionService().addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, options.credentials ?? ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error) reject(new WatchmeshError(ErrorCode.Unavailable, `cannot listen on ${options.address}: ${error.message}`, { cause: error }));
      else resolve(boundPort);
    });
  });
  const host = options.address.slice(0, options.address.lastIndexOf(":"));

  let stopping: Promise<void> | undefined;
  return {
    port,
    address: `${host}:${port}`,
    stop(graceMs = 5000) {
      stopping ??= new Promise<void>((resolve) => {
        for (const name of Object.keys(statuses)) health.setStatus(name, "NOT_SERVING");
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopping;
    },
  };
}

let reflection: ReflectionService | undefined;

function reflectionService(): ReflectionService {
  if (!reflection) {
    const healthRoot = path.resolve(path.dirname(healthProtoPath), "..", "..");
    const definition = protoLoader.loadSync([...PROTO_FILES, healthProtoPath], {
      ...GRPC_LOADER_OPTIONS,
      includeDirs: [...(GRPC_LOADER_OPTIONS.includeDirs ?? []), healthRoot],
    });
    reflection = new ReflectionService(definition);
  }
  return reflection;
}
