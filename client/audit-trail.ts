import path from "node:path";
import type { SpanRecord } from "../common/span-file.ts";
import { readAuditSnapshot, type AuditEntry } from "../node/index.ts";

/**
 * One query's path through the mesh, from a span file and the nodes' audit logs: shared by
 * `watchmesh audit trace` and the web console's auditor view.
 */
export const QUERY_ID_ATTRIBUTE = "watchmesh.query_id";

/** One node's audit entries for the query; `country` is the directory's name when it is a country code (`<mesh>/nodes/<CCC>`). */
export interface NodeAuditTrail {
  dir: string;
  country?: string;
  entries: AuditEntry[];
}

/** What `watchmesh audit trace --json` prints. */
export interface QueryTrail {
  queryId: string;
  /** Null when the span file has no span of the query (or no span file was given). */
  traceId: string | null;
  spans: SpanRecord[];
  nodes: NodeAuditTrail[];
}

/**
 * The query's path in its trace: the spans carrying its id, their ancestors (in a batch, the client's,
 * coordinator's and node's batch spans carry no single query id) and their descendants.
 */
export function queryPath(spans: readonly SpanRecord[], queryId: string): { traceId: string | null; spans: SpanRecord[] } {
  const first = spans.find((span) => span.attributes[QUERY_ID_ATTRIBUTE] === queryId);
  if (!first) return { traceId: null, spans: [] };
  const inTrace = spans.filter((span) => span.traceId === first.traceId);
  const byId = new Map(inTrace.map((span) => [span.spanId, span]));
  const matching = new Set(inTrace.filter((span) => span.attributes[QUERY_ID_ATTRIBUTE] === queryId).map((span) => span.spanId));
  /** The span's ancestors in the file, nearest first (the visited set guards against a malformed cycle). */
  const ancestorsOf = (span: SpanRecord): string[] => {
    const ids: string[] = [];
    for (let parent = span.parentSpanId; parent !== undefined && byId.has(parent) && !ids.includes(parent); parent = byId.get(parent)?.parentSpanId) {
      ids.push(parent);
    }
    return ids;
  };
  const onPath = new Set<string>();
  for (const span of inTrace) {
    const ancestors = ancestorsOf(span);
    if (matching.has(span.spanId)) {
      onPath.add(span.spanId);
      for (const id of ancestors) onPath.add(id);
    } else if (ancestors.some((id) => matching.has(id))) {
      onPath.add(span.spanId);
    }
  }
  return { traceId: first.traceId, spans: inTrace.filter((span) => onPath.has(span.spanId)) };
}

export function isAuditEntry(value: unknown): value is AuditEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Partial<Record<keyof AuditEntry, unknown>>;
  return typeof entry.seq === "number" && typeof entry.queryId === "string" && typeof entry.time === "string" && Array.isArray(entry.hitReferences);
}

export async function nodeTrail(dir: string, queryId: string): Promise<NodeAuditTrail> {
  const snapshot = await readAuditSnapshot(dir);
  const entries = snapshot.entries.map(({ value }) => value).filter((value): value is AuditEntry => isAuditEntry(value) && value.queryId === queryId);
  const name = path.basename(path.resolve(dir));
  return { dir, ...(/^[A-Z]{3}$/.test(name) ? { country: name } : {}), entries };
}

