import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  InMemorySpanExporter,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export interface TelemetryOptions {
  serviceName: string;
  /** Keep finished spans in memory (the demo prints its trace from them). */
  collectSpansInMemory?: boolean;
}

export interface RunningTelemetry {
  /** Finished spans kept in memory, when asked for. */
  finishedSpans(): ReadableSpan[];
  /** Flushes and stops exporting. Idempotent; never throws. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for an entry point. With the standard OTEL_* variables set
 * (e.g. OTEL_EXPORTER_OTLP_ENDPOINT), spans are exported over OTLP as the SDK configures from them.
 * Telemetry never crashes the host: start-up and shutdown failures are swallowed.
 */
export function startTelemetry(options: TelemetryOptions): RunningTelemetry {
  const memory = options.collectSpansInMemory ? new InMemorySpanExporter() : undefined;
  const exportsOverOtlp = Boolean(process.env["OTEL_EXPORTER_OTLP_ENDPOINT"] || process.env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] || process.env["OTEL_TRACES_EXPORTER"]);
  const processors: SpanProcessor[] = [];
  if (memory) processors.push(new SimpleSpanProcessor(memory));
  // With no exporter at all the SDK would register no tracer provider, and traces would have no ids.
  if (processors.length === 0) processors.push(new NoopSpanProcessor());
  let sdk: NodeSDK | undefined;
  try {
    sdk = new NodeSDK({
      serviceName: process.env["OTEL_SERVICE_NAME"] ?? options.serviceName,
      // Without explicit processors the SDK builds its exporters from the OTEL_* environment.
      ...(exportsOverOtlp && !memory ? {} : { spanProcessors: processors }),
      instrumentations: [],
    });
    sdk.start();
  } catch {
    sdk = undefined;
  }
  let stopping: Promise<void> | undefined;
  return {
    finishedSpans: () => memory?.getFinishedSpans() ?? [],
    shutdown() {
      stopping ??= (sdk?.shutdown() ?? Promise.resolve()).catch(() => undefined);
      return stopping;
    },
  };
}
