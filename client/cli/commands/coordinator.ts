import type { Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { readPublicKeyFile } from "../../../common/key-files.ts";
import { followFile } from "../../../common/file-follower.ts";
import { TrustRegistry } from "../../../common/registry.ts";
import { initSodium } from "../../../common/sodium.ts";
import { Coordinator } from "../../../coordinator/index.ts";
import { parsePositiveInt } from "./options.ts";
import { addNatsOptions, natsAuthFromFlags, type NatsFlags } from "./nats-options.ts";
import type { CliRuntime } from "./runtime.ts";

interface ServeFlags extends NatsFlags {
  registry: string;
  rootKey: string;
  grpc: string;
  deadlineMs?: number;
}

export function registerCoordinatorCommands(program: Command, runtime: CliRuntime): void {
  const coordinator = program.command("coordinator").description("stateless fan-out for border systems");
  addNatsOptions(
    coordinator
      .command("serve")
      .description("serve Coordinator.Check over gRPC, fanning queries out over NATS, until Ctrl-C")
      .requiredOption("--registry <file>", "signed trust registry")
      .requiredOption("--root-key <file>", "registry root public key file")
      .option("--grpc <host:port>", "listen address", "127.0.0.1:50051")
      .option("--deadline-ms <ms>", "default gathering deadline", parsePositiveInt),
  ).action(async (flags: ServeFlags) => {
      const natsServers = flags.nats ?? runtime.natsUrl;
      if (!natsServers) throw new WatchmeshError(ErrorCode.ConfigInvalid, "no NATS server: pass --nats or set NATS_URL");
      await initSodium();
      const rootKey = await readPublicKeyFile(flags.rootKey);
      const registry = await TrustRegistry.load(flags.registry, rootKey);
      const natsAuth = await natsAuthFromFlags(flags);
      const telemetry = runtime.startTelemetry("watchmesh-coordinator");
      const running = await Coordinator.start({
        registry,
        natsServers: natsServers.split(","),
        ...(natsAuth ? { natsAuth } : {}),
        grpcAddress: flags.grpc,
        ...(flags.deadlineMs ? { defaultDeadlineMs: flags.deadlineMs } : {}),
        logger: runtime.serviceLogger("coordinator"),
      });
      // A new registry published to the file applies within about a second, without a restart.
      const follower = followFile({
        path: flags.registry,
        what: "trust registry",
        logger: runtime.serviceLogger("coordinator"),
        load: (file) => TrustRegistry.load(file, rootKey),
        apply: (next) => running.updateRegistry(next),
      });
      process.stderr.write(`coordinator serving gRPC on port ${running.grpcPort}\n`);
      await runtime.untilShutdownSignal();
      follower.stop();
      await running.stop();
      await telemetry.shutdown();
    });
}
