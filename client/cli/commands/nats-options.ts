import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import type { NatsAuth } from "../../../common/nats-connection.ts";

export interface NatsFlags {
  nats?: string;
  natsUser?: string;
  natsPasswordFile?: string;
  natsCreds?: string;
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
}

/** NATS connection flags shared by `node serve` and `coordinator serve`. */
export function addNatsOptions(command: Command): Command {
  return command
    .option("--nats <urls>", "NATS server URL(s), comma-separated (default: $NATS_URL)")
    .option("--nats-user <name>", "NATS user name")
    .option("--nats-password-file <file>", "file holding the NATS user's password")
    .option("--nats-creds <file>", "NATS credentials file (JWT + nkey seed)")
    .option("--nats-ca <file>", "CA certificate for NATS TLS")
    .option("--nats-cert <file>", "client certificate for NATS mutual TLS")
    .option("--nats-key <file>", "client key for NATS mutual TLS");
}

async function readSecret(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, `cannot read ${what} file ${file}`, { cause: error });
  }
}

export async function natsAuthFromFlags(flags: NatsFlags): Promise<NatsAuth | undefined> {
  const auth: NatsAuth = {};
  if (flags.natsPasswordFile && !flags.natsUser) throw new WatchmeshError(ErrorCode.ConfigInvalid, "--nats-password-file needs --nats-user");
  if (flags.natsUser) {
    auth.user = flags.natsUser;
    if (flags.natsPasswordFile) auth.password = (await readSecret(flags.natsPasswordFile, "NATS password")).toString("utf8").trim();
  }
  if (flags.natsCreds) auth.creds = new Uint8Array(await readSecret(flags.natsCreds, "NATS credentials"));
  if (flags.natsCa || flags.natsCert || flags.natsKey) {
    auth.tls = {
      ...(flags.natsCa ? { caFile: flags.natsCa } : {}),
      ...(flags.natsCert ? { certFile: flags.natsCert } : {}),
      ...(flags.natsKey ? { keyFile: flags.natsKey } : {}),
    };
  }
  return Object.keys(auth).length > 0 ? auth : undefined;
}
