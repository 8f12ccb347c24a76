import { beforeAll, describe, expect, it } from "vitest";
import { openAnswer, openAnswerOutcome, openQuery, signAnswer, signQuery } from "../../common/envelope.ts";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { createIdentity, MemberRole } from "../../common/key-files.ts";
import { MAX_ENVELOPE_BYTES, QUERY_SUBJECT_LIMITS } from "../../common/limits.ts";
import { parseQueryJson } from "../../common/query-json.ts";
import { AnswerStatus, RequestedAction, type MatchAnswer, type MatchQuery } from "../../common/proto.ts";
import { sha256, SignatureDomain, signDetached } from "../../common/signing.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { makeAnswer, makeQuery, personSubject } from "../helpers/queries.ts";

let trust: TestTrust;
beforeAll(async () => {
  trust = await makeTrust(["DEU", "ESP"]);
});

function query(overrides: Partial<MatchQuery> = {}): MatchQuery {
  return makeQuery({ expiresAtMs: Date.now() + 60_000, ...overrides });
}

/** Expects `action` to throw a WatchmeshError with `code`, and gives it back for further checks. */
function expectCode(action: () => unknown, code: string, label?: string): WatchmeshError {
  try {
    action();
  } catch (error) {
    expect(error, label).toBeInstanceOf(WatchmeshError);
    expect((error as WatchmeshError).code, label).toBe(code);
    return error as WatchmeshError;
  }
  throw new Error(`${label ? `${label}: ` : ""}expected ${code}, nothing was thrown`);
}

describe("signed queries", () => {
  it("round-trips a query signed by a registered border system", () => {
    const sent = query();
    const opened = openQuery(signQuery(sent, trust.border), trust.registry, { nowMs: Date.now() });
    expect(opened.query.queryId).toBe(sent.queryId);
    expect(opened.query.person?.names).toEqual(["Jean Dupont"]);
    expect(opened.signer.country).toBe("FRA");
    expect(opened.digest).toHaveLength(32);
  });

  it("refuses a payload changed after signing", () => {
    const envelope = signQuery(query(), trust.border);
    const tampered = new Uint8Array(envelope.payload);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 0x01;
    expectCode(() => openQuery({ ...envelope, payload: tampered }, trust.registry, { nowMs: Date.now() }), ErrorCode.BadSignature);
  });

  it("refuses a signature made with another key under the border system's key id", () => {
    const impostor = createIdentity(MemberRole.Border, "FRA", "border-police");
    const envelope = signQuery(query(), impostor);
    expectCode(() => openQuery({ ...envelope, keyId: trust.border.keyId }, trust.registry, { nowMs: Date.now() }), ErrorCode.BadSignature);
  });

  it("refuses an unknown signer", () => {
    const stranger = createIdentity(MemberRole.Border, "FRA", "border-police");
    expectCode(() => openQuery(signQuery(query(), stranger), trust.registry, { nowMs: Date.now() }), ErrorCode.UnknownSigner);
  });

  it("refuses a signature from another domain (an answer signature replayed as a query)", () => {
    const envelope = signQuery(query(), trust.border);
    const crossDomain = signDetached(SignatureDomain.MatchAnswer, envelope.payload, trust.border.secretKey);
    expectCode(() => openQuery({ ...envelope, signature: crossDomain }, trust.registry, { nowMs: Date.now() }), ErrorCode.BadSignature);
  });

  it("refuses expired queries and queries from the future, tolerating the clock skew", () => {
    const now = Date.now();
    const expired = signQuery(query({ issuedAtMs: now - 120_000, expiresAtMs: now - 60_000 }), trust.border);
    expectCode(() => openQuery(expired, trust.registry, { nowMs: now }), ErrorCode.QueryExpired);
    const future = signQuery(query({ issuedAtMs: now + 120_000, expiresAtMs: now + 180_000 }), trust.border);
    expectCode(() => openQuery(future, trust.registry, { nowMs: now }), ErrorCode.QueryNotYetValid);
    const slightlyAhead = signQuery(query({ issuedAtMs: now + 5_000, expiresAtMs: now + 65_000 }), trust.border);
    expect(openQuery(slightlyAhead, trust.registry, { nowMs: now }).query.queryId).toBeTruthy();
  });

  it("refuses a requester country that differs from the signer's registration", () => {
    const envelope = signQuery(query({ requestingCountry: "DEU" }), trust.border);
    expectCode(() => openQuery(envelope, trust.registry, { nowMs: Date.now() }), ErrorCode.SignerMismatch);
  });

  it("refuses overlong lifetimes, short nonces and oversized payloads", () => {
    const now = Date.now();
    expectCode(
      () => openQuery(signQuery(query({ expiresAtMs: now + 3_600_000 }), trust.border), trust.registry, { nowMs: now }),
      ErrorCode.QueryLifetimeTooLong,
    );
    expectCode(
      () => openQuery(signQuery(query({ nonce: new Uint8Array(4) }), trust.border), trust.registry, { nowMs: now }),
      ErrorCode.MalformedMessage,
    );
    const huge = query({ person: personSubject({ names: ["x".repeat(MAX_ENVELOPE_BYTES)] }) });
    expectCode(() => openQuery(signQuery(huge, trust.border), trust.registry, { nowMs: now }), ErrorCode.PayloadTooLarge);
  });

  it("accepts the largest subject the JSON query format allows, and refuses any field beyond it with INVALID_ARGUMENT", () => {
    const now = Date.now();
    const open = (subject: Pick<MatchQuery, "person" | "entity">) => openQuery(signQuery(query({ person: undefined, ...subject }), trust.border), trust.registry, { nowMs: now });
    const name = (index: number) => `${"Ab ".repeat(66)}${index}`.slice(0, 200);
    const document = (index: number) => ({ number: `${index}`.padStart(64, "X"), country: "DEU" });
    const largestJson = parseQueryJson({
      name: name(0),
      names: Array.from({ length: 10 }, (_, index) => name(index + 1)),
      nationality: ["DEU", "FRA", "ESP", "ITA", "TUR"],
      document: document(0),
      documents: Array.from({ length: 5 }, (_, index) => document(index + 1)),
      mrz: `${"P<DEU".padEnd(99, "<")}\n${"C01".padEnd(100, "<")}`,
    });
    if (!("person" in largestJson)) throw new Error("expected a person");
    const largest = largestJson.person;
    expect(largest.names).toHaveLength(QUERY_SUBJECT_LIMITS.names);
    expect(largest.documents).toHaveLength(QUERY_SUBJECT_LIMITS.documents);
    expect(largest.mrz.join("").length).toBe(QUERY_SUBJECT_LIMITS.mrzLength - 1);
    expect(open({ person: largest }).query.person?.names).toEqual(largest.names);
    const entity = parseQueryJson({ entity: { type: "t".repeat(32), value: "v".repeat(512) } });
    if (!("entity" in entity)) throw new Error("expected an entity");
    expect(open({ entity: entity.entity }).query.entity).toEqual(entity.entity);

    const beyond: [string, Partial<typeof largest>][] = [
      ["names", { names: [...largest.names, "Jean Dupont"] }],
      ["names", { names: ["Jean Dupont", "x".repeat(201)] }],
      ["nationality", { nationality: [...largest.nationality, "GRC"] }],
      ["documents", { documents: [...largest.documents, { type: "passport", ...document(9) }] }],
      ["documents", { documents: [{ type: "passport", number: "9".repeat(65), country: "DEU" }] }],
      ["mrz", { mrz: [...largest.mrz, "<<"] }],
    ];
    for (const [field, change] of beyond) {
      const refusal = expectCode(() => open({ person: { ...largest, ...change } }), ErrorCode.InvalidArgument, field);
      expect(refusal.message, field).toContain(`query field ${field}`);
    }
    expectCode(() => open({ entity: { type: "phone", value: "1".repeat(513) } }), ErrorCode.InvalidArgument);
    expectCode(() => open({ entity: { type: "p".repeat(33), value: "1" } }), ErrorCode.InvalidArgument);
  });

  it("refuses a node-role signer where only border systems may ask", () => {
    const node = trust.nodes.get("DEU");
    if (!node) throw new Error("missing node identity");
    const envelope = signQuery(query({ requestingCountry: "DEU", requestingAgency: "node-agency" }), node);
    expectCode(() => openQuery(envelope, trust.registry, { nowMs: Date.now(), roles: [MemberRole.Border] }), ErrorCode.RoleNotAllowed);
  });
});

describe("signed answers", () => {
  const digest = sha256(new Uint8Array([1, 2, 3]));
  const answer = (overrides: Partial<MatchAnswer> = {}): MatchAnswer => makeAnswer(digest, overrides);
  const deu = () => trust.nodes.get("DEU") ?? (() => { throw new Error("missing"); })();

  it("verifies an answer from the expected country bound to the query", () => {
    const opened = openAnswer(signAnswer(answer(), deu()), trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: digest });
    expect(opened.status).toBe(AnswerStatus.NoHit);
  });

  it("rejects an answer signed by another country, or bound to another query", () => {
    expectCode(
      () => openAnswer(signAnswer(answer(), deu()), trust.registry, { nowMs: Date.now(), expectedCountry: "ESP", expectedQueryDigest: digest }),
      ErrorCode.SignerMismatch,
    );
    expectCode(
      () =>
        openAnswer(signAnswer(answer(), deu()), trust.registry, {
          nowMs: Date.now(),
          expectedCountry: "DEU",
          expectedQueryDigest: sha256(new Uint8Array([9])),
        }),
      ErrorCode.AnswerInvalid,
    );
  });

  it("rejects a no-hit forged by flipping a signed hit", () => {
    const signed = signAnswer(answer({ status: AnswerStatus.Hit }), deu());
    const forged = signAnswer(answer({ status: AnswerStatus.NoHit }), trust.border);
    expectCode(
      () => openAnswer({ ...forged, keyId: signed.keyId }, trust.registry, { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: digest }),
      ErrorCode.BadSignature,
    );
  });

  it("read by a border client (openAnswerOutcome) give what openAnswer gives, and fail with the same codes", () => {
    const hit = { reference: "DEU-R-1", score: 0.95, category: "person", action: RequestedAction.DiscreetCheck, matchedFeatures: ["name", "dob"] };
    const answers = [
      answer(),
      answer({ status: AnswerStatus.Hit, hits: [hit, { ...hit, reference: "DEU-R-2", matchedFeatures: [] }] }),
      answer({ status: AnswerStatus.Refused, errorCode: ErrorCode.PolicyPurposeDenied }),
    ];
    const options = { nowMs: Date.now(), expectedCountry: "DEU", expectedQueryDigest: digest };
    for (const signed of answers.map((each) => signAnswer(each, deu()))) {
      const full = openAnswer(signed, trust.registry, options);
      expect(openAnswerOutcome(signed, trust.registry, options)).toEqual({ status: full.status, errorCode: full.errorCode, hits: full.hits });
    }
    const signed = signAnswer(answer(), deu());
    const failures: [typeof signed, typeof options][] = [
      [signed, { ...options, expectedCountry: "ESP" }],
      [signed, { ...options, expectedQueryDigest: sha256(new Uint8Array([9])) }],
      [{ ...signed, keyId: "" }, options],
      [{ ...signed, keyId: "DEU:node:0000000000000000" }, options],
      [{ ...signed, signature: signAnswer(answer(), trust.border).signature }, options],
      [{ ...signed, payload: new Uint8Array(MAX_ENVELOPE_BYTES + 1) }, options],
    ];
    for (const [envelope, failing] of failures) {
      let expected = "";
      try {
        openAnswer(envelope, trust.registry, failing);
      } catch (error) {
        expected = (error as WatchmeshError).code;
      }
      expect(expected).not.toBe("");
      expectCode(() => openAnswerOutcome(envelope, trust.registry, failing), expected);
    }
  });
});
