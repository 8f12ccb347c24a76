/**
 * Entry point of the `watchmesh` command. The only module that reads the environment and handles
 * signals; everything else receives what it needs through options.
 *
 * Environment: NATS_URL (use this NATS server/cluster instead of starting one; comma-separated URLs),
 * WATCHMESH_LOG_LEVEL (pino level for service logs on stderr), and the standard OTEL_* variables.
 */
import { Command, CommanderError } from "commander";
import { WatchmeshError } from "../../common/errors.ts";
import { createLogger } from "../../common/logger.ts";
import { startTelemetry } from "../../common/telemetry-sdk.ts";
import { registerCheckCommand } from "./commands/check.ts";
import { registerCoordinatorCommands } from "./commands/coordinator.ts";
import { registerDemoCommand } from "./commands/demo.ts";
import { registerEvalCommand } from "./commands/eval.ts";
import { registerEvalNamesCommand } from "./commands/eval-names.ts";
import { registerKeyCommands } from "./commands/keys.ts";
import { registerNodeCommands } from "./commands/node.ts";
import { registerNotificationCommands } from "./commands/notifications.ts";
import { registerFollowupCommands } from "./commands/followup.ts";
import { registerAuditCommands } from "./commands/audit.ts";
import { registerConsoleCommands } from "./commands/console.ts";
import { registerReportCommand } from "./commands/report.ts";
import type { CliRuntime } from "./commands/runtime.ts";
import { registerUpCommand } from "./commands/up.ts";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function fail(message: string, exitCode = 1): never {
  process.stderr.write(`watchmesh: ${message}\n`);
  process.exit(exitCode);
}

const logLevel = process.env["WATCHMESH_LOG_LEVEL"];
if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) fail(`WATCHMESH_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);

const runtime: CliRuntime = {
  natsUrl: process.env["NATS_URL"] || undefined,
  serviceLogger: (component, defaultLevel = "info") => createLogger({ component, level: logLevel ?? defaultLevel }),
  startTelemetry: (serviceName) => startTelemetry({ serviceName }),
  untilShutdownSignal: () =>
    new Promise<string>((resolve) => {
      const onSignal = (signal: string) => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        resolve(signal);
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
    }),
};

const program = new Command()
  .name("watchmesh")
  .description("Federated hit/no-hit checks across country nodes: signed queries over NATS and gRPC")
  .version("0.1.0")
  // Program options only before the command, so a command's own --version (registry create) is its own.
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

registerDemoCommand(program, runtime);
registerUpCommand(program, runtime);
registerCheckCommand(program, runtime);
registerReportCommand(program, runtime);
registerNodeCommands(program, runtime);
registerNotificationCommands(program);
registerFollowupCommands(program, runtime);
registerAuditCommands(program);
registerCoordinatorCommands(program, runtime);
registerConsoleCommands(program, runtime);
registerKeyCommands(program);
registerEvalCommand(program);
registerEvalNamesCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; usage errors were already printed by commander.
    process.exit(error.exitCode);
  }
  if (error instanceof WatchmeshError) fail(`${error.message} [${error.code}]`);
  fail(`unexpected error: ${error instanceof Error ? error.message : String(error)}`);
}
