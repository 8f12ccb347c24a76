/**
 * Feeds the personal data of real-looking queries through every path of a mesh (hits, no-hits, refusals,
 * invalid content, a coordinator rejection, a batch, a hit notification and a follow-up round trip) and
 * proves that none of it reaches an exported span, a log line or a metric. Spans go through the project's
 * SDK set-up (startTelemetry, in-memory), logs through pino at level "trace" into memory, metrics through
 * the coordinator's and every node's MetricsRegistry.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { context, propagation, trace } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import anyAscii from "any-ascii";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectFollowupReplies, requestFollowup } from "../../client/followup-client.ts";
import type { BatchCheckResult, CheckResult, CheckSubject } from "../../client/border-client.ts";
import { signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { createLogger } from "../../common/logger.ts";
import { MetricsRegistry } from "../../common/metrics.ts";
import { mrzCheckDigit } from "../../common/mrz.ts";
import { connectNats } from "../../common/nats-connection.ts";
import { FollowupDecision } from "../../common/proto.ts";
import { startTelemetry, type RunningTelemetry } from "../../common/telemetry-sdk.ts";
import { CoordinatorMetrics } from "../../coordinator/index.ts";
import { decideFollowup, SharingPolicy, type EntityRecord, type PersonRecord } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";
import { unitVector, withNoise } from "../helpers/vectors.ts";

// ---------------------------------------------------------------------------------------------------
// The personal data. Names are chosen so that every ASCII form of a name token has at least 5 letters
// and is not made of hex digits only: a 3-letter Latin token could turn up by chance in a digest,
// trace id or base32 reference. Dates and numbers are long enough not to occur by coincidence.

const FACE_MODEL = "arcface-r100-v1";
const face = unitVector(4711, 512);
const strangerFace = unitVector(815, 512);
const faceProbe = withNoise(face, 99, 0.3);

/** A Prüm STR profile with microvariants, so that its allele pairs are distinctive strings. */
const dnaProfile: Record<string, (number | string)[]> = {
  D3S1358: [15, 16], VWA: [17, 18], D8S1179: [13, 14], D21S11: [29, 30.2], D18S51: [14, 17], TH01: [6, 9.3],
  FGA: [21, 23], D1S1656: [12, 15.3], D2S441: [10, 11], D10S1248: [13, 15], D12S391: [18, 20], D22S1045: [15, 16],
};
const dnaLoci = (profile: Record<string, (number | string)[]>): Record<string, string> =>
  Object.fromEntries(Object.entries(profile).map(([locus, alleles]) => [locus, alleles.join(",")]));

/** A TD3 passport MRZ with correct check digits. */
function td3(fields: { surname: string; given: string; state: string; number: string; nationality: string; dob: string; sex: string; expiry: string }): [string, string] {
  const cd = (s: string): string => String(mrzCheckDigit(s));
  const number = fields.number.padEnd(9, "<");
  const personal = "<".repeat(14);
  const upper = `${number}${cd(number)}${fields.nationality}${fields.dob}${cd(fields.dob)}${fields.sex}${fields.expiry}${cd(fields.expiry)}${personal}${cd(personal)}`;
  const composite = cd(upper.slice(0, 10) + upper.slice(13, 20) + upper.slice(21, 43));
  return [`P<${fields.state}${fields.surname}<<${fields.given}`.padEnd(44, "<"), upper + composite];
}

const jerome: PersonRecord = {
  kind: "person",
  id: "DEU-P-1",
  names: ["Jérôme Dûchâtelet-Fauré"],
  dob: "1983-11-27",
  nationality: ["FRA"],
  sex: "M",
  documents: [{ type: "passport", number: "X7Q4M2R9K", country: "FRA" }],
  action: "specific_check",
};
const miroslava: PersonRecord = {
  kind: "person",
  id: "DEU-P-2",
  names: ["Мирослава Кузнецова-Бойко"],
  dob: "1991-02-19",
  nationality: ["UKR"],
  sex: "F",
  documents: [{ type: "passport", number: "FX418263", country: "UKR" }],
  action: "discreet_check",
};
const abdulrahman: PersonRecord = {
  kind: "person",
  id: "DEU-P-3",
  names: ["عبد الرحمن الحسيني"],
  dob: "1975-08-09",
  nationality: ["JOR"],
  sex: "M",
  action: "inform_owner",
};
const phone: EntityRecord = { kind: "entity", id: "DEU-E-1", type: "phone", value: "+49 151 23456789", action: "inform_owner" };
const email: EntityRecord = { kind: "entity", id: "DEU-E-2", type: "email", value: "m.kuznetsova-boiko@example.org", action: "inform_owner" };
const itziar: PersonRecord = {
  kind: "person",
  id: "ESP-P-1",
  names: ["Itziar Etxeberria-Goikoetxea"],
  dob: "1988-06-04",
  sex: "F",
  dna: dnaProfile,
  face: { model: FACE_MODEL, vector: face },
  action: "arrest",
};
/** Nobody's record: a no-hit everywhere. */
const thorhildur = { names: ["Þórhildur Guðmundsdóttir"], dob: "1969-03-14", documents: [{ type: "id_card", number: "ZR5508914", country: "ISL" }] };

const jeromeMrz = td3({ surname: "DUCHATELET<FAURE", given: "JEROME", state: "FRA", number: "X7Q4M2R9K", nationality: "FRA", dob: "831127", sex: "M", expiry: "330915" });
/** The same MRZ with a wrong document number check digit: refused as invalid content. */
const brokenMrz: [string, string] = [jeromeMrz[0], `${jeromeMrz[1].slice(0, 9)}${(Number(jeromeMrz[1][9]) + 1) % 10}${jeromeMrz[1].slice(10)}`];

const typedPhone = "+49 151 2345 6789";
const typedEmail = "M.Kuznetsova-Boiko@Example.org";

// ---------------------------------------------------------------------------------------------------
// What must never appear, and how it is searched for.

interface Secret {
  what: string;
  value: string;
  /** Digit strings and allele pairs are matched only between non-digits, so "19831127" is not found in "0.0198311274". */
  bounded?: boolean;
}

function nameSecrets(name: string): Secret[] {
  const forms = new Set<string>();
  for (const form of [name, name.normalize("NFD").replace(/\p{M}/gu, ""), anyAscii(name)]) {
    forms.add(form);
    forms.add(form.toLowerCase());
    for (const token of form.split(/[^\p{L}]+/u)) if (token.length >= 3) forms.add(token);
  }
  return [...forms].map((value) => ({ what: `name ${name}`, value }));
}

function dateSecrets(iso: string): Secret[] {
  const compact = iso.replaceAll("-", "");
  const [year, month, day] = iso.split("-") as [string, string, string];
  // YYMMDD as in an MRZ, DD.MM.YYYY and DD/MM/YYYY as typed at a counter.
  return [iso, compact, compact.slice(2), `${day}.${month}.${year}`, `${day}/${month}/${year}`].map((value) => ({ what: `date ${iso}`, value, bounded: /^\d+$/.test(value) }));
}

const SECRETS: Secret[] = [
  ...[...jerome.names, ...miroslava.names, ...abdulrahman.names, ...itziar.names, ...thorhildur.names].flatMap(nameSecrets),
  // Arabic names are often matched without their article.
  ...["رحمن", "حسيني"].map((value) => ({ what: "name token without article", value })),
  ...[jerome.dob, miroslava.dob, abdulrahman.dob, itziar.dob, thorhildur.dob].flatMap((dob) => dateSecrets(dob ?? "")),
  ...["X7Q4M2R9K", "x7q4 m2r-9k", "FX418263", "ZR5508914"].map((value) => ({ what: "document number", value })),
  ...[...jeromeMrz, ...brokenMrz].map((value) => ({ what: "MRZ line", value })),
  ...["DUCHATELET<FAURE", "DUCHATELET<FAURE<<JEROME", jeromeMrz[1].slice(0, 10), jeromeMrz[1].slice(13, 20)].map((value) => ({ what: "MRZ part", value })),
  ...["+4915123456789", typedPhone, phone.value, "015123456789", "4915123456789", "15123456789"].map((value) => ({ what: "phone", value, bounded: /^\+?\d+$/.test(value) })),
  ...[email.value, typedEmail, "m.kuznetsova-boiko", "kuznetsova-boiko@"].map((value) => ({ what: "e-mail", value })),
  // Allele pairs with a microvariant are distinctive; plain pairs such as "15,16" are not.
  ...["29,30.2", "6,9.3", "12,15.3"].map((value) => ({ what: "DNA alleles", value, bounded: true })),
  // Components as JSON or String() writes them (17 significant digits), and as float32 would store them.
  ...[...face, ...faceProbe, ...strangerFace].map((x) => ({ what: "face embedding", value: String(x) })),
  ...face.slice(0, 32).map((x) => ({ what: "face embedding (float32)", value: String(Math.fround(x)) })),
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const SEARCHES = SECRETS.map((secret) => ({
  secret,
  pattern: secret.bounded
    ? new RegExp(`(?<![\\d.])${escapeRegExp(secret.value.normalize("NFC").toLowerCase())}(?![\\d])`, "u")
    : undefined,
  needle: secret.value.normalize("NFC").toLowerCase(),
}));

interface Leak {
  what: string;
  value: string;
  /** The captured text it was found in (shortened). */
  in: string;
}

/** Every secret found in the texts: compared in NFC and lower case, so "DUCHATELET" or a decomposed "é" count. */
function findLeaks(texts: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  for (const text of texts) {
    const haystack = text.normalize("NFC").toLowerCase();
    for (const { secret, pattern, needle } of SEARCHES) {
      if (pattern ? pattern.test(haystack) : haystack.includes(needle)) leaks.push({ what: secret.what, value: secret.value, in: text.slice(0, 400) });
    }
  }
  return leaks;
}

/** A span as an exporter would send it, as text: name, kind, attributes, events, links, status, resource. */
function spanText(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    kind: span.kind,
    attributes: span.attributes,
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes ?? {} })),
    links: span.links.map((link) => link.attributes ?? {}),
    status: span.status,
    resource: span.resource.attributes,
    scope: span.instrumentationScope,
  });
}

/** A log line, and again with JSON escapes undone (a "\u0416" must not hide a Cyrillic name). */
function logTexts(line: string): string[] {
  try {
    return [line, JSON.stringify(JSON.parse(line))];
  } catch {
    return [line];
  }
}

// ---------------------------------------------------------------------------------------------------
// The mesh, the capture and the traffic.

const COUNTRIES = ["DEU", "ESP", "TUR"] as const;
const logLines: string[] = [];
const coordinatorRegistry = new MetricsRegistry();
const nodeRegistries = new Map<string, MetricsRegistry>(COUNTRIES.map((country) => [country, new MetricsRegistry()]));

let telemetry: RunningTelemetry | undefined;
let mesh: TestMesh | undefined;
let meshStopped: Promise<void> | undefined;
let connection: NatsConnection | undefined;

const notificationsHandled = new Map<string, { stored: boolean; code?: string }>();
const followupsHandled: { requestId: string; stored: boolean; code?: string }[] = [];
const waiters: (() => void)[] = [];
const wake = (): void => {
  for (const waiter of waiters.splice(0)) waiter();
};
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((resolve) => waiters.push(resolve));
}

const traffic: {
  singles: Record<string, CheckResult>;
  batch?: BatchCheckResult;
  rejectedCode?: string;
  followupDecision?: FollowupDecision;
  followupDetails?: unknown;
} = { singles: {} };

// Collected after the mesh stopped, so that shutdown logs are in too.
let spans: ReadableSpan[] = [];
let metricsTexts: string[] = [];

function stopMesh(): Promise<void> {
  meshStopped ??= (async () => {
    await connection?.close();
    await mesh?.stop();
  })();
  return meshStopped;
}

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: "watchmesh-privacy-test", collectSpansInMemory: true });
  const logger = createLogger({ component: "test-mesh", level: "trace", destination: { write: (line: string) => void logLines.push(line) } });
  mesh = await startTestMesh({
    countries: [...COUNTRIES],
    records: { DEU: [jerome, miroslava, abdulrahman, phone, email], ESP: [itziar] },
    jetstream: true,
    logger,
    coordinatorOptions: { metrics: new CoordinatorMetrics(coordinatorRegistry) },
    nodeOptions: (country) => ({
      ...(nodeRegistries.get(country) ? { metricsRegistry: nodeRegistries.get(country) } : {}),
      onNotificationHandled: (outcome) => {
        notificationsHandled.set(outcome.notificationId, outcome);
        wake();
      },
      onFollowupHandled: (outcome) => {
        followupsHandled.push(outcome);
        wake();
      },
    }),
  });
  // TUR shares only with Spain: every French query is refused there (a policy denial on each check).
  mesh.nodes.get("TUR")?.updateSharingPolicy(
    SharingPolicy.parse(JSON.stringify({ format: "watchmesh-sharing-policy/v1", rules: [{ countries: ["ESP"], agencies: ["border-police"], purposes: ["border_check"], categories: ["person"] }] })),
  );
  const { client } = mesh;
  const checks: Record<string, CheckSubject> = {
    latin: { person: { names: jerome.names, dob: jerome.dob ?? "", nationality: ["FRA"], sex: "M", documents: [{ type: "passport", number: "x7q4 m2r-9k", country: "FRA" }] } },
    mrz: { person: { mrz: jeromeMrz } },
    cyrillic: { person: { names: miroslava.names, dob: miroslava.dob ?? "", documents: [{ type: "passport", number: "FX418263", country: "UKR" }] } },
    arabic: { person: { names: abdulrahman.names, dob: abdulrahman.dob ?? "" } },
    phone: { entity: { type: "phone", value: typedPhone } },
    email: { entity: { type: "email", value: typedEmail } },
    dna: { person: { dna: { loci: dnaLoci(dnaProfile), markerSet: "" } } },
    face: { person: { face: { model: FACE_MODEL, embedding: faceProbe } } },
    strangerFace: { person: { face: { model: FACE_MODEL, embedding: strangerFace } } },
    nobody: { person: thorhildur },
    // Invalid content: the nodes refuse or fail these, and must not quote them while doing so.
    brokenMrz: { person: { mrz: brokenMrz } },
    brokenDna: { person: { dna: { loci: { ...dnaLoci(dnaProfile), D21S11: "29,30.2,31" }, markerSet: "" } } },
    brokenEmail: { entity: { type: "email", value: "kuznetsova-boiko@" } },
  };
  for (const [label, subject] of Object.entries(checks)) traffic.singles[label] = await client.check(subject, { location: "FRA-BORDER-POST-17", legalBasis: "Art. 36 CISA" });

  traffic.batch = await client.checkBatch([checks["cyrillic"], checks["arabic"], checks["email"], checks["nobody"], checks["dna"]].filter((subject) => subject !== undefined));

  // A query the coordinator itself rejects (expired), carrying personal data.
  const now = Date.now();
  const expired = makeQuery({ issuedAtMs: now - 200_000, expiresAtMs: now - 100_000, person: personSubject({ names: miroslava.names, dob: miroslava.dob ?? "" }) });
  traffic.rejectedCode = await mesh.coordinator.check(signQuery(expired, mesh.trust.border)).then(
    () => "none",
    (error: unknown) => (error as { code?: string }).code ?? "unknown",
  );

  // The owner is notified of the Latin-script hit; then a follow-up asks for and receives the details.
  const latin = traffic.singles["latin"];
  const reference = latin?.results.find((result) => result.country === "DEU")?.hits[0]?.reference ?? "";
  if (!latin || !reference) throw new Error("the Latin-script check did not hit DEU");
  await until(() => notificationsHandled.has(`${latin.queryId}:DEU`));
  connection = await connectNats({ servers: mesh.nats.url, name: "test-requester" });
  const request = await requestFollowup({ connection, identity: mesh.trust.border, reference, queryId: latin.queryId, justification: "case 2026/4711, art. 10" });
  await until(() => followupsHandled.some((outcome) => outcome.requestId === request.requestId));
  const deu = mesh.nodes.get("DEU");
  const identity = mesh.trust.nodes.get("DEU");
  if (!deu?.followups || !identity) throw new Error("DEU is not receiving follow-ups");
  await decideFollowup({ requestId: request.requestId, decision: "approve", followups: deu.followups.store, records: deu.store, identity, registry: mesh.trust.registry, connection });
  const [received] = await collectFollowupReplies({ connection, identity: mesh.trust.border, registry: mesh.trust.registry });
  traffic.followupDecision = received?.reply.decision;
  traffic.followupDetails = received?.details;

  // Rendered before the stop (record gauges sample the open store), spans and logs after it.
  metricsTexts = [coordinatorRegistry.render(), ...[...nodeRegistries.values()].map((registry) => registry.render())];
  await stopMesh();
  spans = telemetry.finishedSpans();
}, 90_000);

afterAll(async () => {
  await stopMesh();
  await telemetry?.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const statusIn = (result: CheckResult | undefined, country: string): string | undefined => result?.results.find((r) => r.country === country)?.status;

describe("no personal data in spans, logs or metrics", () => {
  it("fed the personal data through hits, no-hits, refusals, invalid content, a rejection, a batch, a notification and a follow-up", () => {
    const { singles } = traffic;
    for (const label of ["latin", "mrz", "cyrillic", "arabic", "phone", "email"]) expect(statusIn(singles[label], "DEU"), label).toBe("hit");
    for (const label of ["dna", "face"]) expect(statusIn(singles[label], "ESP"), label).toBe("hit");
    for (const label of ["strangerFace", "nobody"]) {
      expect(statusIn(singles[label], "DEU"), label).toBe("no_hit");
      expect(statusIn(singles[label], "ESP"), label).toBe("no_hit");
    }
    for (const result of Object.values(singles)) expect(result.results.find((r) => r.country === "TUR")).toMatchObject({ status: "refused", errorCode: ErrorCode.PolicyRequesterDenied });
    for (const label of ["brokenMrz", "brokenDna", "brokenEmail"]) expect(["refused", "error"], label).toContain(statusIn(singles[label], "DEU"));
    expect(traffic.batch?.travellers.map((traveller) => traveller.results.map((r) => `${r.country}:${r.status}`).join(" "))).toEqual([
      "DEU:hit ESP:no_hit TUR:refused",
      "DEU:hit ESP:no_hit TUR:refused",
      "DEU:hit ESP:no_hit TUR:refused",
      "DEU:no_hit ESP:no_hit TUR:refused",
      "DEU:no_hit ESP:hit TUR:refused",
    ]);
    expect(traffic.rejectedCode).toBe(ErrorCode.QueryExpired);
    expect(traffic.followupDecision).toBe(FollowupDecision.Approved);
    // The details did travel (sealed): personal data went through the follow-up path.
    expect(traffic.followupDetails).toMatchObject({ names: jerome.names, dob: jerome.dob });
  });

  it("captured spans of the client, the coordinator and every node, log lines of every component, and metrics", () => {
    const names = new Set(spans.map((span) => span.name));
    for (const name of ["watchmesh.client.check", "watchmesh.client.check_batch", "watchmesh.coordinator.check", "watchmesh.coordinator.check_batch", "watchmesh.node.match", "watchmesh.node.batch"]) {
      expect(names, name).toContain(name);
    }
    const matchCountries = new Set(spans.filter((span) => span.name === "watchmesh.node.match").map((span) => span.attributes["watchmesh.country"]));
    expect(matchCountries).toEqual(new Set(COUNTRIES));
    // Trace context crossed gRPC and NATS: the nodes' spans belong to the client's trace.
    const latinTrace = traffic.singles["latin"]?.traceId ?? "";
    expect(latinTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(spans.filter((span) => span.spanContext().traceId === latinTrace && span.name === "watchmesh.node.match")).toHaveLength(COUNTRIES.length);

    const messages = logLines.map((line) => JSON.parse(line) as { msg?: string; country?: string });
    for (const msg of ["country node started", "coordinator started", "query answered", "query refused", "check completed", "check rejected", "batch check completed", "follow-up request received", "country node stopped"]) {
      expect(messages.some((message) => message.msg === msg), msg).toBe(true);
    }
    expect(new Set(messages.map((message) => message.country).filter(Boolean))).toEqual(new Set(COUNTRIES));

    const [coordinatorText, ...nodeTexts] = metricsTexts;
    expect(coordinatorText).toMatch(/^watchmesh_coordinator_checks_total\{outcome="completed"\} 13$/m);
    // DEU's hits over the single checks and the batch's travellers, as the border client saw them.
    const deuHits = [...Object.values(traffic.singles), ...(traffic.batch?.travellers ?? [])].filter(
      (check) => check.results.find((result) => result.country === "DEU")?.status === "hit",
    ).length;
    expect(deuHits).toBeGreaterThan(6);
    expect(coordinatorText).toMatch(new RegExp(`^watchmesh_coordinator_country_results_total\\{country="DEU",status="hit"\\} ${deuHits}$`, "m"));
    expect(nodeTexts).toHaveLength(COUNTRIES.length);
    for (const text of nodeTexts) expect(text).toMatch(/^watchmesh_node_queries_total\{status="(hit|no_hit|refused)"\} [1-9]/m);
  });

  it("finds every personal value when it is present, in the forms a leak would take", () => {
    // Each secret, quoted in a JSON log line, is found; so is each subject as JSON (a logged query).
    for (const secret of SECRETS) expect(findLeaks([JSON.stringify({ msg: "x", value: secret.value })]), secret.value).not.toEqual([]);
    for (const subject of [jerome, miroslava, abdulrahman, itziar, phone, email, thorhildur, { mrz: jeromeMrz }, { loci: dnaLoci(dnaProfile) }, { embedding: faceProbe }]) {
      expect(findLeaks([JSON.stringify(subject)]), JSON.stringify(subject).slice(0, 60)).not.toEqual([]);
    }
    // Coincidences do not count: a date inside a longer number, allele digits inside a float.
    expect(findLeaks(['{"sum":0.0198311274,"x":"1198311270","y":0.129,30.21}'])).toEqual([]);
  });

  it("no span name, attribute, event, link or status holds personal data", () => {
    expect(findLeaks(spans.map(spanText))).toEqual([]);
  });

  it("no log line holds personal data", () => {
    expect(findLeaks(logLines.flatMap(logTexts))).toEqual([]);
  });

  it("no metric name, label or help text holds personal data", () => {
    expect(findLeaks(metricsTexts)).toEqual([]);
  });
});
