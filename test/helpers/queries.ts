import { randomBytes, randomUUID } from "node:crypto";
import { AnswerStatus, Purpose, type MatchAnswer, type MatchQuery, type PersonQuery } from "../../common/proto.ts";

/** A person subject with every field present; give only what the test is about. */
export function personSubject(fields: Partial<PersonQuery> = {}): PersonQuery {
  return { names: [], dob: "", nationality: [], sex: "", documents: [], mrz: [], ...fields };
}

/**
 * A valid border-check query from the test trust's border system (FRA, "border-police"), living 30 s
 * from now, with a fresh id and nonce. Override what the test is about.
 */
export function makeQuery(overrides: Partial<MatchQuery> = {}): MatchQuery {
  const now = Date.now();
  return {
    queryId: randomUUID(),
    requestingCountry: "FRA",
    requestingAgency: "border-police",
    purpose: Purpose.BorderCheck,
    legalBasis: "test",
    issuedAtMs: now,
    expiresAtMs: now + 30_000,
    nonce: new Uint8Array(randomBytes(16)),
    requesterLocation: "",
    person: personSubject({ names: ["Jean Dupont"], dob: "1980-05-01" }),
    ...overrides,
  };
}

/** A DEU no-hit answer bound to `queryDigest`, with overrides. */
export function makeAnswer(queryDigest: Uint8Array, overrides: Partial<MatchAnswer> = {}): MatchAnswer {
  return {
    queryId: "q",
    respondingCountry: "DEU",
    status: AnswerStatus.NoHit,
    hits: [],
    errorCode: "",
    nodeElapsedUs: 10,
    answeredAtMs: Date.now(),
    queryDigest,
    ...overrides,
  };
}
