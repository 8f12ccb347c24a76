import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, WatchmeshError } from "./errors.ts";

export interface NatsConnectOptions {
  servers: string | string[];
  /** Client name shown by the server's monitoring. */
  name: string;
  timeoutMs?: number;
}

/** Connects with unlimited reconnects, so services ride out NATS server restarts on their own. */
export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  try {
    return await connect({
      servers: options.servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: options.timeoutMs ?? 5000,
    });
  } catch (error) {
    throw new WatchmeshError(ErrorCode.Unavailable, `cannot connect to NATS at ${String(options.servers)}`, { cause: error });
  }
}
