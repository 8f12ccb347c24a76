/**
 * Follows a configuration file (trust registry, sharing policy) and applies each new valid version
 * without a restart. The file is polled (stat every `intervalMs`) rather than watched with inotify:
 * polling sees a file replaced by rename, as deployment tools and `kubectl` ConfigMap updates do, and
 * works the same on every filesystem. An invalid or rejected version is reported and the one in force
 * stays: a bad publish never leaves a node without a registry or policy.
 */
import { unwatchFile, watchFile, type Stats } from "node:fs";
import { WatchmeshError } from "./errors.ts";
import type { Logger } from "./logger.ts";

export const DEFAULT_FOLLOW_INTERVAL_MS = 1000;

export interface FileFollowerOptions<T> {
  path: string;
  /** Reads and verifies the file; throws WatchmeshError for an invalid version. */
  load: (path: string) => Promise<T>;
  /** Applies a loaded version; may throw (e.g. a registry downgrade) to reject it. */
  apply: (value: T) => void;
  logger: Logger;
  /** What the file is, for log lines ("trust registry", "sharing policy"). */
  what: string;
  intervalMs?: number;
  /** Called after each change was handled (applied or rejected): lets tests wait without sleeping. */
  onSettled?: (outcome: { applied: boolean; code?: string }) => void;
}

export interface FileFollower {
  stop(): void;
}

export function followFile<T>(options: FileFollowerOptions<T>): FileFollower {
  const { path, load, apply, logger, what } = options;
  let loading = Promise.resolve();
  const listener = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    // One load at a time, in order of the changes seen.
    loading = loading.then(async () => {
      try {
        apply(await load(path));
        logger.info({ file: what }, `${what} reloaded`);
        options.onSettled?.({ applied: true });
      } catch (error) {
        const failure = WatchmeshError.from(error);
        logger.warn({ file: what, code: failure.code }, `${what} change rejected; the previous version stays in force`);
        options.onSettled?.({ applied: false, code: failure.code });
      }
    });
  };
  watchFile(path, { persistent: false, interval: options.intervalMs ?? DEFAULT_FOLLOW_INTERVAL_MS }, listener);
  return { stop: () => unwatchFile(path, listener) };
}
