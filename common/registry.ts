import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ErrorCode, WatchmeshError } from "./errors.ts";
import { COUNTRY_CODE_PATTERN } from "./country-codes.ts";
import { MemberRole, type PublicIdentity, type SigningIdentity } from "./key-files.ts";
import { SignatureDomain, signDetached, verifyDetached } from "./signing.ts";

const isoTime = z.iso.datetime({ offset: true });

const registryKeySchema = z.object({
  keyId: z.string().min(1).max(128),
  publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "32-byte base64 Ed25519 key expected"),
  notBefore: isoTime.optional(),
  notAfter: isoTime.optional(),
  revoked: z.boolean().optional(),
});

const registryMemberSchema = z.object({
  country: z.string().regex(COUNTRY_CODE_PATTERN, "ISO 3166-1 alpha-3 code expected"),
  agency: z.string().min(1).max(64),
  role: z.enum([MemberRole.Node, MemberRole.Border, MemberRole.Coordinator, MemberRole.Analyst]),
  name: z.string().max(200).optional(),
  keys: z.array(registryKeySchema).min(1),
});

export const registryDocumentSchema = z.object({
  format: z.literal("watchmesh-registry/v1"),
  version: z.number().int().positive(),
  issuedAt: isoTime,
  members: z.array(registryMemberSchema),
});

const signedRegistrySchema = z.object({
  format: z.literal("watchmesh-signed-registry/v1"),
  /** The registry document as JSON text: the exact bytes that were signed. */
  payload: z.string(),
  keyId: z.string(),
  signature: z.string(),
});

export type RegistryDocument = z.infer<typeof registryDocumentSchema>;
export type RegistryMember = z.infer<typeof registryMemberSchema>;
export type RegistryKey = z.infer<typeof registryKeySchema>;

export interface ResolvedSigner {
  keyId: string;
  country: string;
  agency: string;
  role: RegistryMember["role"];
  publicKey: Uint8Array;
}

interface IndexedKey {
  signer: ResolvedSigner;
  notBeforeMs: number;
  notAfterMs: number;
  revoked: boolean;
}

/**
 * The verified trust registry: who is a member, with which role and keys. Built only from a document
 * whose root signature checked out.
 */
export class TrustRegistry {
  readonly version: number;
  readonly document: RegistryDocument;
  readonly #keys = new Map<string, IndexedKey>();
  readonly #nodeCountries: readonly string[];

  private constructor(document: RegistryDocument) {
    this.document = document;
    this.version = document.version;
    for (const member of document.members) {
      for (const key of member.keys) {
        if (this.#keys.has(key.keyId)) {
          throw new WatchmeshError(ErrorCode.RegistryInvalid, `registry lists key id ${key.keyId} twice`);
        }
        this.#keys.set(key.keyId, {
          signer: {
            keyId: key.keyId,
            country: member.country,
            agency: member.agency,
            role: member.role,
            publicKey: new Uint8Array(Buffer.from(key.publicKey, "base64")),
          },
          notBeforeMs: key.notBefore ? Date.parse(key.notBefore) : Number.NEGATIVE_INFINITY,
          notAfterMs: key.notAfter ? Date.parse(key.notAfter) : Number.POSITIVE_INFINITY,
          revoked: key.revoked ?? false,
        });
      }
    }
    const countries = new Set(document.members.filter((member) => member.role === MemberRole.Node).map((member) => member.country));
    this.#nodeCountries = [...countries].sort();
  }

  /** Verifies the root signature over the exact payload text, then validates the document. */
  static fromSignedText(signedText: string, root: PublicIdentity): TrustRegistry {
    let outer: unknown;
    try {
      outer = JSON.parse(signedText);
    } catch (error) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, "registry file is not valid JSON", { cause: error });
    }
    const signed = signedRegistrySchema.safeParse(outer);
    if (!signed.success) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, "registry file is not a signed registry (missing payload/keyId/signature)");
    }
    if (signed.data.keyId !== root.keyId) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, `registry is signed by ${signed.data.keyId}, not by the root key ${root.keyId}`);
    }
    const payload = new TextEncoder().encode(signed.data.payload);
    const signature = new Uint8Array(Buffer.from(signed.data.signature, "base64"));
    if (!verifyDetached(SignatureDomain.Registry, payload, signature, root.publicKey)) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, "registry signature does not verify against the root key: refusing a tampered or unsigned registry");
    }
    let document: unknown;
    try {
      document = JSON.parse(signed.data.payload);
    } catch (error) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, "registry payload is not valid JSON", { cause: error });
    }
    const parsed = registryDocumentSchema.safeParse(document);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new WatchmeshError(
        ErrorCode.RegistryInvalid,
        `registry document is invalid at ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "unknown"}`,
      );
    }
    return new TrustRegistry(parsed.data);
  }

  static async load(path: string, root: PublicIdentity): Promise<TrustRegistry> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new WatchmeshError(ErrorCode.RegistryInvalid, `cannot read registry file ${path}`, { cause: error });
    }
    return TrustRegistry.fromSignedText(text, root);
  }

  /**
   * Finds the signer of `keyId`, valid at `nowMs`, with one of `roles`. Throws a typed error saying
   * which check failed.
   */
  resolveSigner(keyId: string, nowMs: number, roles: readonly RegistryMember["role"][]): ResolvedSigner {
    const entry = this.#keys.get(keyId);
    if (!entry) throw new WatchmeshError(ErrorCode.UnknownSigner, "signer key is not in the trust registry", { context: { keyId } });
    if (entry.revoked) throw new WatchmeshError(ErrorCode.KeyNotValid, "signer key is revoked", { context: { keyId } });
    if (nowMs < entry.notBeforeMs || nowMs > entry.notAfterMs) {
      throw new WatchmeshError(ErrorCode.KeyNotValid, "signer key is outside its validity period", { context: { keyId } });
    }
    if (!roles.includes(entry.signer.role)) {
      throw new WatchmeshError(ErrorCode.RoleNotAllowed, `signer role ${entry.signer.role} may not send this message`, {
        context: { keyId },
      });
    }
    return entry.signer;
  }

  /**
   * Node keys valid at `nowMs` (not revoked, within their validity), optionally of some countries only:
   * the recipients a border system tags its queries for.
   */
  nodeKeys(nowMs: number, countries?: readonly string[]): ResolvedSigner[] {
    const wanted = countries && countries.length > 0 ? new Set(countries) : undefined;
    return this.#validKeys(MemberRole.Node, nowMs).filter((signer) => !wanted || wanted.has(signer.country));
  }

  /** Every node key listed, whatever its validity or revocation: to route tag records, not to trust. */
  listedNodeKeys(): ResolvedSigner[] {
    return [...this.#keys.values()].filter((entry) => entry.signer.role === MemberRole.Node).map((entry) => entry.signer);
  }

  /**
   * Coordinator keys valid at `nowMs`: a border system tags its queries for them too, so whichever
   * coordinator relays a check authenticates it with one MAC instead of an Ed25519 verification.
   */
  coordinatorKeys(nowMs: number): ResolvedSigner[] {
    return this.#validKeys(MemberRole.Coordinator, nowMs);
  }

  #validKeys(role: RegistryMember["role"], nowMs: number): ResolvedSigner[] {
    const keys: ResolvedSigner[] = [];
    for (const entry of this.#keys.values()) {
      if (entry.signer.role !== role || entry.revoked) continue;
      if (nowMs < entry.notBeforeMs || nowMs > entry.notAfterMs) continue;
      keys.push(entry.signer);
    }
    return keys;
  }

  /** Countries that run a node, sorted: the countries a federated check expects answers from. */
  nodeCountries(): string[] {
    return [...this.#nodeCountries];
  }
}

/** Registry entry for a generated identity. */
export function memberFor(identity: PublicIdentity, name?: string): RegistryMember {
  if (identity.role === MemberRole.Root) throw new WatchmeshError(ErrorCode.InvalidArgument, "the root key is not a registry member");
  return {
    country: identity.country,
    agency: identity.agency,
    role: identity.role,
    ...(name === undefined ? {} : { name }),
    keys: [{ keyId: identity.keyId, publicKey: Buffer.from(identity.publicKey).toString("base64") }],
  };
}

/** Signs a registry document with the root key; returns the text of the signed registry file. */
export function signRegistry(document: RegistryDocument, root: SigningIdentity): string {
  const checked = registryDocumentSchema.parse(document);
  const payloadText = JSON.stringify(checked, null, 2);
  const signature = signDetached(SignatureDomain.Registry, new TextEncoder().encode(payloadText), root.secretKey);
  const signed = {
    format: "watchmesh-signed-registry/v1",
    payload: payloadText,
    keyId: root.keyId,
    signature: Buffer.from(signature).toString("base64"),
  };
  return JSON.stringify(signed, null, 2) + "\n";
}
