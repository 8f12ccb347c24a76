import type { Logger } from "../../../common/logger.ts";
import type { RunningTelemetry } from "../../../common/telemetry-sdk.ts";

/** What main.ts hands to commands: the only place that reads the environment and handles signals. */
export interface CliRuntime {
  /** NATS_URL, when set. */
  natsUrl: string | undefined;
  /** Logger for long-running services (WATCHMESH_LOG_LEVEL, default info). */
  serviceLogger(component: string, defaultLevel?: string): Logger;
  /** Starts the OpenTelemetry SDK for a long-running service (OTEL_* settings apply). */
  startTelemetry(serviceName: string): RunningTelemetry;
  /** Resolves on SIGINT or SIGTERM. */
  untilShutdownSignal(): Promise<string>;
}
