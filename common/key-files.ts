import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { z } from "zod";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import { generateKeyPair, keyFingerprint } from "./signing.ts";
import { COUNTRY_CODE_PATTERN } from "./country-codes.ts";

export const MemberRole = {
  Node: "node",
  Border: "border",
  Coordinator: "coordinator",
  /** Asks federated aggregate queries (proto/watchmesh/v1/aggregate.proto), nothing else. */
  Analyst: "analyst",
  Root: "root",
} as const;
export type MemberRole = (typeof MemberRole)[keyof typeof MemberRole];

const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, "base64 expected");

const privateKeyFileSchema = z.object({
  format: z.literal("watchmesh-private-key/v1"),
  keyId: z.string().min(1),
  country: z.string().regex(COUNTRY_CODE_PATTERN).or(z.literal("")),
  agency: z.string(),
  role: z.enum(Object.values(MemberRole) as [MemberRole, ...MemberRole[]]),
  publicKey: base64,
  secretKey: base64,
});

const publicKeyFileSchema = z.object({
  format: z.literal("watchmesh-public-key/v1"),
  keyId: z.string().min(1),
  country: z.string(),
  agency: z.string(),
  role: z.enum(Object.values(MemberRole) as [MemberRole, ...MemberRole[]]),
  publicKey: base64,
});

/** A signer's identity and Ed25519 key pair, loaded from a 0600 file. Never logged. */
export interface SigningIdentity {
  keyId: string;
  country: string;
  agency: string;
  role: MemberRole;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface PublicIdentity {
  keyId: string;
  country: string;
  agency: string;
  role: MemberRole;
  publicKey: Uint8Array;
}

export function createIdentity(role: MemberRole, country: string, agency: string): SigningIdentity {
  const pair = generateKeyPair();
  const scope = role === MemberRole.Root ? "root" : `${country}:${role}`;
  return { keyId: `${scope}:${keyFingerprint(pair.publicKey)}`, country, agency, role, ...pair };
}

export async function writePrivateKeyFile(path: string, identity: SigningIdentity): Promise<void> {
  const body = {
    format: "watchmesh-private-key/v1",
    keyId: identity.keyId,
    country: identity.country,
    agency: identity.agency,
    role: identity.role,
    publicKey: Buffer.from(identity.publicKey).toString("base64"),
    secretKey: Buffer.from(identity.secretKey).toString("base64"),
  };
  // Write with 0600 from the start so the secret is never world-readable, even briefly.
  await writeFile(path, JSON.stringify(body, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
}

export async function writePublicKeyFile(path: string, identity: PublicIdentity): Promise<void> {
  const body = {
    format: "watchmesh-public-key/v1",
    keyId: identity.keyId,
    country: identity.country,
    agency: identity.agency,
    role: identity.role,
    publicKey: Buffer.from(identity.publicKey).toString("base64"),
  };
  await writeFile(path, JSON.stringify(body, null, 2) + "\n", { mode: 0o644 });
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new WatchmeshError(ErrorCode.KeyFileInvalid, `cannot read ${what} file ${path}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WatchmeshError(ErrorCode.KeyFileInvalid, `${what} file ${path} is not valid JSON`, { cause: error });
  }
}

export async function readPrivateKeyFile(path: string): Promise<SigningIdentity> {
  const info = await stat(path).catch((error: unknown) => {
    throw new WatchmeshError(ErrorCode.KeyFileInvalid, `cannot read private key file ${path}`, { cause: error });
  });
  if ((info.mode & 0o077) !== 0) {
    throw new WatchmeshError(
      ErrorCode.KeyFileInvalid,
      `private key file ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const parsed = privateKeyFileSchema.safeParse(await readJsonFile(path, "private key"));
  if (!parsed.success) {
    throw new WatchmeshError(ErrorCode.KeyFileInvalid, `private key file ${path} has an invalid layout`);
  }
  const body = parsed.data;
  const secretKey = new Uint8Array(Buffer.from(body.secretKey, "base64"));
  const publicKey = new Uint8Array(Buffer.from(body.publicKey, "base64"));
  if (secretKey.length !== 64 || publicKey.length !== 32) {
    throw new WatchmeshError(ErrorCode.KeyFileInvalid, `private key file ${path} holds keys of the wrong length`);
  }
  return { keyId: body.keyId, country: body.country, agency: body.agency, role: body.role, publicKey, secretKey };
}

export async function readPublicKeyFile(path: string): Promise<PublicIdentity> {
  const parsed = publicKeyFileSchema.safeParse(await readJsonFile(path, "public key"));
  if (!parsed.success) {
    throw new WatchmeshError(ErrorCode.KeyFileInvalid, `public key file ${path} has an invalid layout`);
  }
  const body = parsed.data;
  const publicKey = new Uint8Array(Buffer.from(body.publicKey, "base64"));
  if (publicKey.length !== 32) {
    throw new WatchmeshError(ErrorCode.KeyFileInvalid, `public key file ${path} holds a key of the wrong length`);
  }
  return { keyId: body.keyId, country: body.country, agency: body.agency, role: body.role, publicKey };
}

export function publicPart(identity: SigningIdentity): PublicIdentity {
  const { secretKey: _secret, ...rest } = identity;
  return rest;
}
