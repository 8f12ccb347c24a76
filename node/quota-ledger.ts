/**
 * Daily query counts per requester at this node, for the sharing policy's quotas (as Prüm caps the
 * searches a partner may make). Counts live in memory for the hot path and are persisted to the store
 * without waiting, so a restart during the day keeps them. Days are UTC days.
 *
 * Each replica of a country node counts the queries it answered itself; replicas sharing one quota
 * would need a shared counter (see the README).
 */
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { Admission } from "./sharing-policy.ts";
import { WRITE_BEHIND_INTERVAL_MS } from "./write-behind.ts";

/** The part of RecordStore the ledger uses. */
export interface QuotaStore {
  recordQuotaUse(day: string, requester: string, count: number): void;
  quotaUses(day: string): Map<string, number>;
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class QuotaLedger {
  readonly #store: QuotaStore;
  #day = "";
  #uses = new Map<string, number>();
  /** Requesters whose count changed since the last write: one write per requester per commit interval. */
  readonly #dirty = new Set<string>();
  #flushScheduled = false;

  constructor(store: QuotaStore) {
    this.#store = store;
  }

  /** Counts one query of an admitted requester; QUOTA_EXHAUSTED (nothing counted) once the day's quota is used. */
  charge(admission: Admission, nowMs: number): void {
    const day = utcDay(nowMs);
    if (day !== this.#day) {
      this.flush(); // The last counts of the previous day go to that day.
      this.#day = day;
      this.#uses = this.#store.quotaUses(day);
    }
    const used = this.#uses.get(admission.requester) ?? 0;
    if (admission.dailyQuota !== undefined && used >= admission.dailyQuota) {
      throw new WatchmeshError(ErrorCode.QuotaExhausted, `daily quota of ${admission.dailyQuota} queries at this node is used up until 00:00 UTC`, {
        context: { quota: admission.dailyQuota },
      });
    }
    this.#uses.set(admission.requester, used + 1);
    this.#dirty.add(admission.requester);
    if (!this.#flushScheduled) {
      // Group commit (node/write-behind.ts): the counts are written together, at most this long later.
      this.#flushScheduled = true;
      setTimeout(() => this.flush(), WRITE_BEHIND_INTERVAL_MS).unref();
    }
  }

  /** Writes the counts changed since the last write (without waiting for the disk). Never throws. */
  flush(): void {
    this.#flushScheduled = false;
    for (const requester of this.#dirty) {
      try {
        this.#store.recordQuotaUse(this.#day, requester, this.#uses.get(requester) ?? 0);
      } catch {
        // The store closed first (node stopping): the counts of this last turn are lost, as on a crash.
      }
    }
    this.#dirty.clear();
  }

  /** Queries counted today for a requester (`<country>/<agency>`). */
  used(requester: string, nowMs: number): number {
    if (utcDay(nowMs) !== this.#day) return this.#store.quotaUses(utcDay(nowMs)).get(requester) ?? 0;
    return this.#uses.get(requester) ?? 0;
  }
}
