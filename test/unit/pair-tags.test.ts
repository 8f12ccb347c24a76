import { beforeAll, describe, expect, it } from "vitest";
import { openAnswer, openQuery, sealAnswer, signQuery } from "../../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { createIdentity, MemberRole } from "../../common/key-files.ts";
import { silentLogger } from "../../common/logger.ts";
import { randomBytes } from "node:crypto";
import { PAIR_TAG_RECORD_BYTES, PairKeyring, pairTag, pairTagsUseKeyStates, recipientId, TagRouter } from "../../common/pair-tags.ts";
import { sodium } from "../../common/sodium.ts";
import { AnswerStatus, decodeEnvelope, encodeEnvelope, withTagsField, type MatchAnswer, type SignedEnvelope } from "../../common/proto.ts";
import type { ResolvedSigner } from "../../common/registry.ts";
import { domainPrefix, sha256, SignatureDomain } from "../../common/signing.ts";
import type { Matcher } from "../../node/matcher.ts";
import { MatchService } from "../../node/match-service.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeAnswer, makeQuery, personSubject } from "../helpers/queries.ts";

let trust: TestTrust;
let deuNode: ResolvedSigner;
let espNode: ResolvedSigner;
let border: ResolvedSigner;
let coordinator: ResolvedSigner;

beforeAll(async () => {
  trust = await makeTrust(["DEU", "ESP"]);
  const now = Date.now();
  [deuNode, espNode] = ["DEU", "ESP"].map((country) => trust.registry.resolveSigner(trust.nodes.get(country)?.keyId ?? "", now, ["node"])) as [ResolvedSigner, ResolvedSigner];
  border = trust.registry.resolveSigner(trust.border.keyId, now, ["border"]);
  coordinator = trust.registry.resolveSigner(trust.coordinator.keyId, now, ["coordinator"]);
});

function nodeKeyring(country: string): PairKeyring {
  const identity = trust.nodes.get(country);
  if (!identity) throw new Error(`no ${country} identity`);
  return new PairKeyring(identity, { side: "answerer" });
}

function taggedQuery(): SignedEnvelope {
  return signQuery(makeQuery({ expiresAtMs: Date.now() + 60_000 }), trust.border, { tagFor: [deuNode, espNode], keyring: trust.borderKeyring });
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return WatchmeshError.from(error).code;
  }
  return "nothing thrown";
}

const answer = (query: SignedEnvelope): MatchAnswer => makeAnswer(sha256(query.payload));

describe("pair tags on queries", () => {
  it("let each node asked authenticate the query with its own tag, without the signature", () => {
    const envelope = taggedQuery();
    expect(envelope.tags).toHaveLength(2 * PAIR_TAG_RECORD_BYTES);
    // The signature is cut off: only the tag can authenticate it now.
    const unsigned = { ...envelope, signature: new Uint8Array(0) };
    for (const country of ["DEU", "ESP"]) {
      const opened = openQuery(unsigned, trust.registry, { nowMs: Date.now(), keyring: nodeKeyring(country) });
      expect(opened).toMatchObject({ signatureVerified: false, signer: { keyId: trust.border.keyId } });
    }
  });

  it("fall back to the signature for a node that was not tagged, and refuse when neither checks", () => {
    const trustWithIta = nodeKeyringFor("ITA");
    const envelope = taggedQuery();
    expect(openQuery(envelope, trust.registry, { nowMs: Date.now(), keyring: trustWithIta }).signatureVerified).toBe(true);
    expect(codeOf(() => openQuery({ ...envelope, signature: new Uint8Array(0) }, trust.registry, { nowMs: Date.now(), keyring: trustWithIta }))).toBe(
      ErrorCode.BadSignature,
    );
  });

  it("stop authenticating a payload changed after tagging", () => {
    const envelope = taggedQuery();
    const tampered = new Uint8Array(envelope.payload);
    tampered[tampered.length - 2] = (tampered[tampered.length - 2] ?? 0) ^ 0x01;
    expect(codeOf(() => openQuery({ ...envelope, payload: tampered }, trust.registry, { nowMs: Date.now(), keyring: nodeKeyring("DEU") }))).toBe(
      ErrorCode.BadSignature,
    );
  });

  it("cannot be made by a relay: the coordinator's own pair keys give other tags", () => {
    const envelope = taggedQuery();
    const coordinatorKeyring = new PairKeyring(trust.coordinator, { side: "asker" });
    const forgedTags = coordinatorKeyring.tagsFor([deuNode], SignatureDomain.MatchQuery, envelope.payload);
    const forged = { ...envelope, signature: new Uint8Array(0), tags: forgedTags };
    expect(codeOf(() => openQuery(forged, trust.registry, { nowMs: Date.now(), keyring: nodeKeyring("DEU") }))).toBe(ErrorCode.BadSignature);
  });

  it("are bound to a direction and a kind: a query tag does not pass as an answer tag", () => {
    const digest = new Uint8Array([1, 2, 3]);
    const queryTag = trust.borderKeyring.tagRecordFor(deuNode, SignatureDomain.MatchQuery, digest);
    // Same pair, same digest, read back by the border system as if the node had sent it.
    expect(trust.borderKeyring.verifyTagFrom(deuNode, queryTag, SignatureDomain.MatchQuery, digest)).toBe(false);
    expect(nodeKeyring("DEU").verifyTagFrom(border, queryTag, SignatureDomain.MatchAnswer, digest)).toBe(false);
    expect(nodeKeyring("DEU").verifyTagFrom(border, queryTag, SignatureDomain.MatchQuery, digest)).toBe(true);
  });

  it("treat a malformed tags field as no tag", () => {
    const envelope = taggedQuery();
    const truncated = { ...envelope, tags: envelope.tags?.subarray(0, PAIR_TAG_RECORD_BYTES + 3) };
    expect(openQuery(truncated, trust.registry, { nowMs: Date.now(), keyring: nodeKeyring("DEU") }).signatureVerified).toBe(true);
  });

  it("name recipients by the first 4 bytes of SHA-256 of their public key", () => {
    const envelope = taggedQuery();
    expect(envelope.tags?.subarray(0, 4)).toEqual(sha256(deuNode.publicKey).subarray(0, 4));
    expect(recipientId(espNode.publicKey)).toEqual(envelope.tags?.subarray(PAIR_TAG_RECORD_BYTES, PAIR_TAG_RECORD_BYTES + 4));
  });
});

/** A node key the query was not tagged for. */
function nodeKeyringFor(country: string): PairKeyring {
  return new PairKeyring(createIdentity(MemberRole.Node, country, "node-agency"), { side: "answerer" });
}

describe("the tag function", () => {
  it("is libsodium's keyed BLAKE2b-128 over the domain prefix and the payload, for any payload size and kind", () => {
    // Kinds alternate (their prefixes differ in length), and sizes grow the input buffer and shrink again.
    const kinds = [SignatureDomain.MatchAnswer, SignatureDomain.MatchQuery, SignatureDomain.MatchAnswer];
    for (const size of [0, 1, 110, 300, 1023, 1024, 5000, 70_000, 64]) {
      for (const kind of kinds) {
        const key = new Uint8Array(randomBytes(32));
        const payload = new Uint8Array(randomBytes(size));
        const input = new Uint8Array([...domainPrefix(kind), ...payload]);
        expect(pairTag(key, kind, payload)).toEqual(sodium().crypto_generichash(16, input, key));
      }
    }
  });

  it("gives the same tags from a key's kept state, reused across kinds and sizes, and after the table of states was emptied", () => {
    // Tags are made from each key's state after its key block (one compression saved); checked here
    // against the one-shot function, around the block boundaries, for keys used again and again.
    expect(pairTagsUseKeyStates()).toBe(true);
    const oneShot = (key: Uint8Array, kind: SignatureDomain, payload: Uint8Array): Uint8Array =>
      sodium().crypto_generichash(16, new Uint8Array([...domainPrefix(kind), ...payload]), key);
    const keys = Array.from({ length: 3 }, () => new Uint8Array(randomBytes(32)));
    for (const size of [0, 1, 100, 107, 108, 109, 128, 235, 236, 237, 256, 300, 5000]) {
      for (const kind of [SignatureDomain.MatchAnswer, SignatureDomain.MatchQuery]) {
        const payload = new Uint8Array(randomBytes(size));
        for (const key of keys) expect(pairTag(key, kind, payload)).toEqual(oneShot(key, kind, payload));
      }
    }
    // More keys than the table holds (4,096): it is emptied and refilled, the first keys' states made again.
    const many = Array.from({ length: 4200 }, () => new Uint8Array(randomBytes(32)));
    const payload = new Uint8Array(randomBytes(116));
    for (const key of [...many, ...keys, many[0]!]) expect(pairTag(key, SignatureDomain.MatchAnswer, payload)).toEqual(oneShot(key, SignatureDomain.MatchAnswer, payload));
  });
});

describe("pair tags on answers", () => {
  it("let the requester and the relaying coordinator check an unsigned answer, and nobody else", () => {
    const query = taggedQuery();
    const sealed = sealAnswer(answer(query), { identity: trustNode("DEU"), keyring: nodeKeyring("DEU"), tagFor: [border, coordinator], sign: false });
    expect(sealed.signature).toHaveLength(0);
    const options = { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(query.payload) };
    expect(openAnswer(sealed, trust.registry, { ...options, keyring: trust.borderKeyring }).status).toBe(AnswerStatus.NoHit);
    expect(openAnswer(sealed, trust.registry, { ...options, keyring: new PairKeyring(trust.coordinator, { side: "asker" }) }).status).toBe(AnswerStatus.NoHit);
    expect(codeOf(() => openAnswer(sealed, trust.registry, options))).toBe(ErrorCode.BadSignature);
  });

  it("cannot be forged by the coordinator: a no-hit it tags itself is refused by the border system", () => {
    const query = taggedQuery();
    const coordinatorKeyring = new PairKeyring(trust.coordinator, { side: "asker" });
    const forged = sealAnswer(answer(query), { identity: trustNode("DEU"), keyring: coordinatorKeyring, tagFor: [border], sign: false });
    const options = { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(query.payload), keyring: trust.borderKeyring };
    expect(codeOf(() => openAnswer({ ...forged, keyId: deuNode.keyId }, trust.registry, options))).toBe(ErrorCode.BadSignature);
  });

  it("from one country do not pass for another's", () => {
    const query = taggedQuery();
    const sealed = sealAnswer(answer(query), { identity: trustNode("DEU"), keyring: nodeKeyring("DEU"), tagFor: [border], sign: false });
    const options = { nowMs: Date.now(), expectedCountry: "ESP", expectedQueryDigest: sha256(query.payload), keyring: trust.borderKeyring };
    expect(codeOf(() => openAnswer({ ...sealed, keyId: espNode.keyId }, trust.registry, options))).toBe(ErrorCode.BadSignature);
  });
});

function trustNode(country: string) {
  const identity = trust.nodes.get(country);
  if (!identity) throw new Error(`no ${country} identity`);
  return identity;
}

describe("a node's answers", () => {
  const matcher: Matcher = {
    matchPerson: (person) =>
      person.names.includes("Jan Kowalski") ? [{ recordId: "rec-1", score: 0.97, category: "person", action: "discreet_check", matchedFeatures: ["name"] }] : [],
    matchEntity: () => [],
  };
  const service = () =>
    new MatchService({ identity: trustNode("DEU"), registry: () => trust.registry, matcher, referenceFor: (id) => `DEU-R-${id}`, logger: silentLogger() });
  const relayed = { relayed: true, relayKeyId: "" };

  it("are tagged for the requester and the named coordinator, and signed only when they are hits", () => {
    relayed.relayKeyId = trust.coordinator.keyId;
    const node = service();
    const noHitQuery = taggedQuery();
    const noHit = node.answer(noHitQuery, undefined, relayed);
    expect(noHit.signature).toHaveLength(0);
    expect(noHit.tags).toHaveLength(2 * PAIR_TAG_RECORD_BYTES);
    const hitQuery = signQuery(makeQuery({ person: personSubject({ names: ["Jan Kowalski"] }) }), trust.border, { tagFor: [deuNode], keyring: trust.borderKeyring });
    const hit = node.answer(hitQuery, undefined, relayed);
    expect(hit.signature).toHaveLength(64);
    // A hit is evidence anyone in the registry can check, e.g. the owner's notification inbox.
    expect(openAnswer(hit, trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(hitQuery.payload) }).status).toBe(AnswerStatus.Hit);
  });

  it("are signed when relayed by a coordinator without a registered key", () => {
    const node = service();
    const query = taggedQuery();
    const answerEnvelope = node.answer(query, undefined, { relayed: true, relayKeyId: "FRA:coordinator:unknown" });
    expect(answerEnvelope.signature).toHaveLength(64);
    expect(openAnswer(answerEnvelope, trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: sha256(query.payload) }).status).toBe(
      AnswerStatus.NoHit,
    );
  });

  it("refuse a hit to a query whose tag checks but whose signature does not", () => {
    const node = service();
    const hitQuery = signQuery(makeQuery({ person: personSubject({ names: ["Jan Kowalski"] }) }), trust.border, { tagFor: [deuNode], keyring: trust.borderKeyring });
    const broken = new Uint8Array(hitQuery.signature);
    broken[0] = (broken[0] ?? 0) ^ 0xff;
    const answered = node.answer({ ...hitQuery, signature: broken });
    const opened = openAnswer(answered, trust.registry, {
      nowMs: Date.now(),
      expectedCountry: "DEU",
      expectedQueryDigest: sha256(hitQuery.payload),
      keyring: trust.borderKeyring,
    });
    expect(opened).toMatchObject({ status: AnswerStatus.Refused, errorCode: ErrorCode.BadSignature, hits: [] });
  });
});

describe("a relay sending each country its own tag records", () => {
  it("splits a query's records by the country of their recipient key, leaving out records for no node", () => {
    const newDeuKey = createIdentity(MemberRole.Node, "DEU", "node-agency");
    const newDeu = { keyId: newDeuKey.keyId, country: "DEU", agency: "node-agency", role: MemberRole.Node, publicKey: newDeuKey.publicKey };
    const envelope = signQuery(makeQuery({ expiresAtMs: Date.now() + 60_000 }), trust.border, {
      tagFor: [deuNode, espNode, coordinator, newDeu],
      keyring: trust.borderKeyring,
    });
    const tags = envelope.tags ?? new Uint8Array(0);
    const router = new TagRouter([deuNode, espNode, newDeu]);
    const [deuRecords, espRecords] = router.group(tags, new Map([["DEU", 0], ["ESP", 1]]), 2);
    const records = new Map([["DEU", deuRecords], ["ESP", espRecords]]);
    // DEU's two keys (e.g. during a rotation) keep both their records, in order; the coordinator's is dropped.
    expect(records.get("DEU")).toEqual(new Uint8Array([...tags.subarray(0, 20), ...tags.subarray(60, 80)]));
    expect(records.get("ESP")).toEqual(tags.subarray(20, 40));
    // One group for both countries (a shard's message): every node record, in order; a country in no group gets nothing.
    expect(router.group(tags, new Map([["DEU", 0], ["ESP", 0]]), 1)).toEqual([new Uint8Array([...tags.subarray(0, 40), ...tags.subarray(60, 80)])]);
    expect(router.group(tags, new Map([["ESP", 0]]), 1)).toEqual([tags.subarray(20, 40)]);
    // The same records at an odd offset of a larger buffer (as a decoded request holds them).
    const shifted = new Uint8Array([7, ...tags]).subarray(1);
    expect(router.group(shifted, new Map([["DEU", 0], ["ESP", 1]]), 2)).toEqual([deuRecords, espRecords]);
    for (const country of ["DEU", "ESP"]) {
      const own = { ...envelope, tags: records.get(country), signature: new Uint8Array(0) };
      expect(openQuery(own, trust.registry, { nowMs: Date.now(), keyring: nodeKeyring(country) }).signatureVerified).toBe(false);
    }
    // ESP's records do not authenticate the query to DEU.
    const wrong = { ...envelope, tags: records.get("ESP"), signature: new Uint8Array(0) };
    expect(codeOf(() => openQuery(wrong, trust.registry, { nowMs: Date.now(), keyring: nodeKeyring("DEU") }))).toBe(ErrorCode.BadSignature);
  });

  it("encodes the envelope with the tags field appended as encodeEnvelope encodes it whole", () => {
    const { tags, ...untagged } = taggedQuery();
    const base = encodeEnvelope(untagged);
    const own = (tags ?? new Uint8Array(0)).subarray(0, PAIR_TAG_RECORD_BYTES);
    expect(withTagsField(base, own)).toEqual(encodeEnvelope({ ...untagged, tags: own }));
    const decoded = decodeEnvelope(withTagsField(base, own));
    expect([decoded.keyId, Buffer.from(decoded.payload), Buffer.from(decoded.signature), Buffer.from(decoded.tags ?? [])]).toEqual([
      untagged.keyId,
      Buffer.from(untagged.payload),
      Buffer.from(untagged.signature),
      Buffer.from(own),
    ]);
    expect(withTagsField(base, new Uint8Array(0))).toEqual(base);
  });
});
