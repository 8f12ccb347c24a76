import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ErrorCode, WatchmeshError } from "./errors.ts";

export interface NatsServerOptions {
  /** Binary to run; defaults to `nats-server` on PATH. */
  binary?: string;
  /** Enable JetStream with storage in a fresh temp directory (removed on stop). */
  jetstream?: boolean;
  /** Further command-line arguments, e.g. ["--user", "u", "--pass", "p"] or ["-c", "server.conf"]. */
  extraArgs?: string[];
  /** How long to wait for the server to accept clients. */
  startTimeoutMs?: number;
}

export interface RunningNatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its storage. Idempotent. */
  stop(): Promise<void>;
}

const LISTEN_LINE = /Listening for client connections on [^\s]*:(\d+)/;
const READY_LINE = /Server is ready/;

/**
 * Starts a real nats-server on a free loopback port (the server picks it: `-p -1`), and resolves
 * once it logs that it is ready. Rejects if it exits first or does not come up in time.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<RunningNatsServer> {
  const storeDir = options.jetstream ? await mkdtemp(path.join(tmpdir(), "watchmesh-js-")) : undefined;
  const args = ["-a", "127.0.0.1", "-p", "-1", "-m", "0"];
  if (storeDir) args.push("-js", "-sd", storeDir);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(options.binary ?? "nats-server", args, { stdio: ["ignore", "ignore", "pipe"] });
  const timeoutMs = options.startTimeoutMs ?? 10_000;

  let port: number;
  try {
    port = await waitUntilReady(child, timeoutMs);
  } catch (error) {
    child.kill("SIGKILL");
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
    throw error;
  }

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= (async () => {
        child.kill("SIGTERM");
        const killTimer = setTimeout(() => child.kill("SIGKILL"), 5000);
        try {
          await exited;
        } finally {
          clearTimeout(killTimer);
        }
        if (storeDir) await rm(storeDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function waitUntilReady(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let port: number | undefined;
    let log = "";
    const timer = setTimeout(() => finish(new WatchmeshError(ErrorCode.Unavailable, `nats-server did not start within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8");
      const listen = LISTEN_LINE.exec(log);
      if (listen?.[1]) port = Number(listen[1]);
      if (port !== undefined && READY_LINE.test(log)) finish(undefined, port);
    };
    const onError = (error: NodeJS.ErrnoException) => {
      finish(
        error.code === "ENOENT"
          ? new WatchmeshError(ErrorCode.NatsServerMissing, "nats-server is not installed (apt-get install -y nats-server), or set NATS_URL to an existing server")
          : new WatchmeshError(ErrorCode.Unavailable, "nats-server could not be started", { cause: error }),
      );
    };
    const onExit = (code: number | null) => {
      finish(new WatchmeshError(ErrorCode.Unavailable, `nats-server exited during start-up (code ${code})`));
    };
    function finish(error: Error | undefined, readyPort?: number) {
      clearTimeout(timer);
      child.stderr?.off("data", onData);
      child.off("error", onError);
      child.off("exit", onExit);
      // Keep draining stderr so the server never blocks on a full pipe.
      child.stderr?.resume();
      if (error) reject(error);
      else resolve(readyPort as number);
    }
    child.stderr?.on("data", onData);
    child.once("error", onError);
    child.once("exit", onExit);
  });
}
