import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/watchmesh.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `watchmesh` command as a child process and collects its output. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running `watchmesh` command and resolves once a line on stdout matches `ready`. */
export function startCli(
  args: string[],
  ready: RegExp,
  options: { timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<number | null>((done) => child.once("close", (code) => done(code)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`watchmesh ${args[0]} not ready in time:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (ready.test(stdout)) {
        clearTimeout(timer);
        resolve({
          child,
          output: () => stdout + stderr,
          stop: async () => {
            child.kill("SIGINT");
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`watchmesh ${args[0]} exited early with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

/** A `watchmesh` child process whose output is watched line by line, and which can be killed. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Resolves once the output matches `pattern` (checked on every chunk); rejects on exit or timeout. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGKILL by default) unless the process has exited; then waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** A graceful stop for teardowns: SIGTERM, then SIGKILL if it has not exited after `graceMs` (default 10 s). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `watchmesh <args>` and returns at once. Unlike startCli it watches stderr as well (services
 * announce "serving" there) and exposes the process, so a test can SIGKILL it mid-work. Callers must
 * `kill()` it in their teardown (a no-op once it has exited).
 */
export function spawnCli(args: string[], options: { env?: NodeJS.ProcessEnv; netns?: string } = {}): CliProcess {
  // In a network namespace, `ip netns exec` execs node in place: the child's pid is node's.
  const [command, commandArgs] = options.netns ? ["ip", ["netns", "exec", options.netns, process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  const child = spawn(command, commandArgs, { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString("utf8");
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const listener of [...listeners]) listener();
  });
  return {
    child,
    output: () => output,
    exited,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`watchmesh ${args.join(" ")}: no output matching ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
        const check = (): void => {
          if (pattern.test(output)) finish();
          else if (hasExited) finish(new Error(`watchmesh ${args.join(" ")} exited before printing ${pattern}:\n${output}`));
        };
        function finish(error?: Error): void {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        }
        listeners.add(check);
        check();
      });
    },
    async kill(signal = "SIGKILL") {
      if (!hasExited) child.kill(signal);
      return exited;
    },
    async stop(graceMs = 10_000) {
      if (!hasExited) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
