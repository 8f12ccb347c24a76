/**
 * Per-message cost of authentication on the hot path, per library: pair tags (BLAKE2b-128 keyed with
 * crypto_kx keys, libsodium-wrappers — what the fan-out uses), the same MAC built from node:crypto's
 * HMAC-SHA256 for comparison, Ed25519 sign/verify in libsodium-wrappers and node:crypto and as Watchmesh
 * signs (signDetached: node:crypto with libsodium keys) — kept for hits, audit seals and registry — and
 * the one-off pair key derivation. Then what one federated check costs each party with pair tags
 * against signatures everywhere, at the given number of countries.
 */
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { createIdentity, MemberRole } from "../common/key-files.ts";
import { PairKeyring } from "../common/pair-tags.ts";
import type { ResolvedSigner } from "../common/registry.ts";
import { initSodium, sodium } from "../common/sodium.ts";
import { generateKeyPair, SignatureDomain, signDetached, verifyDetached } from "../common/signing.ts";
import { argValue, printFigures, round } from "./stats.ts";

function perOpMicros(iterations: number, op: (index: number) => void): number {
  for (let i = 0; i < Math.min(1000, iterations); i++) op(i); // warm-up
  const started = process.cpuUsage();
  for (let i = 0; i < iterations; i++) op(i);
  const used = process.cpuUsage(started);
  return round((used.user + used.system) / iterations, 2);
}

function signer(identity: ReturnType<typeof createIdentity>): ResolvedSigner {
  return { keyId: identity.keyId, country: identity.country, agency: identity.agency, role: identity.role as ResolvedSigner["role"], publicKey: identity.publicKey };
}

export async function runCryptoBench(args: string[], json: boolean): Promise<void> {
  await initSodium();
  // Tags take under a microsecond: fewer iterations measured the WebAssembly functions' tier-up
  // (on other threads, counted in the process's CPU time) more than the tags. Slow operations
  // (Ed25519, crypto_kx) run a fortieth as often.
  const iterations = argValue(args, "--iterations", 200_000);
  const slowIterations = Math.ceil(iterations / 40);
  const countries = argValue(args, "--countries", 196);
  const query = new Uint8Array(randomBytes(argValue(args, "--query-bytes", 300)));
  const answer = new Uint8Array(randomBytes(argValue(args, "--answer-bytes", 110)));

  const pair = generateKeyPair();
  const signature = signDetached(SignatureDomain.MatchAnswer, answer, pair.secretKey);
  const nodeKeys = generateKeyPairSync("ed25519");
  const nodeSignature = nodeSign(null, answer, nodeKeys.privateKey);

  const border = createIdentity(MemberRole.Border, "FRA", "border-police");
  const node = createIdentity(MemberRole.Node, "DEU", "node-agency");
  const borderKeyring = new PairKeyring(border, { side: "asker" });
  const nodeKeyring = new PairKeyring(node, { side: "answerer" });
  const answerTag = nodeKeyring.tagRecordFor(signer(border), SignatureDomain.MatchAnswer, answer);
  const hmacKey = createSecretKey(randomBytes(32));
  const prefix = new TextEncoder().encode("watchmesh/v1/match-answer\0");

  const figures = {
    iterations,
    "query tag make, libsodium BLAKE2b-128": perOpMicros(iterations, () => borderKeyring.tagRecordFor(signer(node), SignatureDomain.MatchQuery, query)),
    "pair tag make, libsodium BLAKE2b-128": perOpMicros(iterations, () => nodeKeyring.tagRecordFor(signer(border), SignatureDomain.MatchAnswer, answer)),
    "pair tag check, libsodium BLAKE2b-128": perOpMicros(iterations, () => borderKeyring.verifyTagFrom(signer(node), answerTag, SignatureDomain.MatchAnswer, answer)),
    "same MAC with node:crypto HMAC-SHA256": perOpMicros(iterations, () => createHmac("sha256", hmacKey).update(prefix).update(answer).digest()),
    "pair keys derived once per pair (crypto_kx)": perOpMicros(slowIterations, () => new PairKeyring(node, { side: "answerer" }).tagRecordFor(signer(border), SignatureDomain.MatchAnswer, answer)),
    "ed25519 sign, libsodium-wrappers": perOpMicros(slowIterations, () => sodium().crypto_sign_detached(answer, pair.secretKey)),
    // What Watchmesh signs with (common/signing.ts): node:crypto with the libsodium key, the same bytes.
    "ed25519 sign, signDetached": perOpMicros(slowIterations, () => signDetached(SignatureDomain.MatchAnswer, answer, pair.secretKey)),
    "ed25519 verify, libsodium-wrappers": perOpMicros(slowIterations, () => verifyDetached(SignatureDomain.MatchAnswer, answer, signature, pair.publicKey)),
    "ed25519 sign, node:crypto": perOpMicros(slowIterations, () => nodeSign(null, answer, nodeKeys.privateKey)),
    "ed25519 verify, node:crypto": perOpMicros(slowIterations, () => nodeVerify(null, answer, nodeKeys.publicKey, nodeSignature)),
  };
  const queryTag = figures["query tag make, libsodium BLAKE2b-128"];
  const tag = figures["pair tag make, libsodium BLAKE2b-128"];
  const check = figures["pair tag check, libsodium BLAKE2b-128"];
  const sign = figures["ed25519 sign, signDetached"];
  const verify = figures["ed25519 verify, libsodium-wrappers"];
  // One check, one hit: the border system signs once and tags per country; each node checks one tag and
  // tags its answer twice (requester, coordinator), the hit also signs; coordinator and border system
  // each check one tag per country and one signature (the hit).
  const perCheck = {
    "border system, pair tags (us)": round(sign + countries * queryTag + (countries - 1) * check + verify, 0),
    "border system, signatures only (us)": round(sign + countries * verify, 0),
    "coordinator, pair tags (us)": round(verify + (countries - 1) * check + verify, 0),
    "coordinator, signatures only (us)": round(verify + countries * verify, 0),
    "each node, pair tags (us)": round(queryTag + 2 * tag, 1),
    "each node, signatures only (us)": round(verify + sign, 1),
  };
  printFigures(
    `crypto: CPU microseconds per operation (query ${query.length} B, answer ${answer.length} B), and per check at ${countries} countries`,
    { ...figures, ...perCheck },
    json,
  );
}
