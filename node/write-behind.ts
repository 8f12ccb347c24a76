/**
 * Group commit for the small writes every answer makes (replay nonces, quota counts, audit entries):
 * items are collected in memory and written together, one transaction per interval, instead of one
 * LMDB write per answer. An async LMDB write issued on its own costs about 0.3 ms of CPU (batch set-up,
 * hand-over to the writer thread, commit) however small; a node answering queries one by one would
 * spend more on that than on matching. What is collected is written within `intervalMs` (default
 * WRITE_BEHIND_INTERVAL_MS), and at once on `flush()` (on stop); a crash loses at most that window.
 */
export const WRITE_BEHIND_INTERVAL_MS = 100;

export class WriteBehind<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #items: T[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The write in progress, so flushes never overlap and stay in order. */
  #writing: Promise<void> = Promise.resolve();

  constructor(options: { write: (items: T[]) => Promise<void>; intervalMs?: number; onError: (error: unknown) => void }) {
    this.#write = options.write;
    this.#intervalMs = options.intervalMs ?? WRITE_BEHIND_INTERVAL_MS;
    this.#onError = options.onError;
  }

  get pending(): number {
    return this.#items.length;
  }

  add(item: T): void {
    this.#items.push(item);
    // Unref'd: a pending write never keeps the process alive; stop() flushes what is left.
    this.#timer ??= setTimeout(() => void this.flush(), this.#intervalMs).unref();
  }

  /** Writes what was collected (after any write in progress); resolves once it is committed. Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const items = this.#items;
    this.#items = [];
    this.#writing = this.#writing.then(async () => {
      if (items.length === 0) return;
      try {
        await this.#write(items);
      } catch (error) {
        this.#onError(error);
      }
    });
    return this.#writing;
  }
}
