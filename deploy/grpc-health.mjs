#!/usr/bin/env node
// Asks a Watchmesh node or coordinator for its grpc.health.v1 status and exits 0 when SERVING.
// For container health checks where no grpc_health_probe binary exists (compose; k8s uses its
// built-in `grpc:` probe instead). Usage: node deploy/grpc-health.mjs [host:port] [service]
// Defaults: 127.0.0.1:50051 and "" (the server as a whole). Plaintext gRPC, like the services.
import { credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

const address = process.argv[2] ?? "127.0.0.1:50051";
const serviceName = process.argv[3] ?? "";
const timeoutMs = 3000;

const HealthClient = makeGenericClientConstructor(healthService, "grpc.health.v1.Health");
const client = new HealthClient(address, credentials.createInsecure());
client.Check({ service: serviceName }, { deadline: Date.now() + timeoutMs }, (error, response) => {
  client.close();
  if (error) {
    process.stderr.write(`grpc-health: ${address}: ${error.details || error.message}\n`);
    process.exit(1);
  }
  const status = response?.status;
  // proto-loader may give the enum as a name or a number (SERVING = 1).
  const serving = status === "SERVING" || status === 1;
  process.stdout.write(`${address} ${serviceName || "(server)"}: ${status}\n`);
  process.exit(serving ? 0 : 1);
});
