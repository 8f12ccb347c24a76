/**
 * Turns the coordinator's checks into Prometheus metrics. Labels come only from closed sets: outcome,
 * error code, country status, and the registry's node countries (the only countries a result can name).
 * Query ids, digests, requesters and query content never reach the registry.
 */
import { isCountryCode } from "../common/country-codes.ts";
import { isErrorCode } from "../common/errors.ts";
import type { Counter, Histogram, MetricsRegistry } from "../common/metrics.ts";
import { CountryStatus } from "../common/proto.ts";
import type { GatheredResult } from "./gatherer.ts";

const STATUS_LABEL: Record<CountryStatus, string> = {
  [CountryStatus.Unspecified]: "error",
  [CountryStatus.Hit]: "hit",
  [CountryStatus.NoHit]: "no_hit",
  [CountryStatus.Refused]: "refused",
  [CountryStatus.Unavailable]: "unavailable",
  [CountryStatus.Error]: "error",
};

/** Pass to CoordinatorOptions.metrics; one instance per registry. */
export class CoordinatorMetrics {
  readonly #checks: Counter<"outcome">;
  readonly #rejections: Counter<"code">;
  readonly #countryResults: Counter<"country" | "status">;
  readonly #duration: Histogram<"outcome">;
  readonly #batches: Counter<"outcome">;
  readonly #batchTravellers: Counter;
  readonly #batchDuration: Histogram<"outcome">;

  constructor(registry: MetricsRegistry) {
    this.#checks = registry.counter({
      name: "watchmesh_coordinator_checks_total",
      help: "Single checks handled: completed (results gathered) or rejected (query not acceptable).",
      labelNames: ["outcome"],
    });
    this.#rejections = registry.counter({
      name: "watchmesh_coordinator_rejections_total",
      help: "Checks and batch checks rejected before fan-out, by error code.",
      labelNames: ["code"],
    });
    this.#countryResults = registry.counter({
      name: "watchmesh_coordinator_country_results_total",
      help: "Per-country results of completed checks, by country and status (hit, no_hit, refused, unavailable, error).",
      labelNames: ["country", "status"],
    });
    this.#duration = registry.histogram({
      name: "watchmesh_coordinator_check_duration_seconds",
      help: "Time from receiving a check to returning its results or rejecting it.",
      labelNames: ["outcome"],
    });
    this.#batches = registry.counter({
      name: "watchmesh_coordinator_batches_total",
      help: "Batch checks (CheckBatch) handled: completed or rejected.",
      labelNames: ["outcome"],
    });
    this.#batchTravellers = registry.counter({
      name: "watchmesh_coordinator_batch_travellers_total",
      help: "Travellers screened in completed batch checks (their per-country results count in watchmesh_coordinator_country_results_total).",
    });
    this.#batchDuration = registry.histogram({
      name: "watchmesh_coordinator_batch_duration_seconds",
      help: "Time from receiving a batch check to returning its results or rejecting it.",
      labelNames: ["outcome"],
    });
    // Both outcomes visible at zero from the start, so rate() and alerts work before the first check.
    for (const outcome of ["completed", "rejected"]) {
      this.#checks.inc({ outcome }, 0);
      this.#batches.inc({ outcome }, 0);
    }
  }

  batchCompleted(travellers: readonly (readonly GatheredResult[])[], elapsedMs: number): void {
    this.#batches.inc({ outcome: "completed" });
    this.#batchTravellers.inc({}, travellers.length);
    this.#batchDuration.observe({ outcome: "completed" }, elapsedMs / 1000);
    for (const results of travellers) this.#countResults(results);
  }

  batchRejected(code: string, elapsedMs: number): void {
    this.#batches.inc({ outcome: "rejected" });
    this.#rejections.inc({ code: isErrorCode(code) ? code : "other" });
    this.#batchDuration.observe({ outcome: "rejected" }, elapsedMs / 1000);
  }

  checkCompleted(results: readonly GatheredResult[], elapsedMs: number): void {
    this.#checks.inc({ outcome: "completed" });
    this.#duration.observe({ outcome: "completed" }, elapsedMs / 1000);
    this.#countResults(results);
  }

  #countResults(results: readonly GatheredResult[]): void {
    for (const result of results) {
      // Results only name the registry's node countries; the check keeps even a bug from adding free text.
      const country = isCountryCode(result.country) ? result.country : "other";
      this.#countryResults.inc({ country, status: STATUS_LABEL[result.status] ?? "error" });
    }
  }

  checkRejected(code: string, elapsedMs: number): void {
    this.#checks.inc({ outcome: "rejected" });
    this.#rejections.inc({ code: isErrorCode(code) ? code : "other" });
    this.#duration.observe({ outcome: "rejected" }, elapsedMs / 1000);
  }
}
