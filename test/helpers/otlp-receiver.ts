import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/**
 * A minimal OTLP/gRPC trace receiver for tests, built from the official OpenTelemetry proto definitions
 * vendored in test/fixtures/opentelemetry-proto. It serves `TraceService/Export` on 127.0.0.1:0 and keeps
 * every span it is sent, so a test can point the real SDK exporters of real processes at it.
 */

const PROTO_ROOT = fileURLToPath(new URL("../fixtures/opentelemetry-proto", import.meta.url));
const TRACE_SERVICE_PROTO = "opentelemetry/proto/collector/trace/v1/trace_service.proto";

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

/** One exported span, decoded: ids as lower-case hex ("" when absent), attributes as a plain object. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  attributes: Record<string, AttributeValue>;
  /** STATUS_CODE_UNSET, STATUS_CODE_OK or STATUS_CODE_ERROR. */
  status: { code: string; message: string };
  /** The exporting process's `service.name` resource attribute. */
  serviceName: string;
  /** All resource attributes of the exporting process (what the SDK's resource detectors found). */
  resource: Record<string, AttributeValue>;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`, the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly port: number;
  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[];
  /**
   * Resolves with the spans once `condition` holds for them (checked now and on every Export call);
   * rejects after `timeoutMs` (default 30 s), on `signal`, or when the receiver stops.
   */
  waitFor(condition: (spans: ReceivedSpan[]) => boolean, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ReceivedSpan[]>;
  /** Shuts the server down (forcefully after a short grace) and fails pending waits. Idempotent. */
  stop(): Promise<void>;
}

// Shapes produced by proto-loader with the options below (longs/enums as strings, bytes as Buffer).
interface WireAnyValue {
  value?: "stringValue" | "boolValue" | "intValue" | "doubleValue" | "arrayValue" | "kvlistValue" | "bytesValue";
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: WireAnyValue[] };
  kvlistValue?: { values?: WireKeyValue[] };
  bytesValue?: Buffer;
}
interface WireKeyValue {
  key: string;
  value?: WireAnyValue | null;
}
interface WireSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: string;
  attributes?: WireKeyValue[];
  status?: { code?: string; message?: string } | null;
}
interface WireExportRequest {
  resourceSpans?: {
    resource?: { attributes?: WireKeyValue[] } | null;
    scopeSpans?: { spans?: WireSpan[] }[];
  }[];
}

const LOADER_OPTIONS: protoLoader.Options = {
  includeDirs: [PROTO_ROOT],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function decodeValue(value: WireAnyValue | null | undefined): AttributeValue {
  switch (value?.value) {
    case "stringValue":
      return value.stringValue ?? "";
    case "boolValue":
      return value.boolValue ?? false;
    case "intValue":
      return Number(value.intValue ?? 0);
    case "doubleValue":
      return value.doubleValue ?? 0;
    case "arrayValue":
      return (value.arrayValue?.values ?? []).map(decodeValue);
    case "kvlistValue":
      return decodeAttributes(value.kvlistValue?.values);
    case "bytesValue":
      return (value.bytesValue ?? Buffer.alloc(0)).toString("hex");
    default:
      return null;
  }
}

function decodeAttributes(attributes: WireKeyValue[] | undefined): Record<string, AttributeValue> {
  const decoded: Record<string, AttributeValue> = {};
  for (const { key, value } of attributes ?? []) decoded[key] = decodeValue(value);
  return decoded;
}

function decodeRequest(request: WireExportRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = decodeAttributes(resourceSpans.resource?.attributes ?? []);
    const serviceName = resource["service.name"];
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: Buffer.from(span.traceId).toString("hex"),
          spanId: Buffer.from(span.spanId).toString("hex"),
          parentSpanId: Buffer.from(span.parentSpanId).toString("hex"),
          name: span.name,
          kind: span.kind,
          attributes: decodeAttributes(span.attributes),
          status: { code: span.status?.code ?? "STATUS_CODE_UNSET", message: span.status?.message ?? "" },
          serviceName: typeof serviceName === "string" ? serviceName : "",
          resource,
        });
      }
    }
  }
  return spans;
}

interface Waiter {
  condition: (spans: ReceivedSpan[]) => boolean;
  resolve: (spans: ReceivedSpan[]) => void;
  reject: (error: Error) => void;
}

/** Starts the receiver on 127.0.0.1 with a free port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const definition = protoLoader.loadSync(TRACE_SERVICE_PROTO, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
  };
  const service = loaded.opentelemetry.proto.collector.trace.v1.TraceService.service;

  const received: ReceivedSpan[] = [];
  const waiters = new Set<Waiter>();
  const settleWaiters = (): void => {
    for (const waiter of [...waiters]) {
      let holds: boolean;
      try {
        holds = waiter.condition(received);
      } catch (error) {
        waiters.delete(waiter);
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (holds) {
        waiters.delete(waiter);
        waiter.resolve([...received]);
      }
    }
  };

  const server = new grpc.Server();
  server.addService(service, {
    Export: (call: grpc.ServerUnaryCall<WireExportRequest, object>, callback: grpc.sendUnaryData<object>) => {
      try {
        received.push(...decodeRequest(call.request));
      } catch {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "undecodable export request" });
        return;
      }
      callback(null, {});
      settleWaiters();
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    spans: () => [...received],
    waitFor(condition, options = {}) {
      if (stopping) return Promise.reject(new Error("the OTLP receiver is stopped"));
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000), ...(options.signal ? [options.signal] : [])];
      const signal = AbortSignal.any(signals);
      return new Promise<ReceivedSpan[]>((resolve, reject) => {
        const onAbort = (): void => {
          waiters.delete(waiter);
          reject(new Error(`OTLP receiver: condition not met (${received.length} spans received): ${String(signal.reason)}`));
        };
        const waiter: Waiter = {
          condition,
          resolve: (spans) => {
            signal.removeEventListener("abort", onAbort);
            resolve(spans);
          },
          reject: (error) => {
            signal.removeEventListener("abort", onAbort);
            reject(error);
          },
        };
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener("abort", onAbort, { once: true });
        waiters.add(waiter);
        settleWaiters();
      });
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const waiter of [...waiters]) waiter.reject(new Error("the OTLP receiver stopped"));
        waiters.clear();
        // Exporters keep their channel open: give them a moment, then cut them off.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopping;
    },
  };
}
