import { Readable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import type { SpanRecord } from "../../common/span-file.ts";
import { parseReportFilter } from "../../console/analyst-api.ts";
import { buildTimeline, parseAuditSearch } from "../../console/auditor-api.ts";
import { httpStatusFor, readJsonBody } from "../../console/http-io.ts";
import { parseOfficerRequest } from "../../console/officer-api.ts";
import type { AuditEntry } from "../../node/index.ts";

const TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof WatchmeshError ? error.code : "not a WatchmeshError";
  }
  return undefined;
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return error instanceof Error ? error.message : "";
  }
  return "";
}

describe("officer check input", () => {
  it("takes the documented JSON query format", () => {
    const request = parseOfficerRequest({ name: "Jean Dupont", dob: "1980-05-01", nationality: "FRA", sex: "M", document: { number: "12AB34567", country: "FRA", type: "passport" } });
    expect(request.subject).toEqual({
      person: {
        names: ["Jean Dupont"],
        dob: "1980-05-01",
        nationality: ["FRA"],
        sex: "M",
        documents: [{ type: "passport", number: "12AB34567", country: "FRA" }],
        mrz: [],
      },
    });
    expect(request.mrz).toBeUndefined();
  });

  it("reads a pasted MRZ with its check digits and sends its lines", () => {
    const request = parseOfficerRequest({ mrz: `  ${TD3[0]}\r\n${TD3[1]}\n` });
    expect("person" in request.subject && request.subject.person.mrz).toEqual(TD3);
    expect(request.mrz).toMatchObject({ format: "TD3", surname: "ERIKSSON", givenNames: "ANNA MARIA", documentNumber: "L898902C3", dateOfBirth: "1974-08-12", sex: "F" });
  });

  it("refuses a wrong MRZ check digit with INVALID_MRZ naming the field, not the content", () => {
    const wrong = [TD3[0], (TD3[1] ?? "").slice(0, -1) + "1"].join("\n");
    expect(codeOf(() => parseOfficerRequest({ mrz: wrong }))).toBe(ErrorCode.InvalidMrz);
    const message = messageOf(() => parseOfficerRequest({ mrz: wrong }));
    expect(message).toContain("composite");
    expect(message).not.toContain("ERIKSSON");
  });

  it("refuses bad fields with INVALID_ARGUMENT naming the field, and a query with nothing to search", () => {
    expect(messageOf(() => parseOfficerRequest({ name: "Jean Dupont", dob: "01/05/1980" }))).toMatch(/^query field dob: /);
    expect(messageOf(() => parseOfficerRequest({ name: "Jean Dupont", nationality: "France" }))).toMatch(/^query field nationality: /);
    expect(messageOf(() => parseOfficerRequest({ name: "Jean Dupont", surname: "x" }))).toMatch(/^query field query: /);
    expect(messageOf(() => parseOfficerRequest({ name: "x".repeat(201) }))).toMatch(/^query field name: /);
    expect(codeOf(() => parseOfficerRequest({ dob: "1980" }))).toBe(ErrorCode.InvalidArgument);
    for (const body of [null, "Jean Dupont", 42, []]) expect(codeOf(() => parseOfficerRequest(body))).toBe(ErrorCode.InvalidArgument);
    expect(messageOf(() => parseOfficerRequest({ name: "Jean Dupont", dob: "1980-13-45x" }))).not.toContain("Jean");
  });
});

describe("auditor search input", () => {
  it("takes query id, requester, period and result, ignoring empty values", () => {
    const search = parseAuditSearch(new URLSearchParams({
      queryId: "5F1C6B2E-0000-4000-8000-000000000001",
      requesterCountry: "fra",
      requesterAgency: "border-police",
      from: "2026-12-01",
      to: "2026-12-02T10:30",
      status: "hit",
    }));
    expect(search).toEqual({
      queryId: "5f1c6b2e-0000-4000-8000-000000000001",
      requesterCountry: "FRA",
      requesterAgency: "border-police",
      fromMs: Date.parse("2026-12-01T00:00:00Z"),
      toMs: Date.parse("2026-12-02T10:30:59.999Z"),
      status: "hit",
    });
    expect(parseAuditSearch(new URLSearchParams({ queryId: "", from: " " }))).toEqual({});
    expect(parseAuditSearch(new URLSearchParams({ to: "2026-12-02" })).toMs).toBe(Date.parse("2026-12-02T23:59:59.999Z"));
  });

  it("refuses what it does not understand", () => {
    const cases: Record<string, string>[] = [
      { requesterCountry: "France" },
      { requesterAgency: "a b" },
      { from: "yesterday" },
      { from: "2026-02-30" },
      { from: "2026-12-02", to: "2026-12-01" },
      { status: "maybe" },
      { queryId: "'; drop" },
      { name: "Jean Dupont" },
    ];
    for (const params of cases) {
      expect(codeOf(() => parseAuditSearch(new URLSearchParams(params))), JSON.stringify(params)).toBe(ErrorCode.InvalidArgument);
    }
  });
});

const span = (fields: Partial<SpanRecord> & Pick<SpanRecord, "name" | "startTime" | "durationMs">): SpanRecord => ({
  traceId: "a".repeat(32),
  spanId: "b".repeat(16),
  serviceName: "test",
  status: "unset",
  attributes: {},
  ...fields,
});

const entry = (fields: Partial<AuditEntry>): AuditEntry => ({
  seq: 1,
  time: "2026-12-03T10:00:00.050Z",
  queryId: "q-1",
  requesterCountry: "FRA",
  requesterAgency: "border-police",
  purpose: "PURPOSE_BORDER_CHECK",
  status: "no_hit",
  errorCode: "",
  hitReferences: [],
  queryDigest: "d".repeat(64),
  prevHash: "0".repeat(64),
  hash: "1".repeat(64),
  ...fields,
});

describe("query timeline", () => {
  it("has a bar for client and coordinator and one per country, from the spans, offsets from the earliest start", () => {
    const timeline = buildTimeline(
      "q-1",
      [
        span({ name: "watchmesh.node.match", startTime: "2026-12-03T10:00:00.020Z", durationMs: 3, attributes: { "watchmesh.country": "ESP", "watchmesh.status": "no_hit" } }),
        span({ name: "watchmesh.client.check", startTime: "2026-12-03T10:00:00.000Z", durationMs: 40 }),
        span({ name: "watchmesh.coordinator.check", startTime: "2026-12-03T10:00:00.005Z", durationMs: 30, status: "error" }),
        span({ name: "watchmesh.node.match", startTime: "2026-12-03T10:00:00.010Z", durationMs: 2.5, attributes: { "watchmesh.country": "DEU", "watchmesh.status": "hit" } }),
      ],
      [{ dir: "/x/DEU", country: "DEU", entries: [entry({ status: "hit" })] }],
      "a".repeat(32),
    );
    expect(timeline.startTime).toBe("2026-12-03T10:00:00.000Z");
    expect(timeline.totalMs).toBe(40);
    expect(timeline.bars.map((bar) => [bar.label, bar.status, bar.offsetMs, bar.durationMs, bar.source])).toEqual([
      ["border client", "ok", 0, 40, "span"],
      ["coordinator", "error", 5, 30, "span"],
      ["DEU", "hit", 10, 2.5, "span"],
      ["ESP", "no_hit", 20, 3, "span"],
    ]);
  });

  it("shows an aggregate query as the analyst's: client, coordinator and the countries that released counts", () => {
    const timeline = buildTimeline(
      "q-9",
      [
        span({ name: "watchmesh.client.aggregate", startTime: "2026-12-03T10:00:00.000Z", durationMs: 50 }),
        span({ name: "watchmesh.coordinator.aggregate", startTime: "2026-12-03T10:00:00.004Z", durationMs: 40 }),
        span({ name: "watchmesh.node.aggregate", startTime: "2026-12-03T10:00:00.006Z", durationMs: 30, attributes: { "watchmesh.country": "DEU", "watchmesh.status": "aggregate" } }),
      ],
      [],
      "a".repeat(32),
    );
    expect(timeline.bars.map((bar) => [bar.label, bar.status])).toEqual([
      ["analyst client", "ok"],
      ["coordinator", "ok"],
      ["DEU", "aggregate"],
    ]);
    expect(parseAuditSearch(new URLSearchParams({ status: "aggregate" }))).toMatchObject({ status: "aggregate" });
  });

  it("places a country without a span at its audit entry's time", () => {
    const timeline = buildTimeline(
      "q-1",
      [],
      [
        { dir: "/x/DEU", country: "DEU", entries: [entry({ time: "2026-12-03T10:00:00.030Z", status: "hit" })] },
        { dir: "/x/ESP", country: "ESP", entries: [entry({ time: "2026-12-03T10:00:00.010Z" })] },
        { dir: "/x/FRA", country: "FRA", entries: [] },
      ],
      null,
    );
    expect(timeline.bars.map((bar) => [bar.label, bar.status, bar.offsetMs, bar.source])).toEqual([
      ["DEU", "hit", 20, "audit"],
      ["ESP", "no_hit", 0, "audit"],
    ]);
    expect(buildTimeline("q-2", [], [], null)).toMatchObject({ startTime: null, totalMs: 0, bars: [] });
  });
});

function request(body: string | Buffer[], headers: Record<string, string>): IncomingMessage {
  const stream = Readable.from(typeof body === "string" ? [Buffer.from(body)] : body) as unknown as IncomingMessage;
  stream.headers = headers;
  return stream;
}

describe("JSON request bodies", () => {
  it("reads application/json", async () => {
    await expect(readJsonBody(request('{"a":1}', { "content-type": "application/json; charset=utf-8" }))).resolves.toEqual({ a: 1 });
  });

  it("refuses other types, bad JSON without echoing it, and bodies over the limit (declared or streamed)", async () => {
    const failure = async (promise: Promise<unknown>): Promise<WatchmeshError> => {
      const error = await promise.then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(WatchmeshError);
      return error as WatchmeshError;
    };
    expect((await failure(readJsonBody(request("name=Jean", { "content-type": "application/x-www-form-urlencoded" })))).code).toBe(ErrorCode.InvalidArgument);
    const bad = await failure(readJsonBody(request("Jean Dupont", { "content-type": "application/json" })));
    expect(bad.code).toBe(ErrorCode.MalformedMessage);
    expect(bad.message).not.toContain("Jean");
    expect((await failure(readJsonBody(request("{}", { "content-type": "application/json", "content-length": "100000" }), 1000))).code).toBe(ErrorCode.PayloadTooLarge);
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(200, 0x20));
    expect((await failure(readJsonBody(request(chunks, { "content-type": "application/json" }), 1000))).code).toBe(ErrorCode.PayloadTooLarge);
  });

  it("maps error codes to HTTP statuses", () => {
    expect(httpStatusFor(ErrorCode.InvalidArgument)).toBe(400);
    expect(httpStatusFor(ErrorCode.InvalidMrz)).toBe(400);
    expect(httpStatusFor(ErrorCode.Unauthenticated)).toBe(401);
    expect(httpStatusFor(ErrorCode.NotFound)).toBe(404);
    expect(httpStatusFor(ErrorCode.PayloadTooLarge)).toBe(413);
    expect(httpStatusFor(ErrorCode.Unavailable)).toBe(503);
    expect(httpStatusFor(ErrorCode.Internal)).toBe(500);
  });
});

describe("analyst report filters", () => {
  const now = new Date("2026-12-03T10:00:00Z");
  it("defaults to the twelve months ending with the last complete one, and takes region, period and categories", () => {
    expect(parseReportFilter(new URLSearchParams(), ["Africa", "Europe"], now)).toEqual({ fromMonth: "2025-12", toMonth: "2026-11" });
    expect(parseReportFilter(new URLSearchParams({ region: "europe", from: "2026-01", to: "2026-03", categories: "precursor, person,precursor" }), ["Africa", "Europe"], now)).toEqual({
      region: "Europe",
      fromMonth: "2026-01",
      toMonth: "2026-03",
      categories: ["precursor", "person"],
    });
    expect(parseReportFilter(new URLSearchParams({ to: "2026-05", region: "", categories: "" }), ["Europe"], now)).toEqual({ fromMonth: "2025-06", toMonth: "2026-05" });
  });

  it("refuses regions without members, bad months, reversed or too long periods, unknown categories and parameters", () => {
    const cases: Record<string, string>[] = [
      { region: "Asia" },
      { from: "2026-1" },
      { to: "2026-13" },
      { from: "2026-05", to: "2026-04" },
      { from: "2000-01", to: "2026-01" },
      { categories: "person,weapons" },
      { country: "DEU" },
    ];
    for (const params of cases) {
      expect(codeOf(() => parseReportFilter(new URLSearchParams(params), ["Europe"], now)), JSON.stringify(params)).toBe(ErrorCode.InvalidArgument);
    }
  });
});
