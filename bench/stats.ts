/** Small helpers for benchmark figures. */
import { readFileSync } from "node:fs";

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const index = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[index] ?? Number.NaN;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export function summarise(samplesMs: number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(sorted.length, 1);
  return { count: sorted.length, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), meanMs: round(mean) };
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** CPU time (user + system) of this process in microseconds. */
export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * CPU time (user + system) of another process in microseconds, from /proc (Linux; NaN elsewhere). The
 * kernel counts it in clock ticks of 10 ms (USER_HZ is 100 on Linux), so measure over seconds.
 */
export function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

export function argValue(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

export function printFigures(title: string, figures: Record<string, unknown>, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ benchmark: title, ...figures }) + "\n");
    return;
  }
  process.stdout.write(`\n${title}\n`);
  for (const [key, value] of Object.entries(figures)) {
    process.stdout.write(`  ${key.padEnd(38)} ${typeof value === "string" ? value : JSON.stringify(value)}\n`);
  }
}

/**
 * Resident memory split as Linux reports it (/proc/self/status): anonymous pages (the heap and native
 * allocations) and file-backed pages (mostly the LMDB map, which is page cache). Undefined elsewhere.
 */
export function residentMemoryMb(): { anonymous: number; file: number } | undefined {
  let status: string;
  try {
    status = readFileSync("/proc/self/status", "utf8");
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { anonymous: round(kb("RssAnon") / 1024, 0), file: round(kb("RssFile") / 1024, 0) };
}

/** `n` distinct made-up country codes (BAA, BAB, …) for simulated countries. */
export function benchCountryCodes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `B${String.fromCharCode(65 + (Math.floor(i / 26) % 26))}${String.fromCharCode(65 + (i % 26))}`);
}
