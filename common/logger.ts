import { pino, type Logger as PinoLogger, type DestinationStream } from "pino";

/** Structured JSON logger. Callers log codes, ids, digests and counts — never record or query content. */
export type Logger = PinoLogger;

export interface LoggerOptions {
  component: string;
  country?: string;
  /** pino level name; "silent" turns logging off. */
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base: Record<string, string> = { component: options.component };
  if (options.country) base["country"] = options.country;
  return pino(
    {
      level: options.level ?? "info",
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: if a secret-looking field ever reaches a log call, it is removed.
      redact: { paths: ["secretKey", "*.secretKey", "payload", "*.payload", "names", "*.names"], remove: true },
    },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that drops everything: for tests and library use without a host logger. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
