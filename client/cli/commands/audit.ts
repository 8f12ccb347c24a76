import type { Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { readPublicKeyFile } from "../../../common/key-files.ts";
import { TrustRegistry } from "../../../common/registry.ts";
import { initSodium } from "../../../common/sodium.ts";
import { readSpanFile, type SpanRecord } from "../../../common/span-file.ts";
import {
  DEFAULT_SEAL_EVERY,
  readAuditSnapshot,
  verifyAuditLog,
  type AuditVerification,
  type VerifyAuditOptions,
} from "../../../node/index.ts";
import { nodeTrail, queryPath, type NodeAuditTrail, type QueryTrail } from "../../audit-trail.ts";
import { parsePositiveInt } from "./options.ts";

export { queryPath, type NodeAuditTrail, type QueryTrail };

/** Exit code when the log does not verify (0 when it does). */
export const AUDIT_PROBLEM_EXIT_CODE = 4;

function summary(result: AuditVerification): string {
  const from = result.checkpointSeq === undefined ? "" : ` after purge checkpoint ${result.checkpointSeq}`;
  if (result.firstProblem) {
    const { seq, kind, message } = result.firstProblem;
    return `audit log NOT verified: first problem at seq ${seq} (${kind}): ${message}`;
  }
  const tail = result.warning ? `; warning: ${result.warning.message}` : "";
  return `audit log verified: ${result.entries} entries, ${result.seals} seals${from}${tail}`;
}

/** An indented tree of span records: name, country and status, duration, service; roots first by start time. */
export function renderSpanRecordTree(spans: readonly SpanRecord[]): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const span of spans) {
    if (span.parentSpanId && ids.has(span.parentSpanId)) {
      children.set(span.parentSpanId, [...(children.get(span.parentSpanId) ?? []), span]);
    } else {
      roots.push(span);
    }
  }
  const order = (a: SpanRecord, b: SpanRecord): number =>
    String(a.attributes["watchmesh.country"] ?? "").localeCompare(String(b.attributes["watchmesh.country"] ?? "")) || a.startTime.localeCompare(b.startTime);
  const lines: string[] = [];
  const visit = (span: SpanRecord, depth: number): void => {
    const country = span.attributes["watchmesh.country"];
    const status = span.attributes["watchmesh.status"] ?? span.attributes["watchmesh.error_code"];
    const detail = [country, status].filter((part) => part !== undefined).join(" ");
    // A root with a parent id: the parent span was recorded by another process (e.g. `watchmesh check`).
    const orphan = depth === 0 && span.parentSpanId ? " (parent span not in this file)" : "";
    lines.push(`${"  ".repeat(depth)}${span.name}${detail ? ` [${detail}]` : ""} ${span.durationMs.toFixed(1)} ms, ${span.serviceName} at ${span.startTime}${orphan}`);
    for (const child of (children.get(span.spanId) ?? []).sort(order)) visit(child, depth + 1);
  };
  for (const root of roots.sort((a, b) => a.startTime.localeCompare(b.startTime))) visit(root, 0);
  return lines.join("\n");
}

function renderTrail(trail: QueryTrail, tracesFile: string | undefined): string {
  const lines: string[] = [`Query ${trail.queryId}`];
  if (tracesFile !== undefined) {
    lines.push("");
    if (trail.traceId === null) {
      lines.push(`No span of this query in ${tracesFile}.`);
    } else {
      lines.push(`Trace ${trail.traceId} (${trail.spans.length} spans from ${tracesFile}):`);
      lines.push(renderSpanRecordTree(trail.spans));
    }
  }
  for (const node of trail.nodes) {
    lines.push("");
    lines.push(`Audit log of ${node.country ?? "node"} (${node.dir}): ${node.entries.length === 0 ? "no entry for this query" : `${node.entries.length} entr${node.entries.length === 1 ? "y" : "ies"}`}`);
    for (const entry of node.entries) {
      const error = entry.errorCode ? ` ${entry.errorCode}` : "";
      const refs = entry.hitReferences.length > 0 ? ` refs ${entry.hitReferences.join(", ")}` : "";
      lines.push(`  seq ${entry.seq} ${entry.time} ${entry.status}${error} requester ${entry.requesterCountry}/${entry.requesterAgency} purpose ${entry.purpose}${refs}`);
    }
  }
  if (trail.nodes.length > 0) lines.push("", "(entries as stored; check the logs' integrity with: watchmesh audit verify)");
  return lines.join("\n");
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("a country node's tamper-evident audit log of answered queries");
  audit
    .command("verify")
    .description(`check the hash chain and the signed seals of a node's audit log; exit ${AUDIT_PROBLEM_EXIT_CODE} at the first altered, missing or reordered entry or bad seal`)
    .requiredOption("--node <dir>", "the node's data directory (its audit log is <dir>/audit)")
    .requiredOption("--registry <file>", "signed trust registry (to check the seals' keys)")
    .requiredOption("--root-key <file>", "registry root public key file")
    .option("--country <code>", "the node's country: seals by any other country's key are rejected")
    .option("--seal-every <n>", "the node's sealing interval: a longer unsealed tail fails instead of warning", parsePositiveInt, DEFAULT_SEAL_EVERY)
    .option("--json", "print the verification result as one JSON object")
    .action(async (flags: { node: string; registry: string; rootKey: string; country?: string; sealEvery: number; json?: boolean }) => {
      await initSodium();
      const registry = await TrustRegistry.load(flags.registry, await readPublicKeyFile(flags.rootKey));
      const snapshot = await readAuditSnapshot(flags.node);
      const options: VerifyAuditOptions = { sealEvery: flags.sealEvery, ...(flags.country === undefined ? {} : { expectedCountry: flags.country.toUpperCase() }) };
      const result = verifyAuditLog(snapshot, registry, options);
      process.stdout.write((flags.json ? JSON.stringify(result) : summary(result)) + "\n");
      if (!result.ok) process.exitCode = AUDIT_PROBLEM_EXIT_CODE;
    });
  audit
    .command("trace")
    .description("one query's path end to end: its trace from a span file and its entries in nodes' audit logs; exit 1 when it is in neither")
    .argument("<queryId>", "the query id (printed by `watchmesh check --json`, kept in spans and audit entries)")
    .option("--traces <file>", "span file (NDJSON) written by `watchmesh demo` or `watchmesh up`: <mesh dir>/traces.ndjson")
    .option("--node <dir>", "a node's data directory whose audit log to search (repeatable)", (dir: string, dirs: string[]) => [...dirs, dir], [] as string[])
    .option("--json", "print {queryId, traceId, spans, nodes: [{dir, country, entries}]} as one JSON object")
    .action(async (queryId: string, flags: { traces?: string; node: string[]; json?: boolean }) => {
      if (flags.traces === undefined && flags.node.length === 0) {
        throw new WatchmeshError(ErrorCode.InvalidArgument, "give a span file (--traces) and/or node data directories (--node)");
      }
      const { traceId, spans } = flags.traces === undefined ? { traceId: null, spans: [] } : queryPath(await readSpanFile(flags.traces), queryId);
      const nodes: NodeAuditTrail[] = [];
      for (const dir of flags.node) nodes.push(await nodeTrail(dir, queryId));
      if (traceId === null && nodes.every((node) => node.entries.length === 0)) {
        throw new WatchmeshError(ErrorCode.NotFound, `query ${queryId} is in neither the span file nor the audit logs given`);
      }
      const trail: QueryTrail = { queryId, traceId, spans, nodes };
      process.stdout.write((flags.json ? JSON.stringify(trail) : renderTrail(trail, flags.traces)) + "\n");
    });
}
