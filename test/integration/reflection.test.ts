import { createRequire } from "node:module";
import path from "node:path";
import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGrpcServer, type RunningGrpcServer } from "../../common/grpc-server.ts";
import { silentLogger } from "../../common/logger.ts";
import { countryNodeGrpcBinding } from "../../node/grpc-service.ts";
import { MatchService } from "../../node/match-service.ts";
import type { Matcher } from "../../node/matcher.ts";
import { makeTrust } from "../helpers/identities.ts";

// The reflection service's own proto, shipped with @grpc/reflection: what grpcurl and other
// languages' tooling use to discover services.
const require = createRequire(import.meta.url);
const reflectionProto = path.join(path.dirname(require.resolve("@grpc/reflection/package.json")), "build/proto/grpc/reflection/v1/reflection.proto");

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
}
type ReflectionClient = Client & { ServerReflectionInfo(): ClientDuplexStream<object, ReflectionResponse> };

let server: RunningGrpcServer;
let client: ReflectionClient;

beforeAll(async () => {
  const trust = await makeTrust(["NLD"]);
  const identity = trust.nodes.get("NLD");
  if (!identity) throw new Error("missing identity");
  const emptyMatcher: Matcher = { matchPerson: () => [], matchEntity: () => [] };
  const service = new MatchService({ identity, registry: () => trust.registry, matcher: emptyMatcher, referenceFor: (id) => id, logger: silentLogger() });
  server = await startGrpcServer({ address: "127.0.0.1:0", services: [countryNodeGrpcBinding(service)] });
  const definition = protoLoader.loadSync(reflectionProto, { keepCase: false, defaults: true, oneofs: true });
  const Reflection = (loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => ReflectionClient } } };
  }).grpc.reflection.v1.ServerReflection;
  client = new Reflection(`127.0.0.1:${server.port}`, credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.stop(0);
});

function ask(request: object): Promise<ReflectionResponse> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on("data", (response: ReflectionResponse) => {
      resolve(response);
      call.end();
    });
    call.on("error", reject);
    call.write(request);
  });
}

describe("gRPC server reflection", () => {
  it("lists the Watchmesh, health and reflection services", async () => {
    const response = await ask({ listServices: "" });
    const names = response.listServicesResponse?.service.map((service) => service.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(["watchmesh.v1.CountryNode", "watchmesh.v1.Coordinator", "grpc.health.v1.Health"]));
  });

  it("serves the file descriptors a client in another language needs for CountryNode", async () => {
    const response = await ask({ fileContainingSymbol: "watchmesh.v1.CountryNode" });
    const files = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    expect(files.length).toBeGreaterThan(0);
    const text = Buffer.concat(files).toString("latin1");
    expect(text).toContain("CountryNode");
    expect(text).toContain("watchmesh.v1.SignedEnvelope");
  });
});
