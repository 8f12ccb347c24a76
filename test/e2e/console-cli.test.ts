import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** Logs in with the printed URL; returns the session cookie. */
async function login(loginUrl: string): Promise<string> {
  const response = await fetch(loginUrl, { redirect: "manual" });
  expect(response.status).toBe(303);
  return response.headers.get("set-cookie")?.split(";")[0] ?? "";
}

async function getJson<T>(url: URL, cookie: string): Promise<T> {
  const response = await fetch(url, { headers: { cookie } });
  expect(response.status, url.pathname).toBe(200);
  return (await response.json()) as T;
}

const TRAVELLER = { name: "Ingrid Vestergaard-Holm", dob: "1991-07-14" };

describe("watchmesh console serve and the demo's console", () => {
  it("demo --keep serves the console on its mesh, and console serve --mesh serves one on the same mesh", async () => {
    const tmp = await makeTempDir();
    cleanups.push(tmp.remove);
    const meshDir = path.join(tmp.path, "mesh");
    const demo = spawnCli(["demo", "--keep", "--countries", "3", "--persons", "300", "--entities", "300", "--no-progress", "--dir", meshDir]);
    cleanups.push(() => demo.stop());
    await demo.waitForOutput(/Web console .*: http:\/\/\S+\n/, 120_000);
    const demoUrl = /Web console .*: (http:\/\/\S+)\n/.exec(demo.output())?.[1] ?? "";
    const demoCookie = await login(demoUrl);
    const views = await getJson<{ views: Record<string, { available: boolean }> }>(new URL("/api/session", demoUrl), demoCookie);
    expect(Object.fromEntries(Object.entries(views.views).map(([view, info]) => [view, info.available]))).toEqual({ officer: true, analyst: true, auditor: true });

    const serve = spawnCli(["console", "serve", "--mesh", meshDir, "--port", "0", "--location", "e2e-post-3"], { env: { WATCHMESH_LOG_LEVEL: "info" } });
    cleanups.push(() => serve.stop());
    await serve.waitForOutput(/Open \(the token is printed only here\): http:\/\/\S+\n/, 60_000);
    const output = serve.output();
    expect(output).toContain("border check: signed as FRA/border-police at e2e-post-3");
    expect(output).toContain("analysis: reports asked for as FRA/analysis-unit");
    expect(output).toContain("audit: 3 node audit log(s) and the span file");
    const loginUrl = /Open \(the token is printed only here\): (\S+)\n/.exec(output)?.[1] ?? "";
    const token = new URL(loginUrl).searchParams.get("token") ?? "";
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = await login(loginUrl);

    const check = await fetch(new URL("/api/officer/check", loginUrl), {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify(TRAVELLER),
    });
    expect(check.status).toBe(200);
    const { screen } = (await check.json()) as { screen: { countries: { status: string }[] } };
    expect(screen.countries.map((country) => country.status)).toEqual(["no_hit", "no_hit", "no_hit"]);
    const verification = await getJson<{ nodes: { ok: boolean }[] }>(new URL("/api/auditor/verification", loginUrl), cookie);
    expect(verification.nodes.map((node) => node.ok)).toEqual([true, true, true]);
    const report = await getJson<{ countries: { status: string }[] }>(new URL("/api/analyst/report?categories=precursor", loginUrl), cookie);
    expect(report.countries.map((line) => line.status)).toEqual(["answered", "answered", "answered"]);

    expect(await serve.stop()).toEqual({ code: 0, signal: null });
    const log = serve.output();
    expect(log).toContain('"route":"POST /api/officer/check"');
    expect(log).not.toContain(TRAVELLER.name);
    expect(log).not.toContain(TRAVELLER.dob);
    // Printed once, in the line to open, and never logged.
    expect(log.split(token).length - 1).toBe(1);
    expect((await demo.stop()).code).toBe(0);
  }, 180_000);

  it("refuses to start with nothing to serve, without a mesh, or on a non-loopback address without TLS", async () => {
    const tmp = await makeTempDir();
    cleanups.push(tmp.remove);
    const nothing = await runCli(["console", "serve", "--port", "0"]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/^watchmesh: nothing to serve: .*\[CONFIG_INVALID\]$/m);
    const noMesh = await runCli(["console", "serve", "--mesh", path.join(tmp.path, "none"), "--port", "0"]);
    expect(noMesh.code).toBe(1);
    expect(noMesh.stderr).toMatch(/\[NOT_FOUND\]$/m);
    const open = await runCli(["console", "serve", "--host", "0.0.0.0", "--traces", path.join(tmp.path, "traces.ndjson")]);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/needs --tls-cert and --tls-key \[CONFIG_INVALID\]$/m);
  });
});
