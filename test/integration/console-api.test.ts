import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTlsKeyPair } from "../../common/grpc-tls.ts";
import { ACTION_INSTRUCTIONS } from "../../client/officer-screen.ts";
import { ConsoleServer, SESSION_COOKIE } from "../../console/index.ts";
import {
  ARRESTED_TRAVELLER,
  CONSOLE_TEST_COUNTRIES,
  CONSOLE_TEST_RECORDS,
  DISCREET_TRAVELLER,
  REPORT_MONTH,
  REPORT_MONTH_BEFORE,
  PERSONAL_STRINGS,
  startTestConsole,
  UNKNOWN_TRAVELLER,
  type TestConsole,
} from "../helpers/console.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { makeTestCertificates } from "../helpers/tls.ts";
import { waitFor } from "../helpers/wait.ts";

let mesh: TestMesh;
let testConsole: TestConsole;
let base: string;
let cookie: string;

beforeAll(async () => {
  mesh = await startTestMesh({ countries: CONSOLE_TEST_COUNTRIES, records: CONSOLE_TEST_RECORDS });
  testConsole = await startTestConsole(mesh);
  base = testConsole.server.url;
});

afterAll(async () => {
  await testConsole?.stop();
  await mesh?.stop();
});

interface ErrorJson {
  error: { code: string; message: string };
}

function request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (cookie && !headers.has("cookie")) headers.set("cookie", cookie);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return fetch(new URL(path, base), { ...init, headers, body, redirect: "manual" });
}

async function errorOf(response: Response): Promise<ErrorJson["error"]> {
  return ((await response.json()) as ErrorJson).error;
}

interface ScreenJson {
  screen: {
    discreet: boolean;
    queryId: string;
    instructions: string[];
    countries?: { country: string; status: string; hits: { reference: string; action: string; score: number }[] }[];
    counts?: Record<string, number>;
  };
}

describe("web console API", () => {
  it("swaps the printed token for an HttpOnly SameSite=Strict session cookie, and refuses a wrong one", async () => {
    const wrong = await request(`/?token=${"x".repeat(43)}`);
    expect(wrong.status).toBe(303);
    expect(wrong.headers.get("location")).toBe("/login.html?failed=1");
    expect(wrong.headers.get("set-cookie")).toBeNull();

    const right = await fetch(testConsole.server.loginUrl, { redirect: "manual" });
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/");
    const setCookie = right.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$`));
    expect(setCookie).not.toContain(testConsole.server.auth.token);
    cookie = setCookie.split(";")[0] ?? "";

    const session = await request("/api/session");
    expect(session.status).toBe(200);
    expect(session.headers.get("cache-control")).toBe("no-store");
    const views = ((await session.json()) as { views: Record<string, { available: boolean }> }).views;
    expect(views).toMatchObject({
      officer: { available: true, country: "FRA", agency: "border-police", location: "test-post-7" },
      auditor: { available: true },
      analyst: { available: true, country: "FRA", agency: "analysis-unit", regions: ["Europe"], to: REPORT_MONTH },
    });

    const login = await request("/api/login", { method: "POST", json: { token: "nope" }, headers: { cookie: "" } });
    expect(login.status).toBe(401);
    expect((await errorOf(login)).code).toBe("UNAUTHENTICATED");
    const loginOk = await request("/api/login", { method: "POST", json: { token: testConsole.server.auth.token }, headers: { cookie: "" } });
    expect(loginOk.status).toBe(200);
    expect(loginOk.headers.get("set-cookie")).toContain("HttpOnly; SameSite=Strict");
  });

  it("serves pages with a strict CSP, only to a session, and nothing outside its static folder", async () => {
    const anonymous = { headers: { cookie: "" } };
    expect((await request("/api/session", anonymous)).status).toBe(401);
    const page = await request("/officer.html", anonymous);
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login.html");
    const loginPage = await request("/login.html", anonymous);
    expect(loginPage.status).toBe(200);
    const csp = loginPage.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(loginPage.headers.get("x-frame-options")).toBe("DENY");
    expect(loginPage.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await loginPage.text();
    // No inline script and nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const officerPage = await request("/officer.html");
    expect(officerPage.status).toBe(200);
    expect(await officerPage.text()).toContain('<label for="name">');
    for (const path of ["/../package.json", "/%2e%2e/package.json", "/console-server.ts", "/static/officer.html", "/..%2fpackage.json"]) {
      expect((await request(path)).status, path).toBe(404);
    }
    expect((await request("/officer.js")).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  });

  it("shows a discreet check as the instruction only: no country, marker, score or reference reaches the browser", async () => {
    const response = await request("/api/officer/check", { method: "POST", json: { name: DISCREET_TRAVELLER.name, dob: DISCREET_TRAVELLER.dob } });
    expect(response.status).toBe(200);
    const text = await response.text();
    const { screen } = JSON.parse(text) as ScreenJson;
    expect(screen).toEqual({ discreet: true, queryId: expect.any(String), instructions: [ACTION_INSTRUCTIONS.discreet_check] });
    for (const hidden of ["DEU", "hit", "score", "reference", "R-"]) expect(text).not.toContain(hidden);
  });

  it("shows a hit's country, reference, score and requested action, and no-hits for the rest", async () => {
    const response = await request("/api/officer/check", {
      method: "POST",
      json: { document: { number: ARRESTED_TRAVELLER.passport.toLowerCase(), country: ARRESTED_TRAVELLER.passportCountry } },
    });
    expect(response.status).toBe(200);
    const { screen } = (await response.json()) as ScreenJson;
    expect(screen.discreet).toBe(false);
    expect(screen.countries?.map((country) => [country.country, country.status])).toEqual([["DEU", "no_hit"], ["ESP", "hit"], ["FRA", "no_hit"]]);
    const hit = screen.countries?.find((country) => country.country === "ESP")?.hits[0];
    expect(hit?.reference).toMatch(/^ESP-R-/);
    expect(hit?.action).toBe("arrest");
    expect(hit?.score).toBeGreaterThan(0.5);
    expect(screen.instructions).toEqual([ACTION_INSTRUCTIONS.arrest]);

    const unknown = (await (await request("/api/officer/check", { method: "POST", json: { name: UNKNOWN_TRAVELLER.name, dob: UNKNOWN_TRAVELLER.dob } })).json()) as ScreenJson;
    expect(unknown.screen.counts).toEqual({ hit: 0, no_hit: 3, refused: 0, unavailable: 0, error: 0 });
  });

  it("answers bad requests with typed JSON errors", async () => {
    const cases: { init: RequestInit & { json?: unknown }; status: number; code: string }[] = [
      { init: { method: "POST", body: `name=${encodeURIComponent(DISCREET_TRAVELLER.name)}`, headers: { "content-type": "application/x-www-form-urlencoded" } }, status: 400, code: "INVALID_ARGUMENT" },
      { init: { method: "POST", body: `{"name":"${DISCREET_TRAVELLER.name}"`, headers: { "content-type": "application/json" } }, status: 400, code: "MALFORMED_MESSAGE" },
      { init: { method: "POST", json: { name: "x".repeat(20_000) } }, status: 413, code: "PAYLOAD_TOO_LARGE" },
      { init: { method: "POST", json: { name: DISCREET_TRAVELLER.name, dob: "9 March 1984" } }, status: 400, code: "INVALID_ARGUMENT" },
      { init: { method: "POST", json: { mrz: "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<11" } }, status: 400, code: "INVALID_MRZ" },
      { init: { method: "POST", json: { name: DISCREET_TRAVELLER.name }, headers: { origin: "http://evil.example" } }, status: 401, code: "UNAUTHENTICATED" },
      { init: { method: "POST", json: { name: DISCREET_TRAVELLER.name }, headers: { cookie: `${SESSION_COOKIE}=forged` } }, status: 401, code: "UNAUTHENTICATED" },
    ];
    for (const { init, status, code } of cases) {
      const response = await request("/api/officer/check", init);
      expect(response.status, JSON.stringify(init.headers)).toBe(status);
      const error = await errorOf(response);
      expect(error.code).toBe(code);
      for (const personal of PERSONAL_STRINGS) expect(error.message).not.toContain(personal);
    }
    const get = await request("/api/officer/check");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect((await errorOf(await request("/api/nothing"))).code).toBe("NOT_FOUND");
    expect((await errorOf(await request("/api/auditor/queries?from=yesterday"))).code).toBe("INVALID_ARGUMENT");
  });

  it("finds a query in the audit logs, shows its timeline with one bar per country, and verifies every log", async () => {
    const response = await request("/api/officer/check", {
      method: "POST",
      json: { name: ARRESTED_TRAVELLER.name, dob: ARRESTED_TRAVELLER.dob },
    });
    const { screen } = (await response.json()) as ScreenJson;
    // Nodes write audit entries in group commits (at most 100 ms later): wait until all three are there.
    const found = await waitFor(async () => {
      const search = (await (await request(`/api/auditor/queries?queryId=${screen.queryId}`)).json()) as { queries: { countries: unknown[] }[] };
      return search.queries[0]?.countries.length === 3 ? search : undefined;
    }, { what: "the query's audit entries" });
    expect(found.queries).toHaveLength(1);
    expect(found.queries[0]).toMatchObject({
      queryId: screen.queryId,
      requesterCountry: "FRA",
      requesterAgency: "border-police",
      countries: [
        { country: "DEU", status: "no_hit" },
        { country: "ESP", status: "hit", hitReferences: [expect.stringMatching(/^ESP-R-/)] },
        { country: "FRA", status: "no_hit" },
      ],
    });

    const byRequester = (await (await request("/api/auditor/queries?requesterCountry=fra&requesterAgency=border-police")).json()) as { queries: { queryId: string }[] };
    expect(byRequester.queries.map((query) => query.queryId)).toContain(screen.queryId);
    const otherRequester = (await (await request("/api/auditor/queries?requesterCountry=DEU")).json()) as { queries: unknown[] };
    expect(otherRequester.queries).toEqual([]);
    const future = (await (await request("/api/auditor/queries?from=2999-01-01")).json()) as { queries: unknown[] };
    expect(future.queries).toEqual([]);
    const hits = (await (await request("/api/auditor/queries?status=hit")).json()) as { queries: { queryId: string }[] };
    expect(hits.queries.map((query) => query.queryId)).toContain(screen.queryId);
    expect(hits.queries.length).toBeGreaterThanOrEqual(2);

    const timeline = (await (await request(`/api/auditor/queries/${screen.queryId}`)).json()) as { bars: { kind: string; country?: string; status: string; source: string }[] };
    expect(timeline.bars.map((bar) => [bar.country, bar.status, bar.source])).toEqual([["DEU", "no_hit", "audit"], ["ESP", "hit", "audit"], ["FRA", "no_hit", "audit"]]);
    const missing = await request("/api/auditor/queries/00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe("NOT_FOUND");
    for (const path of ["/api/auditor/queries/%E0%A4%A", "/api/auditor/queries/a%2Fb", "/api/auditor/queries/x/y"]) {
      expect((await request(path)).status, path).toBe(404);
    }

    const verification = (await (await request("/api/auditor/verification")).json()) as { nodes: { country: string; ok: boolean; entries: number }[] };
    expect(verification.nodes.map((node) => [node.country, node.ok])).toEqual([["DEU", true], ["ESP", true], ["FRA", true]]);
    expect(verification.nodes.every((node) => node.entries >= 4)).toBe(true);
  });

  it("builds the regional report for the analyst's filters, from every country's verified counts", async () => {
    const response = await request(`/api/analyst/report?region=europe&from=${REPORT_MONTH_BEFORE}&to=${REPORT_MONTH}&categories=precursor`);
    expect(response.status).toBe(200);
    const model = (await response.json()) as {
      format: string;
      filter: { region: string; categories: string[] };
      period: { months: string[] };
      countries: { country: string; status: string }[];
      items: { region: string; measure: string; category: string; designation: string; counts: number[]; total: number }[];
    };
    expect(model.format).toBe("watchmesh-report/v1");
    expect(model.filter).toEqual({ region: "Europe", categories: ["precursor"] });
    expect(model.period.months).toEqual([REPORT_MONTH_BEFORE, REPORT_MONTH]);
    expect(model.countries.map((line) => [line.country, line.status])).toEqual([["DEU", "answered"], ["ESP", "answered"], ["FRA", "answered"]]);
    const records = model.items.filter((item) => item.measure === "records");
    expect(records.map((item) => [item.designation, item.counts])).toEqual([["ammonium_nitrate", [6, 14]], ["hydrogen_peroxide", [0, 5]]]);
    expect(model.items.every((item) => item.category === "precursor")).toBe(true);

    // The default period: twelve months ending with the last complete one.
    const byDefault = (await (await request("/api/analyst/report")).json()) as { period: { months: string[] } };
    expect(byDefault.period.months).toHaveLength(12);
    expect(byDefault.period.months.at(-1)).toBe(REPORT_MONTH);

    for (const query of ["region=Atlantis", `from=${REPORT_MONTH}&to=${REPORT_MONTH_BEFORE}`, "from=2026-13", "categories=weapons", "name=x", "from=1990-01&to=2026-01"]) {
      const bad = await request(`/api/analyst/report?${query}`);
      expect(bad.status, query).toBe(400);
      expect((await errorOf(bad)).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("shows views it has no key or data for as unavailable", async () => {
    const bare = await ConsoleServer.start({});
    try {
      const login = await fetch(bare.loginUrl, { redirect: "manual" });
      const bareCookie = login.headers.get("set-cookie")?.split(";")[0] ?? "";
      const session = (await (await fetch(new URL("/api/session", bare.url), { headers: { cookie: bareCookie } })).json()) as { views: Record<string, { available: boolean; reason?: string }> };
      expect(Object.values(session.views).map((view) => view.available)).toEqual([false, false, false]);
      expect(session.views["officer"]?.reason).toMatch(/border system key/);
      const check = await fetch(new URL("/api/officer/check", bare.url), {
        method: "POST",
        headers: { cookie: bareCookie, "content-type": "application/json" },
        body: JSON.stringify({ name: UNKNOWN_TRAVELLER.name }),
      });
      expect(check.status).toBe(503);
      expect((await errorOf(check)).code).toBe("UNAVAILABLE");
    } finally {
      await bare.stop();
    }
  });

  it("serves HTTPS with a Secure session cookie when given a certificate", async () => {
    const dir = await makeTempDir();
    const certificates = makeTestCertificates(dir.path);
    const secure = await ConsoleServer.start({ tls: await readTlsKeyPair({ certFile: certificates.serverCert, keyFile: certificates.serverKey }) });
    try {
      expect(secure.url).toBe(`https://127.0.0.1:${secure.port}/`);
      const answer = await new Promise<{ status: number | undefined; cookie: string }>((resolve, reject) => {
        const req = httpsRequest(secure.loginUrl, { ca: readFileSync(certificates.caCert) }, (res) => {
          res.resume();
          resolve({ status: res.statusCode, cookie: res.headers["set-cookie"]?.[0] ?? "" });
        });
        req.on("error", reject);
        req.end();
      });
      expect(answer.status).toBe(303);
      expect(answer.cookie).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await secure.stop();
      await dir.remove();
    }
  });

  it("logs each request's route, status and code, and nothing personal, no token, no session id", async () => {
    const logout = await request("/api/logout", { method: "POST", json: {} });
    expect(logout.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await request("/api/session")).status).toBe(401);

    const log = testConsole.logText();
    expect(log).toContain('"route":"POST /api/officer/check"');
    expect(log).toContain('"code":"INVALID_MRZ"');
    expect(log).toContain('"route":"GET /api/auditor/queries/:queryId"');
    expect(log).toContain('"route":"GET /api/analyst/report"');
    for (const personal of PERSONAL_STRINGS) expect(log).not.toContain(personal);
    expect(log).not.toContain(testConsole.server.auth.token);
    expect(log).not.toContain(cookie.split("=")[1]);
    expect(log).not.toContain("token=");
  });
});
