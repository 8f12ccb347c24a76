/**
 * Bounded waiting for tests: poll a condition (or take a value once it is there) until a deadline,
 * then fail with a message that says what was awaited. Polling is for state that announces itself
 * through no event (a file, a process table, another process's store); never a fixed sleep.
 */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Time between polls (default 25 ms). */
  intervalMs?: number;
  /** Named in the error when the wait times out. */
  what?: string;
}

/** Resolves with the first truthy value `probe` returns; rejects after `timeoutMs`. A throwing probe fails the wait. */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"}`);
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A promise with its resolve function: a latch a callback opens. */
export function latch<T = void>(): { promise: Promise<T>; open: (value: T) => void; isOpen: () => boolean } {
  let open!: (value: T) => void;
  let opened = false;
  const promise = new Promise<T>((resolve) => {
    open = (value) => {
      opened = true;
      resolve(value);
    };
  });
  return { promise, open, isOpen: () => opened };
}

/** Rejects when `promise` has not settled within `timeoutMs`; clears its timer either way. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` running at once. */
export async function runBounded(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
