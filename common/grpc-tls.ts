import { readFile, stat } from "node:fs/promises";
import { credentials, ServerCredentials, type ChannelCredentials } from "@grpc/grpc-js";
import { ErrorCode, WatchmeshError } from "./errors.ts";

export interface ServerTlsFiles {
  /** PEM certificate chain of this server. */
  certFile: string;
  /** PEM private key of the certificate (mode 0600, like every private key). */
  keyFile: string;
  /** PEM CA bundle: when given, clients must present a certificate it signed (mutual TLS). */
  clientCaFile?: string;
}

export interface ClientTlsFiles {
  /** PEM CA bundle the server's certificate must chain to. */
  caFile: string;
  /** This client's certificate and key, for servers that demand mutual TLS. */
  certFile?: string;
  keyFile?: string;
}

async function readPem(path: string, what: string, secret = false): Promise<Buffer> {
  try {
    if (secret) {
      const info = await stat(path);
      if ((info.mode & 0o077) !== 0) {
        throw new WatchmeshError(ErrorCode.KeyFileInvalid, `${what} ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
      }
    }
    return await readFile(path);
  } catch (error) {
    if (error instanceof WatchmeshError) throw error;
    throw new WatchmeshError(ErrorCode.ConfigInvalid, `cannot read ${what} ${path}`, { cause: error });
  }
}

/**
 * A server's PEM certificate chain and private key, the key refused when others can read it: for gRPC
 * (loadServerTls) and for any other TLS server of the project (the web console's HTTPS).
 */
export async function readTlsKeyPair(files: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readPem(files.certFile, "TLS certificate"), readPem(files.keyFile, "TLS private key", true)]);
  return { cert, key };
}

/** TLS server credentials for a node's or coordinator's gRPC port; mutual when a client CA is given. */
export async function loadServerTls(files: ServerTlsFiles): Promise<ServerCredentials> {
  const [{ cert, key }, clientCa] = await Promise.all([
    readTlsKeyPair(files),
    files.clientCaFile ? readPem(files.clientCaFile, "client CA bundle") : Promise.resolve(undefined),
  ]);
  try {
    return ServerCredentials.createSsl(clientCa ?? null, [{ cert_chain: cert, private_key: key }], clientCa !== undefined);
  } catch (error) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, "TLS certificate or key is not usable", { cause: error });
  }
}

/** TLS channel credentials for calling a node or coordinator; with a certificate for mutual TLS. */
export async function loadClientTls(files: ClientTlsFiles): Promise<ChannelCredentials> {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, "a client TLS certificate needs its key, and a key its certificate");
  }
  const [ca, cert, key] = await Promise.all([
    readPem(files.caFile, "TLS CA bundle"),
    files.certFile ? readPem(files.certFile, "TLS certificate") : Promise.resolve(undefined),
    files.keyFile ? readPem(files.keyFile, "TLS private key", true) : Promise.resolve(undefined),
  ]);
  try {
    return credentials.createSsl(ca, key ?? null, cert ?? null);
  } catch (error) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, "TLS certificate or key is not usable", { cause: error });
  }
}
