import { InvalidArgumentError, type Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { DEFAULT_COORDINATOR_RATE_PER_SECOND } from "../../../common/limits.ts";
import { readPrivateKeyFile, readPublicKeyFile } from "../../../common/key-files.ts";
import { followFile } from "../../../common/file-follower.ts";
import { TrustRegistry } from "../../../common/registry.ts";
import { MetricsRegistry, parseMetricsAddress, startMetricsServer, type RunningMetricsServer } from "../../../common/metrics.ts";
import { initSodium } from "../../../common/sodium.ts";
import { Coordinator, CoordinatorMetrics } from "../../../coordinator/index.ts";
import { parsePositiveInt } from "./options.ts";
import { addNatsOptions, natsAuthFromFlags, type NatsFlags } from "./nats-options.ts";
import type { CliRuntime } from "./runtime.ts";
import { addServerTlsOptions, serverTlsFromFlags, type ServerTlsFlags } from "./tls-options.ts";

interface ServeFlags extends NatsFlags, ServerTlsFlags {
  key?: string;
  registry: string;
  rootKey: string;
  grpc: string;
  deadlineMs?: number;
  metrics?: { host: string; port: number };
  rateLimit?: number;
}

function parseMetricsFlag(value: string): { host: string; port: number } {
  try {
    return parseMetricsAddress(value);
  } catch (error) {
    throw new InvalidArgumentError(WatchmeshError.from(error).message);
  }
}

export function registerCoordinatorCommands(program: Command, runtime: CliRuntime): void {
  const coordinator = program.command("coordinator").description("stateless fan-out for border systems");
  addServerTlsOptions(addNatsOptions(
    coordinator
      .command("serve")
      .description("serve Coordinator.Check over gRPC, fanning queries out over NATS, until Ctrl-C")
      .requiredOption("--registry <file>", "signed trust registry")
      .requiredOption("--root-key <file>", "registry root public key file")
      .option("--key <file>", "the coordinator's private key (role coordinator, 0600): nodes then authenticate answers to it with MACs instead of signatures")
      .option("--grpc <host:port>", "listen address", "127.0.0.1:50051")
      .option("--deadline-ms <ms>", "default gathering deadline", parsePositiveInt)
      .option("--metrics <host:port>", "serve Prometheus metrics on http://host:port/metrics (port 0 picks one)", parseMetricsFlag)
      .option("--rate-limit <per-second>", `checks a second one border system key may send (bursts of twice that; a batch counts each traveller; default ${DEFAULT_COORDINATOR_RATE_PER_SECOND})`, parsePositiveInt),
  )).action(async (flags: ServeFlags) => {
      const natsServers = flags.nats ?? runtime.natsUrl;
      if (!natsServers) throw new WatchmeshError(ErrorCode.ConfigInvalid, "no NATS server: pass --nats or set NATS_URL");
      await initSodium();
      const rootKey = await readPublicKeyFile(flags.rootKey);
      const registry = await TrustRegistry.load(flags.registry, rootKey);
      const identity = flags.key ? await readPrivateKeyFile(flags.key) : undefined;
      const grpcCredentials = await serverTlsFromFlags(flags);
      const natsAuth = await natsAuthFromFlags(flags);
      const telemetry = runtime.startTelemetry("watchmesh-coordinator");
      const metricsRegistry = flags.metrics ? new MetricsRegistry() : undefined;
      const running = await Coordinator.start({
        registry,
        ...(identity ? { identity } : {}),
        natsServers: natsServers.split(","),
        ...(natsAuth ? { natsAuth } : {}),
        grpcAddress: flags.grpc,
        ...(grpcCredentials ? { grpcCredentials } : {}),
        ...(flags.deadlineMs ? { defaultDeadlineMs: flags.deadlineMs } : {}),
        ...(flags.rateLimit ? { rateLimit: { perSecond: flags.rateLimit, burst: 2 * flags.rateLimit } } : {}),
        logger: runtime.serviceLogger("coordinator"),
        ...(metricsRegistry ? { metrics: new CoordinatorMetrics(metricsRegistry) } : {}),
      });
      let metricsServer: RunningMetricsServer | undefined;
      try {
        if (flags.metrics && metricsRegistry) metricsServer = await startMetricsServer({ ...flags.metrics, registry: metricsRegistry });
      } catch (error) {
        await running.stop();
        throw error;
      }
      // A new registry published to the file applies within about a second, without a restart.
      const follower = followFile({
        path: flags.registry,
        what: "trust registry",
        logger: runtime.serviceLogger("coordinator"),
        load: (file) => TrustRegistry.load(file, rootKey),
        apply: (next) => running.updateRegistry(next),
      });
      process.stderr.write(`coordinator serving gRPC on port ${running.grpcPort}\n`);
      if (metricsServer) process.stderr.write(`coordinator metrics on http://${metricsServer.host}:${metricsServer.port}/metrics\n`);
      await runtime.untilShutdownSignal();
      follower.stop();
      await running.stop();
      await metricsServer?.stop();
      await telemetry.shutdown();
    });
}
