import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

function durationMs(span: ReadableSpan): number {
  return span.duration[0] * 1000 + span.duration[1] / 1e6;
}

/** Renders one trace's spans as an indented tree: name, country, status and duration per span. */
export function renderTraceTree(spans: ReadableSpan[], traceId: string): string {
  const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
  const ids = new Set(inTrace.map((span) => span.spanContext().spanId));
  const children = new Map<string, ReadableSpan[]>();
  const roots: ReadableSpan[] = [];
  for (const span of inTrace) {
    const parentId = span.parentSpanContext?.spanId;
    if (parentId && ids.has(parentId)) {
      const list = children.get(parentId) ?? [];
      list.push(span);
      children.set(parentId, list);
    } else {
      roots.push(span);
    }
  }
  const lines: string[] = [];
  const visit = (span: ReadableSpan, depth: number) => {
    const country = span.attributes["watchmesh.country"];
    const status = span.attributes["watchmesh.status"] ?? span.attributes["watchmesh.error_code"];
    const detail = [country, status].filter((part) => part !== undefined).join(" ");
    lines.push(`${"  ".repeat(depth)}${span.name}${detail ? ` [${detail}]` : ""} ${durationMs(span).toFixed(1)} ms`);
    const kids = (children.get(span.spanContext().spanId) ?? []).sort((a, b) =>
      String(a.attributes["watchmesh.country"] ?? "").localeCompare(String(b.attributes["watchmesh.country"] ?? "")),
    );
    for (const child of kids) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return lines.join("\n");
}
