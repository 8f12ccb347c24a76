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
import { WriteBehind } from "./write-behind.ts";

/** The part of RecordStore the ledger uses. */
export interface QuotaStore {
  recordQuotaUse(day: string, requester: string, count: number): void;
  quotaUses(day: string): Map<string, number>;
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

interface QuotaUse {
  day: string;
  requester: string;
  count: number;
}

export class QuotaLedger {
  readonly #store: QuotaStore;
  #day = "";
  #uses = new Map<string, number>();
  /** Counts not written yet: group-committed (node/write-behind.ts), only each requester's latest per day. */
  readonly #unwritten: WriteBehind<QuotaUse>;

  constructor(store: QuotaStore) {
    this.#store = store;
    this.#unwritten = new WriteBehind<QuotaUse>({
      write: (uses) => {
        const latest = new Map(uses.map((use) => [`${use.day}|${use.requester}`, use]));
        // recordQuotaUse does not wait for the disk; the counts live on in memory meanwhile.
        for (const { day, requester, count } of latest.values()) store.recordQuotaUse(day, requester, count);
        return Promise.resolve();
      },
      // The store closed first (node stopping): the counts of the last interval are lost, as on a crash.
      onError: () => undefined,
    });
  }

  /** Counts one query of an admitted requester; QUOTA_EXHAUSTED (nothing counted) once the day's quota is used. */
  charge(admission: Admission, nowMs: number): void {
    const day = utcDay(nowMs);
    if (day !== this.#day) {
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
    this.#unwritten.add({ day, requester: admission.requester, count: used + 1 });
  }

  /** Writes the counts not written yet (without waiting for the disk). Never rejects. */
  flush(): Promise<void> {
    return this.#unwritten.flush();
  }

  /** Queries counted today for a requester (`<country>/<agency>`). */
  used(requester: string, nowMs: number): number {
    if (utcDay(nowMs) !== this.#day) return this.#store.quotaUses(utcDay(nowMs)).get(requester) ?? 0;
    return this.#uses.get(requester) ?? 0;
  }
}
