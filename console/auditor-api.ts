import path from "node:path";
import { isAuditEntry, queryPath, type NodeAuditTrail } from "../client/audit-trail.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { readSpanFile, type SpanRecord } from "../common/span-file.ts";
import { readAuditSnapshot, verifyAuditLog, type AuditEntry, type AuditVerification } from "../node/index.ts";

/** Queries a search returns at most (the most recent first). */
export const DEFAULT_MAX_SEARCH_RESULTS = 200;

const COUNTRY = /^[A-Z]{3}$/;
const AGENCY = /^[\w.-]{1,64}$/;
const QUERY_ID = /^[\w-]{1,64}$/;
/** Audit statuses a search can ask for; "aggregate": counts released to an analyst. */
const STATUSES = ["hit", "no_hit", "refused", "error", "aggregate"] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?$/;

export interface AuditSearch {
  queryId?: string;
  requesterCountry?: string;
  requesterAgency?: string;
  /** Inclusive bounds, ms since the epoch. */
  fromMs?: number;
  toMs?: number;
  /** Only queries that some country answered with this status. */
  status?: (typeof STATUSES)[number];
}

function invalid(message: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.InvalidArgument, message);
}

/** A period bound: a UTC day (`from` its first, `to` its last millisecond) or a UTC date and time. */
function parseBound(value: string, name: string, end: boolean): number {
  if (DAY.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== value) throw invalid(`${name} is not a calendar date`);
    return end ? start + 24 * 60 * 60 * 1000 - 1 : start;
  }
  if (DATE_TIME.test(value)) {
    const ms = Date.parse(value.endsWith("Z") ? value : `${value}Z`);
    if (Number.isNaN(ms)) throw invalid(`${name} is not a valid time`);
    // A time given to the minute covers that whole minute as an upper bound.
    return end && value.length === 16 ? ms + 59_999 : ms;
  }
  throw invalid(`${name} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)`);
}

/** Validates the auditor's search parameters (`GET /api/auditor/queries?…`); empty values are ignored. */
export function parseAuditSearch(params: URLSearchParams): AuditSearch {
  const known = new Set(["queryId", "requesterCountry", "requesterAgency", "from", "to", "status"]);
  for (const key of params.keys()) if (!known.has(key)) throw invalid(`unknown search parameter ${key}`);
  const get = (key: string): string | undefined => params.get(key)?.trim() || undefined;
  const search: AuditSearch = {};
  const queryId = get("queryId");
  if (queryId !== undefined) {
    if (!QUERY_ID.test(queryId)) throw invalid("queryId must be a query id (letters, digits and dashes)");
    search.queryId = queryId.toLowerCase();
  }
  const country = get("requesterCountry")?.toUpperCase();
  if (country !== undefined) {
    if (!COUNTRY.test(country)) throw invalid("requesterCountry must be an ISO 3166-1 alpha-3 code");
    search.requesterCountry = country;
  }
  const agency = get("requesterAgency");
  if (agency !== undefined) {
    if (!AGENCY.test(agency)) throw invalid("requesterAgency must be an agency id (letters, digits, dots, dashes)");
    search.requesterAgency = agency;
  }
  const from = get("from");
  if (from !== undefined) search.fromMs = parseBound(from, "from", false);
  const to = get("to");
  if (to !== undefined) search.toMs = parseBound(to, "to", true);
  if (search.fromMs !== undefined && search.toMs !== undefined && search.fromMs > search.toMs) throw invalid("from is after to");
  const status = get("status");
  if (status !== undefined) {
    const known = STATUSES.find((value) => value === status);
    if (!known) throw invalid(`status must be one of ${STATUSES.join(", ")}`);
    search.status = known;
  }
  return search;
}

/** One query as the audit logs of the given nodes saw it. */
export interface AuditedQuery {
  /** Empty for a query no node could open (garbage, bad signature): `key` tells such entries apart. */
  queryId: string;
  key: string;
  /** The earliest entry's time. */
  time: string;
  requesterCountry: string;
  requesterAgency: string;
  purpose: string;
  countries: { country: string; status: AuditEntry["status"]; errorCode: string; time: string; hitReferences: string[] }[];
}

export interface AuditSearchResult {
  queries: AuditedQuery[];
  /** True when more queries matched than were returned. */
  truncated: boolean;
}

export interface TimelineBar {
  label: string;
  kind: "client" | "coordinator" | "country";
  country?: string;
  status: string;
  /** From the timeline's start. */
  offsetMs: number;
  durationMs: number;
  /** A span's start and duration, or only the audit entry's time (when the node answered). */
  source: "span" | "audit";
}

/** One query's path: a bar for the border client and coordinator (from spans) and one per country. */
export interface QueryTimeline {
  queryId: string;
  traceId: string | null;
  startTime: string | null;
  totalMs: number;
  bars: TimelineBar[];
  nodes: NodeAuditTrail[];
}

export interface NodeVerification extends AuditVerification {
  dir: string;
  country?: string;
  /** The log could not be read at all (e.g. no audit log in the directory). */
  error?: { code: ErrorCode; message: string };
}

function countryOfDir(dir: string): string | undefined {
  const name = path.basename(path.resolve(dir));
  return COUNTRY.test(name) ? name : undefined;
}

function matches(entry: AuditEntry, search: AuditSearch): boolean {
  if (search.queryId !== undefined && entry.queryId.toLowerCase() !== search.queryId) return false;
  if (search.requesterCountry !== undefined && entry.requesterCountry !== search.requesterCountry) return false;
  if (search.requesterAgency !== undefined && entry.requesterAgency !== search.requesterAgency) return false;
  const ms = Date.parse(entry.time);
  if (search.fromMs !== undefined && !(ms >= search.fromMs)) return false;
  if (search.toMs !== undefined && !(ms <= search.toMs)) return false;
  return true;
}

/** A client or coordinator span's outcome: "error" when it failed, "ok" otherwise (an unset status means it did not fail). */
function spanOutcome(span: SpanRecord): string {
  return span.status === "error" ? "error" : "ok";
}

const KIND_ORDER = { client: 0, coordinator: 1, country: 2 } as const;

/**
 * The timeline of one query from its trace's spans (border client, coordinator, one node span per
 * country) and the nodes' audit entries: a country with an entry but no span (no span file, or its
 * span not in it) gets a bar at its entry's time, when its node answered.
 */
export function buildTimeline(queryId: string, spans: readonly SpanRecord[], nodes: readonly NodeAuditTrail[], traceId: string | null): QueryTimeline {
  const bars: (Omit<TimelineBar, "offsetMs"> & { startMs: number })[] = [];
  const countriesWithSpans = new Set<string>();
  for (const span of spans) {
    const startMs = Date.parse(span.startTime);
    const country = span.attributes["watchmesh.country"];
    const status = String(span.attributes["watchmesh.status"] ?? span.attributes["watchmesh.error_code"] ?? span.status);
    if (span.name.startsWith("watchmesh.node.") && typeof country === "string") {
      countriesWithSpans.add(country);
      bars.push({ label: country, kind: "country", country, status, startMs, durationMs: span.durationMs, source: "span" });
    } else if (span.name.startsWith("watchmesh.coordinator.")) {
      bars.push({ label: "coordinator", kind: "coordinator", status: spanOutcome(span), startMs, durationMs: span.durationMs, source: "span" });
    } else if (span.name.startsWith("watchmesh.client.")) {
      bars.push({ label: span.name === "watchmesh.client.aggregate" ? "analyst client" : "border client", kind: "client", status: spanOutcome(span), startMs, durationMs: span.durationMs, source: "span" });
    }
  }
  for (const node of nodes) {
    const country = node.country ?? node.dir;
    if (countriesWithSpans.has(country)) continue;
    for (const entry of node.entries) {
      bars.push({ label: country, kind: "country", country, status: entry.status, startMs: Date.parse(entry.time), durationMs: 0, source: "audit" });
    }
  }
  const startMs = bars.length === 0 ? undefined : Math.min(...bars.map((bar) => bar.startMs));
  const sorted = bars
    .map(({ startMs: barStart, ...bar }) => ({ ...bar, offsetMs: barStart - (startMs ?? barStart) }))
    .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.label.localeCompare(b.label) || a.offsetMs - b.offsetMs);
  return {
    queryId,
    traceId,
    startTime: startMs === undefined ? null : new Date(startMs).toISOString(),
    totalMs: Math.max(0, ...sorted.map((bar) => bar.offsetMs + bar.durationMs)),
    bars: sorted,
    nodes: [...nodes],
  };
}

export interface AuditDeskOptions {
  /** Country nodes' data directories (their audit logs are `<dir>/audit`). */
  nodeDirs: readonly string[];
  /** The trust registry, to check the logs' seals. */
  registry: TrustRegistry;
  /** Span file (NDJSON) written by `watchmesh demo` or `watchmesh up`. */
  spanFile?: string;
  /** The nodes' sealing interval (see `watchmesh audit verify --seal-every`). */
  sealEvery?: number;
  maxSearchResults?: number;
}

export interface AuditorInfo {
  nodes: { dir: string; country?: string }[];
  traces: boolean;
}

/**
 * The auditor view's server side, over the audit logs of the given nodes (read-only snapshots, taken
 * afresh for every request, as `watchmesh audit` does) and optionally a span file.
 */
export class AuditDesk {
  readonly #options: AuditDeskOptions;

  constructor(options: AuditDeskOptions) {
    if (options.nodeDirs.length === 0 && options.spanFile === undefined) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, "the auditor view needs node data directories and/or a span file");
    }
    this.#options = options;
  }

  get info(): AuditorInfo {
    return {
      nodes: this.#options.nodeDirs.map((dir) => ({ dir, ...(countryOfDir(dir) ? { country: countryOfDir(dir) } : {}) })),
      traces: this.#options.spanFile !== undefined,
    };
  }

  async #entries(dir: string): Promise<AuditEntry[]> {
    const snapshot = await readAuditSnapshot(dir);
    return snapshot.entries.map(({ value }) => value).filter(isAuditEntry);
  }

  async search(search: AuditSearch): Promise<AuditSearchResult> {
    const byKey = new Map<string, AuditedQuery>();
    for (const dir of this.#options.nodeDirs) {
      const country = countryOfDir(dir) ?? dir;
      for (const entry of await this.#entries(dir)) {
        if (!matches(entry, search)) continue;
        const key = entry.queryId || `digest:${entry.queryDigest}`;
        let query = byKey.get(key);
        if (!query) {
          query = { queryId: entry.queryId, key, time: entry.time, requesterCountry: "", requesterAgency: "", purpose: "", countries: [] };
          byKey.set(key, query);
        }
        if (entry.time < query.time) query.time = entry.time;
        // Only a node that could open the query knows its requester.
        if (!query.requesterCountry && entry.requesterCountry) {
          query.requesterCountry = entry.requesterCountry;
          query.requesterAgency = entry.requesterAgency;
          query.purpose = entry.purpose;
        }
        query.countries.push({ country, status: entry.status, errorCode: entry.errorCode, time: entry.time, hitReferences: entry.hitReferences });
      }
    }
    let queries = [...byKey.values()];
    if (search.status !== undefined) queries = queries.filter((query) => query.countries.some((country) => country.status === search.status));
    queries.sort((a, b) => b.time.localeCompare(a.time) || a.key.localeCompare(b.key));
    for (const query of queries) query.countries.sort((a, b) => a.country.localeCompare(b.country));
    const max = this.#options.maxSearchResults ?? DEFAULT_MAX_SEARCH_RESULTS;
    return { queries: queries.slice(0, max), truncated: queries.length > max };
  }

  /** The query's timeline; NOT_FOUND when neither the span file nor any audit log has it. */
  async timeline(queryId: string): Promise<QueryTimeline> {
    if (!QUERY_ID.test(queryId)) throw invalid("not a query id");
    const { traceId, spans } = this.#options.spanFile === undefined ? { traceId: null, spans: [] } : queryPath(await readSpanFile(this.#options.spanFile), queryId);
    const nodes: NodeAuditTrail[] = [];
    for (const dir of this.#options.nodeDirs) {
      const country = countryOfDir(dir);
      const entries = (await this.#entries(dir)).filter((entry) => entry.queryId === queryId);
      nodes.push({ dir, ...(country ? { country } : {}), entries });
    }
    if (traceId === null && nodes.every((node) => node.entries.length === 0)) {
      throw new WatchmeshError(ErrorCode.NotFound, `query ${queryId} is in neither the span file nor the audit logs`);
    }
    return buildTimeline(queryId, spans, nodes, traceId);
  }

  /** Every node's audit log checked as `watchmesh audit verify` does: chain, seals, unsealed tail. */
  async verify(): Promise<NodeVerification[]> {
    const results: NodeVerification[] = [];
    for (const dir of this.#options.nodeDirs) {
      const country = countryOfDir(dir);
      try {
        const snapshot = await readAuditSnapshot(dir);
        const result = verifyAuditLog(snapshot, this.#options.registry, {
          ...(this.#options.sealEvery === undefined ? {} : { sealEvery: this.#options.sealEvery }),
          ...(country ? { expectedCountry: country } : {}),
        });
        results.push({ dir, ...(country ? { country } : {}), ...result });
      } catch (error) {
        const failure = WatchmeshError.from(error);
        results.push({ dir, ...(country ? { country } : {}), ok: false, entries: 0, seals: 0, error: { code: failure.code, message: failure.message } });
      }
    }
    return results;
  }
}
