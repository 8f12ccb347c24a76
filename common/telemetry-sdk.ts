import { OTLPTraceExporter as OtlpGrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as OtlpProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { NodeSDK, resources } from "@opentelemetry/sdk-node";
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { spanFileProcessor } from "./span-file.ts";

export interface TelemetryOptions {
  serviceName: string;
  /** Keep finished spans in memory (the demo prints its trace from them). */
  collectSpansInMemory?: boolean;
  /** Also append every finished span to this NDJSON span file (read by `watchmesh audit trace`). */
  spanFile?: string;
}

export interface RunningTelemetry {
  /** Finished spans kept in memory, when asked for. */
  finishedSpans(): ReadableSpan[];
  /** Flushes and stops exporting. Idempotent; never throws. */
  shutdown(): Promise<void>;
}

/** The OTLP trace exporter of the protocol the standard variables ask for (http/protobuf by default). */
function otlpTraceExporter(): OtlpGrpcTraceExporter | OtlpProtoTraceExporter {
  const protocol = process.env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] ?? process.env["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "http/protobuf";
  return protocol === "grpc" ? new OtlpGrpcTraceExporter() : new OtlpProtoTraceExporter();
}

/**
 * Starts the OpenTelemetry SDK for an entry point. With the standard OTEL_* variables set
 * (e.g. OTEL_EXPORTER_OTLP_ENDPOINT), spans are exported over OTLP as the SDK configures from them.
 * Telemetry never crashes the host: start-up and shutdown failures are swallowed.
 */
export function startTelemetry(options: TelemetryOptions): RunningTelemetry {
  const memory = options.collectSpansInMemory ? new InMemorySpanExporter() : undefined;
  const tracesExporter = process.env["OTEL_TRACES_EXPORTER"];
  const exportsOverOtlp =
    tracesExporter === undefined || tracesExporter === ""
      ? Boolean(process.env["OTEL_EXPORTER_OTLP_ENDPOINT"] || process.env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
      : tracesExporter.split(",").map((name) => name.trim()).includes("otlp");
  const processors: SpanProcessor[] = [];
  if (memory) processors.push(new SimpleSpanProcessor(memory));
  if (options.spanFile !== undefined) processors.push(spanFileProcessor(options.spanFile));
  const explicit = processors.length > 0;
  // Explicit processors replace the SDK's own exporter set-up, so OTLP is added here too (the demo
  // keeps its spans in memory to print a trace, and still exports them when asked to).
  if (explicit && exportsOverOtlp) processors.push(new BatchSpanProcessor(otlpTraceExporter()));
  // With no exporter at all the SDK would register no tracer provider, and traces would have no ids.
  if (processors.length === 0) processors.push(new NoopSpanProcessor());
  let sdk: NodeSDK | undefined;
  try {
    sdk = new NodeSDK({
      serviceName: process.env["OTEL_SERVICE_NAME"] ?? options.serviceName,
      // Without explicit processors the SDK builds its exporters from the OTEL_* environment.
      ...(exportsOverOtlp && !explicit ? {} : { spanProcessors: processors }),
      instrumentations: [],
      // Not the process detector: it exports the command line (process.command_args), and
      // `watchmesh check --name … --dob …` carries a traveller's name and date of birth there.
      resourceDetectors: [resources.envDetector, resources.hostDetector],
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
