/**
 * The scheduled purge of expired records: a record whose review/expiry date (`expiresAt`) has passed
 * stops matching at once (the engine skips it), and this job deletes it from the store — record, index
 * entries, face key — so that the node does not keep data past its owner's date.
 *
 * One run purges everything expired before the current UTC day, in transactions of at most
 * `maxRecordsPerTransaction` records. The first run starts right after `start()` (a node restarted more
 * often than its interval still purges), each next one `intervalMs` after the previous one ended, so runs
 * never overlap. A failed run is logged with its error code and the next run tries again.
 */
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { utcDayOf } from "./record-schema.ts";
import { PURGE_MAX_RECORDS, type RecordStore } from "./store.ts";

/** Node.js fires a timer of more than 2^31 − 1 ms after 1 ms instead, so longer intervals are refused. */
const MAX_TIMER_MS = 2_147_483_647;

/** What one purge run did; given to `onPurge`. */
export interface PurgeRun {
  /** The UTC day purged against: records with `expiresAt` before it were deleted. */
  today: string;
  /** Records deleted by this run (those deleted before a failure included). */
  deleted: number;
  /** Set when the run failed (it was logged); the next run tries again. */
  errorCode?: ErrorCode;
}

export interface ExpiryPurgerOptions {
  store: Pick<RecordStore, "purgeExpired">;
  /** Time from the end of one run to the start of the next. */
  intervalMs: number;
  /** Clock (ms since the epoch; default Date.now) whose UTC day decides what has expired. */
  now?: () => number;
  logger: Logger;
  /** Records deleted per write transaction (default PURGE_MAX_RECORDS, see store.ts). */
  maxRecordsPerTransaction?: number;
  /** Called after every run, successful or not: lets tests and metrics wait on runs. */
  onPurge?: (run: PurgeRun) => void;
}

export class ExpiryPurger implements AsyncDisposable {
  readonly #store: Pick<RecordStore, "purgeExpired">;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #maxRecords: number;
  readonly #onPurge: ((run: PurgeRun) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The run in progress (or the last one); never rejects. */
  #running: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(options: ExpiryPurgerOptions) {
    this.#store = options.store;
    this.#intervalMs = options.intervalMs;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#maxRecords = options.maxRecordsPerTransaction ?? PURGE_MAX_RECORDS;
    this.#onPurge = options.onPurge;
  }

  /** Starts the schedule; the first run begins on the next turn of the event loop. */
  static start(options: ExpiryPurgerOptions): ExpiryPurger {
    const { intervalMs, maxRecordsPerTransaction } = options;
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1 || intervalMs > MAX_TIMER_MS) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `purge interval must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
    }
    if (maxRecordsPerTransaction !== undefined && (!Number.isSafeInteger(maxRecordsPerTransaction) || maxRecordsPerTransaction < 1)) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, "purge maxRecordsPerTransaction must be a positive integer");
    }
    const purger = new ExpiryPurger(options);
    purger.#schedule(0);
    return purger;
  }

  /** Cancels the next run and waits for one in progress to finish its transaction. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.#running;
    })();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#tick();
    }, delayMs);
    // Housekeeping alone never keeps the process alive; the node's servers do.
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const run = await this.#purge();
    this.#report(run);
    if (this.#stopping === undefined) this.#schedule(this.#intervalMs);
  }

  /** One run; never throws (a timer callback has nobody to throw to). */
  async #purge(): Promise<PurgeRun> {
    let today = "";
    let deleted = 0;
    try {
      today = utcDayOf(this.#now());
      // A full transaction means more may be waiting; stop() ends the loop between transactions.
      for (;;) {
        const count = await this.#store.purgeExpired(today, { maxRecords: this.#maxRecords });
        deleted += count;
        if (count < this.#maxRecords || this.#stopping !== undefined) break;
      }
      if (deleted > 0) this.#logger.info({ deleted, day: today }, "expired records purged");
      return { today, deleted };
    } catch (error) {
      // Only the code: a cause's text is never logged.
      const { code } = WatchmeshError.from(error);
      this.#logger.error({ code, deleted }, "expiry purge failed");
      return { today, deleted, errorCode: code };
    }
  }

  #report(run: PurgeRun): void {
    try {
      this.#onPurge?.(run);
    } catch (error) {
      this.#logger.error({ code: WatchmeshError.from(error).code }, "expiry purge callback failed");
    }
  }
}
