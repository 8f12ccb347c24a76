import { connect, createServer, type Socket } from "node:net";

/** What the proxy forwarded from a client to the server, and when (ms since epoch). */
export interface ForwardedChunk {
  atMs: number;
  text: string;
}

export interface TcpProxy {
  readonly port: number;
  /** nats://127.0.0.1:<port>, for a client that should reach the server through the proxy. */
  readonly url: string;
  /** Delays every byte from clients to the server by `ms` from now on (order is always kept). */
  setUpstreamDelay(ms: number): void;
  /** Every chunk forwarded from clients to the server so far. */
  forwarded(): ForwardedChunk[];
  /** Closes the listener and every connection; pending delayed bytes are dropped. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of a server (e.g. nats-server) that can make the client→server direction
 * slow: a node behind it receives queries at once but its answers reach the server late, as over a
 * congested link. Server→client bytes pass unchanged.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let delayMs = 0;
  const log: ForwardedChunk[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    // Bytes leave in arrival order: a chunk is never due before the one ahead of it.
    let lastDueMs = 0;
    client.on("data", (chunk: Buffer) => {
      const dueMs = Math.max(Date.now() + delayMs, lastDueMs);
      lastDueMs = dueMs;
      const forward = (): void => {
        log.push({ atMs: Date.now(), text: chunk.toString("latin1") });
        upstream.write(chunk);
      };
      const waitMs = dueMs - Date.now();
      if (waitMs <= 0) {
        forward();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        forward();
      }, waitMs);
      timers.add(timer);
    });
    upstream.pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    setUpstreamDelay: (ms) => {
      delayMs = ms;
    },
    forwarded: () => [...log],
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return stopping;
    },
  };
}
