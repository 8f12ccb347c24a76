import { userInboxPrefix } from "./subjects.ts";
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, WatchmeshError } from "./errors.ts";

/** How a service authenticates to NATS; secrets are passed as values read from files, never from env. */
export interface NatsAuth {
  user?: string;
  password?: string;
  /** Contents of a NATS .creds file (JWT + nkey seed). */
  creds?: Uint8Array;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export interface NatsConnectOptions {
  servers: string | string[];
  /** Client name shown by the server's monitoring. */
  name: string;
  auth?: NatsAuth;
  timeoutMs?: number;
}

/** Connects with unlimited reconnects, so services ride out NATS server restarts on their own. */
export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const auth = options.auth ?? {};
  const connection: ConnectionOptions = {
    servers: options.servers,
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: options.timeoutMs ?? 5000,
    // A logged-in user gets an inbox of its own, which its account permissions give to it alone.
    ...(auth.user !== undefined ? { user: auth.user, pass: auth.password ?? "", inboxPrefix: userInboxPrefix(auth.user) } : {}),
    ...(auth.creds ? { authenticator: credsAuthenticator(auth.creds) } : {}),
    ...(auth.tls ? { tls: auth.tls } : {}),
  };
  try {
    return await connect(connection);
  } catch (error) {
    throw new WatchmeshError(ErrorCode.Unavailable, `cannot connect to NATS at ${String(options.servers)}`, { cause: error });
  }
}

/** Resolves when `work` settles or after `timeoutMs`, whichever is first; never rejects. */
export async function settleWithin(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Drains a connection (finishing in-flight messages), but never waits forever: with the server
 * unreachable a drain cannot complete, so after `timeoutMs` the connection is closed instead.
 */
export async function drainOrClose(connection: NatsConnection, timeoutMs = 3000): Promise<void> {
  await settleWithin(connection.drain(), timeoutMs);
  if (!connection.isClosed()) await connection.close().catch(() => undefined);
}
