/**
 * Per-message cost of message authentication: Ed25519 sign/verify with libsodium-wrappers (what the hot
 * path uses now) beside Node's built-in Ed25519 and HMAC-SHA256, on a query-sized payload.
 */
import { createHmac, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, randomBytes } from "node:crypto";
import { initSodium } from "../common/sodium.ts";
import { generateKeyPair, SignatureDomain, signDetached, verifyDetached } from "../common/signing.ts";
import { argValue, printFigures, round } from "./stats.ts";

function perOpMicros(iterations: number, op: () => void): number {
  for (let i = 0; i < Math.min(1000, iterations); i++) op(); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) op();
  return round(Number(process.hrtime.bigint() - started) / 1000 / iterations, 2);
}

export async function runCryptoBench(args: string[], json: boolean): Promise<void> {
  await initSodium();
  const iterations = argValue(args, "--iterations", 5000);
  const payload = new Uint8Array(randomBytes(300));
  const pair = generateKeyPair();
  const signature = signDetached(SignatureDomain.MatchQuery, payload, pair.secretKey);
  const nodeKeys = generateKeyPairSync("ed25519");
  const nodeSignature = nodeSign(null, payload, nodeKeys.privateKey);
  const hmacKey = randomBytes(32);
  printFigures(
    "crypto: microseconds per 300-byte message",
    {
      iterations,
      "libsodium-wrappers ed25519 sign": perOpMicros(iterations, () => signDetached(SignatureDomain.MatchQuery, payload, pair.secretKey)),
      "libsodium-wrappers ed25519 verify": perOpMicros(iterations, () => verifyDetached(SignatureDomain.MatchQuery, payload, signature, pair.publicKey)),
      "node:crypto ed25519 sign": perOpMicros(iterations, () => nodeSign(null, payload, nodeKeys.privateKey)),
      "node:crypto ed25519 verify": perOpMicros(iterations, () => nodeVerify(null, payload, nodeKeys.publicKey, nodeSignature)),
      "node:crypto hmac-sha256": perOpMicros(iterations, () => createHmac("sha256", hmacKey).update(payload).digest()),
    },
    json,
  );
}
