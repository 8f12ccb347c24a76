import { createHash, randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { domainPrefix, generateKeyPair, sha256, sha256Hex, SignatureDomain, signDetached, verifyDetached } from "../../common/signing.ts";
import { initSodium, sodium } from "../../common/sodium.ts";

beforeAll(async () => {
  await initSodium();
});

/** What libsodium itself signs: the domain prefix followed by the payload. */
function libsodiumSignature(domain: SignatureDomain, payload: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const prefix = domainPrefix(domain);
  const message = new Uint8Array(prefix.length + payload.length);
  message.set(prefix, 0);
  message.set(payload, prefix.length);
  return sodium().crypto_sign_detached(message, secretKey);
}

describe("signDetached", () => {
  it("makes exactly libsodium's signature bytes, for many keys and payload sizes", () => {
    for (let i = 0; i < 40; i++) {
      const pair = generateKeyPair();
      const payload = new Uint8Array(randomBytes(i * 37));
      const signature = signDetached(SignatureDomain.MatchAnswer, payload, pair.secretKey);
      expect(Buffer.from(signature).toString("hex")).toBe(Buffer.from(libsodiumSignature(SignatureDomain.MatchAnswer, payload, pair.secretKey)).toString("hex"));
      expect(verifyDetached(SignatureDomain.MatchAnswer, payload, signature, pair.publicKey)).toBe(true);
    }
  });

  it("signs as libsodium does with a secret key whose public half is not its seed's", () => {
    const pair = generateKeyPair();
    const other = generateKeyPair();
    const mismatched = new Uint8Array(64);
    mismatched.set(pair.secretKey.subarray(0, 32), 0);
    mismatched.set(other.publicKey, 32);
    const payload = new Uint8Array(randomBytes(100));
    expect(signDetached(SignatureDomain.MatchQuery, payload, mismatched)).toEqual(libsodiumSignature(SignatureDomain.MatchQuery, payload, mismatched));
  });
});

describe("sha256 and sha256Hex", () => {
  it("give SHA-256 of the bytes, and of a text's UTF-8 bytes in hex, as node:crypto's Hash does", () => {
    for (const text of ["", "watchmesh-audit-entry/v1", "Ødegård Łukasz 李小龍 🚀", "x".repeat(1000)]) {
      const expected = createHash("sha256").update(text, "utf8").digest();
      expect(sha256Hex(text)).toBe(expected.toString("hex"));
      expect(Buffer.from(sha256(new TextEncoder().encode(text))).equals(expected)).toBe(true);
    }
  });
});
