import type { ChannelCredentials, ServerCredentials } from "@grpc/grpc-js";
import type { Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { loadClientTls, loadServerTls } from "../../../common/grpc-tls.ts";

export interface ServerTlsFlags {
  grpcTlsCert?: string;
  grpcTlsKey?: string;
  grpcTlsClientCa?: string;
}

/** gRPC server TLS flags shared by `node serve` and `coordinator serve`. */
export function addServerTlsOptions(command: Command): Command {
  return command
    .option("--grpc-tls-cert <file>", "serve gRPC over TLS with this PEM certificate chain (with --grpc-tls-key)")
    .option("--grpc-tls-key <file>", "PEM private key of --grpc-tls-cert (mode 0600)")
    .option("--grpc-tls-client-ca <file>", "demand client certificates signed by this PEM CA bundle (mutual TLS)");
}

/** Server credentials from the flags; undefined (plain gRPC) when no certificate is given. */
export async function serverTlsFromFlags(flags: ServerTlsFlags): Promise<ServerCredentials | undefined> {
  if (!flags.grpcTlsCert && !flags.grpcTlsKey) {
    if (flags.grpcTlsClientCa) throw new WatchmeshError(ErrorCode.ConfigInvalid, "--grpc-tls-client-ca needs --grpc-tls-cert and --grpc-tls-key");
    return undefined;
  }
  if (!flags.grpcTlsCert || !flags.grpcTlsKey) throw new WatchmeshError(ErrorCode.ConfigInvalid, "--grpc-tls-cert and --grpc-tls-key go together");
  return loadServerTls({
    certFile: flags.grpcTlsCert,
    keyFile: flags.grpcTlsKey,
    ...(flags.grpcTlsClientCa ? { clientCaFile: flags.grpcTlsClientCa } : {}),
  });
}

export interface ClientTlsFlags {
  coordinatorCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** gRPC client TLS flags of the commands that call a coordinator. */
export function addClientTlsOptions(command: Command): Command {
  return command
    .option("--coordinator-ca <file>", "call the coordinator over TLS, trusting this PEM CA bundle")
    .option("--tls-cert <file>", "this border system's PEM certificate, for a coordinator that demands one (with --tls-key)")
    .option("--tls-key <file>", "PEM private key of --tls-cert (mode 0600)");
}

/** Channel credentials from the flags; undefined (plain gRPC, for loopback meshes) without a CA. */
export async function clientTlsFromFlags(flags: ClientTlsFlags): Promise<ChannelCredentials | undefined> {
  if (!flags.coordinatorCa) {
    if (flags.tlsCert || flags.tlsKey) throw new WatchmeshError(ErrorCode.ConfigInvalid, "--tls-cert and --tls-key need --coordinator-ca");
    return undefined;
  }
  return loadClientTls({
    caFile: flags.coordinatorCa,
    ...(flags.tlsCert ? { certFile: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { keyFile: flags.tlsKey } : {}),
  });
}
