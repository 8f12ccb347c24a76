import {
  context,
  propagation,
  trace,
  SpanStatusCode,
  type Context,
  type Span,
  type Tracer,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import type { Metadata } from "@grpc/grpc-js";
import type { MsgHdrs } from "@nats-io/transport-node";

/**
 * Library-side telemetry: only @opentelemetry/api. The SDK is started by entry points
 * (see telemetry-sdk.ts). Span attributes hold ids, digests, codes and counts — never personal data.
 */
export const TRACER_NAME = "watchmesh";

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};
const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key);
    return values.length === 0 ? undefined : values.map(String);
  },
};

export function injectIntoGrpcMetadata(metadata: Metadata, ctx: Context = context.active()): void {
  propagation.inject(ctx, metadata, metadataSetter);
}

export function contextFromGrpcMetadata(metadata: Metadata): Context {
  return propagation.extract(context.active(), metadata, metadataGetter);
}

const natsSetter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};
const natsGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
};

export function injectIntoNatsHeaders(headers: MsgHdrs, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, natsSetter);
}

export function contextFromNatsHeaders(headers: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), headers, natsGetter);
}

/** Records a failure on a span without its message text (which could, in theory, carry content). */
export function markSpanError(span: Span, code: string): void {
  span.setAttribute("watchmesh.error_code", code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/** The active trace id, or "" when telemetry is not started. */
export function currentTraceId(span: Span): string {
  const id = span.spanContext().traceId;
  return /^0+$/.test(id) ? "" : id;
}
