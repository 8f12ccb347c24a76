/**
 * Fuzzing with a fixed seed: over 100,000 cases of random and mutated envelopes, protobufs and NDJSON
 * lines. A node's MatchService (answerBytes, as the NATS responder calls it) gets random bytes, mutated
 * signed queries, envelopes with random fields, replays, and properly signed queries full of hostile
 * values; the record importer gets valid, mutated, misshapen, binary and oversized lines; the
 * coordinator's gRPC Check gets random, mutated and odd CheckRequests. Nothing crashes or hangs, every
 * answer is a signed status with a known error code (or a gRPC status with one), and neither node's
 * records nor their index change.
 */
import { Readable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckSubject } from "../../client/border-client.ts";
import { ERROR_CODE_METADATA_KEY, isErrorCode } from "../../common/errors.ts";
import { MAX_RECORD_LINE_BYTES } from "../../common/limits.ts";
import { AnswerStatus, decodeMatchAnswer, encodeEnvelope, watchmeshGrpcPackage, type MatchAnswer } from "../../common/proto.ts";
import { generateSampleRecords, importNdjson, RecordStore, type MatchService, type NativeRecord } from "../../node/index.ts";
import { concatBytes, Fuzzer, lengthDelimited, varintField } from "../helpers/fuzz.ts";
import { countingStore, noStoreReads } from "../helpers/counting-store.ts";
import { matchServiceFor } from "../helpers/match-service.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { openStoreReader } from "../helpers/store-check.ts";
import { reportFigure } from "../helpers/report.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { runBounded } from "../helpers/wait.ts";

const SEED = 20_261_203;
const NODE_CASES = 90_000;
const IMPORT_LINES = 12_000;
const GRPC_CASES = 2_000;
/**
 * No single case may make the node read more than this from its store (index keys, key counts and
 * records): work counted, not timed. This seed's heaviest case reads 833; before QUERY_SUBJECT_LIMITS
 * its 2,000-character names read up to 45,000. (A subject crafted within the limits can still read far
 * more — README, "JSON query format" — which this fuzz does not generate.)
 */
const MAX_CASE_STORE_READS = 3_000;

const sample: NativeRecord[] = generateSampleRecords({ country: "DEU", persons: 300, entities: 100, seed: 11 });
const knownPerson = sample.find((record) => record.kind === "person" && (record.documents?.length ?? 0) > 0);

let mesh: TestMesh | undefined;
let temp: { path: string; remove: () => Promise<void> } | undefined;
let store: RecordStore | undefined;
let importStore: RecordStore | undefined;
let service: MatchService | undefined;
/** The store reads of the fuzzed node's answers (reset before each case). */
const caseReads = noStoreReads();
const readers: { close(): Promise<void> }[] = [];
const figures: string[] = [];

beforeAll(async () => {
  mesh = await startTestMesh({ countries: ["DEU", "ESP"], records: { DEU: sample.slice(0, 100) }, defaultDeadlineMs: 400 });
  temp = await makeTempDir("watchmesh-fuzz-");
  store = await RecordStore.open({ path: `${temp.path}/node`, defaultRegion: "DEU" });
  await importNdjson(store, { stream: Readable.from([sample.map((record) => JSON.stringify(record)).join("\n")]) });
  importStore = await RecordStore.open({ path: `${temp.path}/import` });
  const identity = mesh.trust.nodes.get("DEU");
  if (!identity) throw new Error("no DEU identity");
  service = matchServiceFor({ identity, registry: mesh.trust.registry, store: countingStore(store, caseReads) });
}, 30_000);

afterAll(async () => {
  await mesh?.stop();
  await store?.close();
  await importStore?.close();
  // Read-only handles last: they share the environments with the stores above.
  for (const reader of readers) await reader.close();
  await temp?.remove();
  for (const figure of figures) reportFigure(figure);
}, 30_000);

const KNOWN_STATUSES = new Set<string>([AnswerStatus.Hit, AnswerStatus.NoHit, AnswerStatus.Refused, AnswerStatus.Error]);

function realSubject(fuzz: Fuzzer): CheckSubject {
  const person = knownPerson?.kind === "person" ? knownPerson : undefined;
  return fuzz.chance(0.5) && person
    ? { person: { names: person.names, dob: person.dob ?? "", documents: person.documents ?? [] } }
    : { person: { names: ["Nobody Atall"], dob: "1999-09-09" } };
}

describe("fuzzing with a fixed seed", () => {
  it(`answers ${NODE_CASES} random and mutated messages at the node with signed answers and known codes, and leaves the store unchanged`, () => {
    if (!mesh || !service || !store) throw new Error("set-up failed");
    const fuzz = new Fuzzer(SEED);
    const client = mesh.client;
    const reader = openStoreReader(store.path);
    readers.push(reader);
    const before = reader.snapshot();
    const generationBefore = store.stats().generation;
    expect(before.problems).toEqual([]);
    const border = mesh.trust.border;
    const keyIds = [border.keyId, mesh.trust.nodes.get("DEU")?.keyId ?? "", mesh.trust.nodes.get("ESP")?.keyId ?? "", "", "FRA:border:00000000"];
    // Signed queries to mutate: odd subjects and real ones.
    const pool = Array.from({ length: 64 }, (_, i) => {
      const { envelope } = client.buildQuery(i % 4 === 0 ? realSubject(fuzz) : fuzz.subject());
      return { envelope, bytes: encodeEnvelope(envelope) };
    });
    const kinds = new Map<string, number>();
    const outcomes = new Map<string, number>();
    const kindMs = new Map<string, number>();
    const bad: string[] = [];
    let slowestCpuMs = 0;
    let mostReads = { reads: 0, kind: "" };
    const started = performance.now();
    for (let i = 0; i < NODE_CASES; i++) {
      const roll = fuzz.float();
      let kind: string;
      let bytes: Uint8Array;
      if (roll < 0.2) {
        kind = "random bytes";
        bytes = fuzz.bytes(fuzz.chance(0.001) ? 70_000 : fuzz.int(400));
      } else if (roll < 0.7) {
        kind = "mutated envelope";
        bytes = fuzz.mutate(fuzz.pick(pool).bytes);
      } else if (roll < 0.85) {
        kind = "random envelope fields";
        const base = fuzz.pick(pool).envelope;
        bytes = encodeEnvelope({
          payload: fuzz.chance(0.5) ? fuzz.mutate(base.payload) : fuzz.chance(0.5) ? base.payload : fuzz.bytes(fuzz.int(300)),
          keyId: fuzz.chance(0.7) ? fuzz.pick(keyIds) : fuzz.text(30),
          signature: fuzz.chance(0.5) ? fuzz.mutate(base.signature) : fuzz.bytes(fuzz.pick([0, 63, 64, 65, 128])),
        });
      } else if (roll < 0.94) {
        kind = "replayed envelope";
        bytes = fuzz.pick(pool).bytes;
      } else {
        kind = "signed hostile query";
        bytes = encodeEnvelope(client.buildQuery(fuzz.subject()).envelope);
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const caseStarted = performance.now();
      const cpuStarted = process.cpuUsage();
      Object.assign(caseReads, noStoreReads());
      let answer: MatchAnswer;
      try {
        answer = decodeMatchAnswer(service.answerBytes(bytes).payload);
      } catch (error) {
        bad.push(`case ${i} (${kind}): threw ${String(error)}`);
        continue;
      }
      const caseMs = performance.now() - caseStarted;
      const cpu = process.cpuUsage(cpuStarted);
      slowestCpuMs = Math.max(slowestCpuMs, (cpu.user + cpu.system) / 1000);
      const reads = caseReads.records + caseReads.indexKeys + caseReads.keyCounts;
      if (reads > mostReads.reads) mostReads = { reads, kind };
      kindMs.set(kind, (kindMs.get(kind) ?? 0) + caseMs);
      const label = answer.errorCode ? `${answer.status}:${answer.errorCode}` : String(answer.status);
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
      if (!KNOWN_STATUSES.has(answer.status)) bad.push(`case ${i} (${kind}): status ${answer.status}`);
      if (answer.respondingCountry !== "DEU") bad.push(`case ${i} (${kind}): answered as ${answer.respondingCountry}`);
      const refusedOrError = answer.status === AnswerStatus.Refused || answer.status === AnswerStatus.Error;
      if (refusedOrError !== (answer.errorCode !== "")) bad.push(`case ${i} (${kind}): status ${answer.status} with code "${answer.errorCode}"`);
      if (answer.errorCode && !isErrorCode(answer.errorCode)) bad.push(`case ${i} (${kind}): unknown code ${answer.errorCode}`);
      if (bad.length > 20) break;
    }
    const elapsedMs = performance.now() - started;
    figures.push(
      `fuzz node: ${NODE_CASES} cases in ${Math.round(elapsedMs)} ms (most CPU for one case ${slowestCpuMs.toFixed(1)} ms, most store reads ${mostReads.reads} (${mostReads.kind})): ${JSON.stringify(Object.fromEntries(kinds))}; ` +
        `ms by kind ${JSON.stringify(Object.fromEntries([...kindMs].map(([k, v]) => [k, Math.round(v)])))}; ` +
        `answers ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`,
    );
    expect(bad).toEqual([]);
    expect([...outcomes.values()].reduce((sum, n) => sum + n, 0)).toBe(NODE_CASES);
    expect(mostReads.reads, `store reads of the heaviest case (${mostReads.kind})`).toBeLessThanOrEqual(MAX_CASE_STORE_READS);
    // The fuzz reached past the envelope: signatures refused, replays caught, hostile queries answered.
    for (const code of ["MALFORMED_MESSAGE", "BAD_SIGNATURE", "UNKNOWN_SIGNER", "QUERY_REPLAYED"]) expect([...outcomes.keys()].some((label) => label.endsWith(`:${code}`)), code).toBe(true);
    expect(outcomes.get(String(AnswerStatus.NoHit)) ?? 0).toBeGreaterThan(1000);
    expect(outcomes.get(String(AnswerStatus.Hit)) ?? 0).toBeGreaterThan(0);
    const after = reader.snapshot();
    expect(after.problems).toEqual([]);
    expect(after.digest).toBe(before.digest);
    expect(store.stats().generation).toBe(generationBefore);
  }, 120_000);

  it(`imports ${IMPORT_LINES} random, mutated, misshapen, binary and oversized NDJSON lines with typed rejections, consistently and repeatably`, async () => {
    if (!importStore || !store) throw new Error("set-up failed");
    const fuzz = new Fuzzer(SEED + 1);
    const lines: Buffer[] = [];
    for (let i = 0; i < IMPORT_LINES; i++) {
      // One line in 3,000 is longer than the importer accepts.
      // Some lines go out as latin1, i.e. mostly invalid UTF-8; no line may hold a newline byte.
      const line = i % 3000 === 1500 ? Buffer.alloc(MAX_RECORD_LINE_BYTES + 10, 0x61) : Buffer.from(fuzz.ndjsonLine(i), fuzz.chance(0.1) ? "latin1" : "utf8");
      lines.push(Buffer.from(line.map((byte) => (byte === 0x0a ? 0x20 : byte))));
    }
    const input = Buffer.concat(lines.flatMap((line) => [line, Buffer.from("\n")]));
    const otherReader = openStoreReader(store.path);
    readers.push(otherReader);
    const otherBefore = otherReader.snapshot().digest;
    const reader = openStoreReader(importStore.path);
    readers.push(reader);

    const started = performance.now();
    const first = await importNdjson(importStore, { stream: Readable.from([input]) }, { batchSize: 500 });
    const elapsedMs = performance.now() - started;
    const { lines: counted, inserted, updated, unchanged, deleted, notFound, rejected } = first;
    expect(inserted + updated + unchanged + deleted + notFound + rejected.length).toBe(counted);
    expect(counted).toBeLessThanOrEqual(IMPORT_LINES);
    expect(counted).toBeGreaterThan(IMPORT_LINES * 0.95);
    const codes = new Map<string, number>();
    for (const rejection of rejected) codes.set(rejection.code, (codes.get(rejection.code) ?? 0) + 1);
    expect([...codes.keys()].sort()).toEqual(["INVALID_RECORD", "PAYLOAD_TOO_LARGE"]);
    expect(codes.get("PAYLOAD_TOO_LARGE")).toBe(Math.ceil((IMPORT_LINES - 1500) / 3000));
    expect(new Set(rejected.map((rejection) => rejection.line)).size).toBe(rejected.length);
    for (const rejection of rejected) expect(rejection.line >= 1 && rejection.line <= IMPORT_LINES, String(rejection.line)).toBe(true);
    // Something got through: records were stored, updated and deleted.
    expect(inserted).toBeGreaterThan(100);
    expect(updated + deleted).toBeGreaterThan(100);
    const afterFirst = reader.snapshot();
    expect(afterFirst.problems).toEqual([]);
    expect(afterFirst.persons + afterFirst.entities).toBe(importStore.stats().persons + importStore.stats().entities);

    // The same file again ends in the same records and index (later lines win again, deletions delete again).
    const second = await importNdjson(importStore, { stream: Readable.from([input]) }, { batchSize: 500 });
    expect(second.rejected).toEqual(first.rejected);
    const afterSecond = reader.snapshot();
    expect(afterSecond.problems).toEqual([]);
    expect(afterSecond.digest).toBe(afterFirst.digest);
    // The other node's store was never touched.
    expect(otherReader.snapshot().digest).toBe(otherBefore);
    figures.push(
      `fuzz import: ${IMPORT_LINES} lines in ${Math.round(elapsedMs)} ms: ${inserted} inserted, ${updated} updated, ${unchanged} unchanged, ${deleted} deleted, ` +
        `${notFound} not found, rejected ${JSON.stringify(Object.fromEntries(codes))}; store consistent (${afterFirst.persons} persons, ${afterFirst.entities} entities), re-import identical`,
    );
  }, 60_000);

  it(`answers ${GRPC_CASES} random and mutated CheckRequests at the coordinator with typed statuses, and the mesh keeps working`, async () => {
    if (!mesh) throw new Error("set-up failed");
    const fuzz = new Fuzzer(SEED + 2);
    const nodeReader = openStoreReader(mesh.dataDir("DEU"));
    readers.push(nodeReader);
    const before = nodeReader.snapshot();
    const raw = new grpc.Client(`127.0.0.1:${mesh.coordinator.grpcPort}`, grpc.credentials.createInsecure());
    const Coordinator = watchmeshGrpcPackage()["Coordinator"] as unknown as { service: { Check: { path: string; responseDeserialize: (bytes: Buffer) => { results: { status: string }[] } } } };
    const check = Coordinator.service.Check;
    const pool = Array.from({ length: 16 }, () => encodeEnvelope(mesh?.client.buildQuery(realSubject(fuzz)).envelope ?? { payload: new Uint8Array(), keyId: "", signature: new Uint8Array() }));
    const request = (envelope: Uint8Array, extra: Uint8Array[] = []): Uint8Array => concatBytes(lengthDelimited(1, envelope), ...extra);
    const cases: { kind: string; bytes: Uint8Array }[] = Array.from({ length: GRPC_CASES }, () => {
      const roll = fuzz.float();
      if (roll < 0.2) return { kind: "random bytes", bytes: fuzz.bytes(fuzz.int(300)) };
      if (roll < 0.5) return { kind: "mutated envelope", bytes: request(fuzz.mutate(fuzz.pick(pool))) };
      if (roll < 0.7) return { kind: "mutated request", bytes: fuzz.mutate(request(fuzz.pick(pool), [varintField(2, fuzz.int(3000))])) };
      if (roll < 0.85) {
        const countries = Array.from({ length: fuzz.int(3) }, () => lengthDelimited(3, Buffer.from(fuzz.pick(["DEU", "ESP", "XXX", "", fuzz.text(5)]), "utf8")));
        return { kind: "odd deadline and countries", bytes: request(fuzz.pick(pool), [varintField(2, fuzz.pick([0, 1, 50, 60_000, 2 ** 31, 2 ** 32 - 1])), ...countries]) };
      }
      if (roll < 0.95) return { kind: "envelope field garbage", bytes: request(concatBytes(lengthDelimited(1, fuzz.bytes(fuzz.int(200))), lengthDelimited(2, Buffer.from(fuzz.text(20), "utf8")), lengthDelimited(3, fuzz.bytes(64)))) };
      return { kind: "replayed valid request", bytes: request(fuzz.pick(pool), [varintField(2, 300)]) };
    });
    const outcomes = new Map<string, number>();
    const bad: string[] = [];
    const started = performance.now();
    await runBounded(cases.length, 16, async (i) => {
      const { kind, bytes } = cases[i] ?? { kind: "", bytes: new Uint8Array() };
      const outcome = await new Promise<string>((resolve) => {
        raw.makeUnaryRequest(
          check.path,
          (message: Buffer) => message,
          (message: Buffer) => message,
          Buffer.from(bytes),
          new grpc.Metadata(),
          { deadline: Date.now() + 5000 },
          (error, response) => {
            if (!error) {
              try {
                const decoded = check.responseDeserialize(response ?? Buffer.alloc(0));
                resolve(`OK ${decoded.results.map((result) => result.status.replace("COUNTRY_STATUS_", "")).join("/")}`);
              } catch {
                resolve("OK undecodable");
              }
              return;
            }
            const code = error.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
            resolve(`${grpc.status[error.code]} ${typeof code === "string" ? code : `(no code: ${error.details.slice(0, 40)})`}`);
          },
        );
      });
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const space = outcome.indexOf(" ");
      const status = outcome.slice(0, space);
      const code = outcome.slice(space + 1);
      if (status === "OK") {
        if (outcome === "OK undecodable") bad.push(`case ${i} (${kind}): undecodable response`);
      } else if (["DEADLINE_EXCEEDED", "UNAVAILABLE", "UNKNOWN", "CANCELLED"].includes(status ?? "")) {
        bad.push(`case ${i} (${kind}): ${outcome}`);
      } else if (code?.startsWith("(no code")) {
        // Even a request that is not a CheckRequest at all gets a Watchmesh code (MALFORMED_MESSAGE).
        bad.push(`case ${i} (${kind}): ${outcome}`);
      } else if (!isErrorCode(code ?? "")) {
        bad.push(`case ${i} (${kind}): unknown code in ${outcome}`);
      }
    });
    const elapsedMs = performance.now() - started;
    raw.close();
    figures.push(`fuzz coordinator: ${GRPC_CASES} gRPC Check cases in ${Math.round(elapsedMs)} ms: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`);
    expect(bad).toEqual([]);
    expect([...outcomes.values()].reduce((sum, n) => sum + n, 0)).toBe(GRPC_CASES);
    expect([...outcomes.keys()].some((outcome) => outcome.includes("BAD_SIGNATURE"))).toBe(true);
    expect(outcomes.get("INVALID_ARGUMENT MALFORMED_MESSAGE") ?? 0).toBeGreaterThan(0);

    // The mesh still answers properly, and DEU's records and index are as before.
    const person = knownPerson?.kind === "person" ? knownPerson : undefined;
    const result = await mesh.client.check({ person: { names: person?.names ?? [], dob: person?.dob ?? "", documents: person?.documents ?? [] } });
    expect(result.results.map((entry) => `${entry.country}:${entry.status}`)).toEqual(["DEU:hit", "ESP:no_hit"]);
    const after = nodeReader.snapshot();
    expect(after.problems).toEqual([]);
    expect(after.digest).toBe(before.digest);
  }, 60_000);
});
