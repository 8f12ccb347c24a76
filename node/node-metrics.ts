/**
 * Turns a country node's events into Prometheus metrics: answers (from MatchService's onAnswered),
 * record counts (sampled from the store at scrape time) and imports (from an ImportReport). Labels come
 * only from closed sets (status, error code, record kind, import outcome): never query ids, names,
 * references or digests.
 */
import { isErrorCode } from "../common/errors.ts";
import type { Counter, Gauge, Histogram, MetricsRegistry } from "../common/metrics.ts";
import { AnswerStatus } from "../common/proto.ts";
import type { AnsweredEvent } from "./match-service.ts";
import { IMPORT_OUTCOMES, type ImportOutcome, type StoreStats } from "./store.ts";

const STATUS_LABEL: Record<AnswerStatus, string> = {
  [AnswerStatus.Unspecified]: "error",
  [AnswerStatus.Hit]: "hit",
  [AnswerStatus.NoHit]: "no_hit",
  [AnswerStatus.Refused]: "refused",
  [AnswerStatus.Error]: "error",
};

/** One per registry. Pass `onAnswered` to MatchServiceOptions and `watchStore` the node's RecordStore. */
export class NodeMetrics {
  readonly #queries: Counter<"status">;
  readonly #refusals: Counter<"code">;
  readonly #hits: Counter;
  readonly #duration: Histogram;
  readonly #records: Gauge<"kind">;
  readonly #imported: Counter<"outcome">;
  readonly #registry: MetricsRegistry;

  constructor(registry: MetricsRegistry) {
    this.#registry = registry;
    this.#queries = registry.counter({
      name: "watchmesh_node_queries_total",
      help: "Queries answered by this node, by answer status (hit, no_hit, refused, error).",
      labelNames: ["status"],
    });
    this.#refusals = registry.counter({
      name: "watchmesh_node_refusals_total",
      help: "Queries refused by this node, by error code (bad signature, expired, replayed, policy, quota, ...).",
      labelNames: ["code"],
    });
    this.#hits = registry.counter({
      name: "watchmesh_node_hits_total",
      help: "Hits returned in answers (at most MAX_HITS_PER_ANSWER per answer).",
    });
    this.#duration = registry.histogram({
      name: "watchmesh_node_query_duration_seconds",
      help: "Time from receiving a query to signing its answer, refusals included.",
    });
    this.#records = registry.gauge({
      name: "watchmesh_node_records",
      help: "Records in the node's store, by kind (persons, entities), sampled at scrape time.",
      labelNames: ["kind"],
    });
    this.#imported = registry.counter({
      name: "watchmesh_node_import_records_total",
      help: "Import lines processed, by outcome (inserted, updated, unchanged, deleted, not_found, rejected).",
      labelNames: ["outcome"],
    });
    // Every status and outcome visible at zero from the start, so rate() and alerts work at once.
    for (const status of ["hit", "no_hit", "refused", "error"]) this.#queries.inc({ status }, 0);
    for (const outcome of IMPORT_OUTCOMES) this.#imported.inc({ outcome }, 0);
  }

  /** For MatchServiceOptions.onAnswered; never throws, so an answer is signed whatever happens here. */
  readonly onAnswered = (event: AnsweredEvent): void => {
    try {
      const status = STATUS_LABEL[event.status] ?? "error";
      this.#queries.inc({ status });
      if (status === "refused") this.#refusals.inc({ code: isErrorCode(event.errorCode) ? event.errorCode : "other" });
      if (event.hits > 0) this.#hits.inc({}, event.hits);
      this.#duration.observe({}, event.elapsedMs / 1000);
    } catch {
      // Telemetry never fails the query it observes.
    }
  };

  /**
   * Samples record counts and the store's import totals at every scrape (both read without a scan).
   * Imports usually run in another process (`watchmesh node import`), so their counts come from the
   * store; the counter follows the stored totals upwards only, as a counter must.
   */
  watchStore(store: { stats(): StoreStats; importOutcomes(): Record<ImportOutcome, number> }): void {
    this.#registry.addCollector(() => {
      const stats = store.stats();
      this.#records.set({ kind: "persons" }, stats.persons);
      this.#records.set({ kind: "entities" }, stats.entities);
      const totals = store.importOutcomes();
      for (const outcome of IMPORT_OUTCOMES) {
        const behind = totals[outcome] - this.#imported.get({ outcome });
        if (behind > 0) this.#imported.inc({ outcome }, behind);
      }
    });
  }
}
