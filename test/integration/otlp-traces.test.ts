import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { startOtlpReceiver, type AttributeValue, type OtlpReceiver, type ReceivedSpan } from "../helpers/otlp-receiver.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/**
 * The real OpenTelemetry SDK exporters of real processes (three `watchmesh node serve`, one
 * `watchmesh coordinator serve`, one `watchmesh check`) export over OTLP/gRPC to a receiver built
 * from the official proto definitions; the test reads the trace tree back from what arrived.
 *
 * (`watchmesh demo` cannot be used: it starts its SDK with an in-memory exporter only, and `watchmesh up`
 * starts no SDK at all, so neither exports anything over OTLP.)
 */

const BIN = fileURLToPath(new URL("../../bin/watchmesh.js", import.meta.url));
const COUNTRIES = ["DEU", "ESP", "FRA"];
// The traveller on DEU's list; the check gives the name surname first, as an MRZ would.
const TRAVELLER = { names: ["Jan Kowalski"], dob: "1970-02-03" };
const QUERY_NAME = "Kowalski Jan";
// What must never appear in anything exported: name parts and the date of birth in any spelling.
const FORBIDDEN = [/kowalski/i, /\bjan\b/i, /1970-?02-?03/, /03[./]02[./]1970/];

interface ServiceProcess {
  stop(): Promise<number | null>;
}

/** Starts a long-running `watchmesh` process with `env`; resolves when stderr matches `ready`. */
function startService(args: string[], ready: RegExp, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<ServiceProcess & { match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let settled = false;
    const exited = new Promise<number | null>((done) => child.once("close", (code) => done(code)));
    const stop = async (): Promise<number | null> => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      return exited;
    };
    const timer = setTimeout(() => {
      settled = true;
      child.kill("SIGKILL");
      reject(new Error(`watchmesh ${args.join(" ")} not ready in time:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const match = output.match(ready);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ match, stop });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new Error(`watchmesh ${args.join(" ")} exited early with ${code}:\n${output}`));
    });
  });
}

function attributeStrings(value: AttributeValue): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value.flatMap(attributeStrings);
  if (typeof value === "object") return Object.values(value).flatMap(attributeStrings);
  return [String(value)];
}

function leaks(attributes: Record<string, AttributeValue>): string[] {
  return Object.entries(attributes).flatMap(([key, value]) =>
    attributeStrings(value)
      .filter((text) => FORBIDDEN.some((pattern) => pattern.test(text)))
      .map((text) => `${key}=${text}`),
  );
}

type CheckJson = { queryId: string; traceId: string; results: { country: string; status: string }[] };

describe("OTLP/gRPC export of a federated check's trace", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let receiver: OtlpReceiver;
  let meshDir: string;
  let coordinatorAddress: string;
  let otelEnv: NodeJS.ProcessEnv;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.stop());
    otelEnv = {
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
      // Long-running services export their batches promptly rather than every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: "100",
      WATCHMESH_LOG_LEVEL: "warn",
    };
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    meshDir = path.join(dir.path, "mesh");
    const init = await runCli(["mesh", "init", "--dir", meshDir, "--countries", COUNTRIES.join(",")]);
    expect(init.code, init.stderr).toBe(0);
    const records = path.join(dir.path, "deu.ndjson");
    await writeFile(records, JSON.stringify({ kind: "person", id: "DEU-OTLP-1", ...TRAVELLER, action: "discreet_check" }) + "\n");
    const imported = await runCli(["node", "import", "--data", path.join(meshDir, "nodes", "DEU"), "--file", records, "--json"]);
    expect(imported.code, imported.stderr).toBe(0);

    const nats: RunningNatsServer = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    // Services stop before NATS and the receiver (cleanups run last-in first-out), so their final flush arrives.
    cleanups.push(async () => {
      const codes = await Promise.all(services.map((service) => service.stop()));
      expect(codes.every((code) => code === 0), `service exit codes ${codes.join(", ")}`).toBe(true);
    });
    const trust = ["--registry", path.join(meshDir, "registry.json"), "--root-key", path.join(meshDir, "root.pub.json"), "--nats", nats.url];
    const nodes = await Promise.all(
      COUNTRIES.map((country) =>
        startService(
          ["node", "serve", "--data", path.join(meshDir, "nodes", country), "--key", path.join(meshDir, "keys", `${country}-node.key`), ...trust],
          new RegExp(`node ${country} serving`),
          otelEnv,
        ),
      ),
    );
    services.push(...nodes);
    const coordinator = await startService(["coordinator", "serve", "--grpc", "127.0.0.1:0", ...trust], /coordinator serving gRPC on port (\d+)/, otelEnv);
    services.push(coordinator);
    coordinatorAddress = `127.0.0.1:${coordinator.match[1]}`;
  }, 90_000);

  afterAll(async () => {
    // Every cleanup runs even when one fails; the first failure is reported.
    const failures: unknown[] = [];
    while (cleanups.length > 0) await cleanups.pop()?.().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  }, 30_000);

  async function check(): Promise<CheckJson> {
    const result = await runCli(
      [
        "check",
        "--mesh",
        meshDir,
        "--coordinator",
        coordinatorAddress,
        "--key",
        path.join(meshDir, "keys", "FRA-border.key"),
        "--name",
        QUERY_NAME,
        "--dob",
        TRAVELLER.dob,
        "--json",
      ],
      { env: otelEnv, timeoutMs: 30_000 },
    );
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as CheckJson;
  }

  /** Waits until the client's, the coordinator's and every node's span of `traceId` have arrived. */
  function traceOf(traceId: string): Promise<ReceivedSpan[]> {
    const complete = (spans: ReceivedSpan[]): boolean => {
      const names = spans.filter((span) => span.traceId === traceId).map((span) => span.name);
      return (
        names.includes("watchmesh.client.check") &&
        names.includes("watchmesh.coordinator.check") &&
        names.filter((name) => name === "watchmesh.node.match").length >= COUNTRIES.length
      );
    };
    return receiver.waitFor(complete, { timeoutMs: 20_000 }).then((spans) => spans.filter((span) => span.traceId === traceId));
  }

  it("exports one tree per check: client root, coordinator child, one node.match per country with its status; no personal data in span attributes", async () => {
    const answer = await check();
    expect(answer.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.fromEntries(answer.results.map((result) => [result.country, result.status]))).toEqual({ DEU: "hit", ESP: "no_hit", FRA: "no_hit" });

    const spans = await traceOf(answer.traceId);
    // Nothing of this trace was sent under another trace id, and nothing unexpected was added to it.
    const byQuery = receiver.spans().filter((span) => span.attributes["watchmesh.query_id"] === answer.queryId);
    expect(byQuery.every((span) => span.traceId === answer.traceId)).toBe(true);
    expect(spans.map((span) => span.name).sort()).toEqual([
      "watchmesh.client.check",
      "watchmesh.coordinator.check",
      ...COUNTRIES.map(() => "watchmesh.node.match"),
    ]);

    const roots = spans.filter((span) => span.parentSpanId === "");
    expect(roots.map((span) => span.name)).toEqual(["watchmesh.client.check"]);
    const root = roots[0]!;
    expect(root.serviceName).toBe("watchmesh-border-client");
    expect(root.kind).toBe("SPAN_KIND_CLIENT");
    expect(root.attributes["watchmesh.query_id"]).toBe(answer.queryId);
    expect(root.attributes["watchmesh.hit_countries"]).toBe(1);

    const coordinator = spans.filter((span) => span.name === "watchmesh.coordinator.check");
    expect(coordinator).toHaveLength(1);
    expect(coordinator[0]!.parentSpanId).toBe(root.spanId);
    expect(coordinator[0]!.serviceName).toBe("watchmesh-coordinator");
    expect(coordinator[0]!.attributes).toMatchObject({ "watchmesh.countries_asked": 3, "watchmesh.hit_countries": 1, "watchmesh.unavailable_countries": 0 });

    const matches = spans.filter((span) => span.name === "watchmesh.node.match");
    for (const match of matches) expect(match.parentSpanId).toBe(coordinator[0]!.spanId);
    const statusByCountry = Object.fromEntries(matches.map((match) => [match.attributes["watchmesh.country"], match.attributes["watchmesh.status"]]));
    expect(statusByCountry).toEqual({ DEU: "hit", ESP: "no_hit", FRA: "no_hit" });
    expect(matches.map((match) => match.serviceName).sort()).toEqual(COUNTRIES.map((country) => `watchmesh-node-${country}`));

    // Ids are well-formed and unique; no span of the check failed.
    expect(new Set(spans.map((span) => span.spanId)).size).toBe(spans.length);
    for (const span of spans) {
      expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(span.status.code).not.toBe("STATUS_CODE_ERROR");
    }

    // No name or date of birth in any span attribute of anything exported so far.
    expect(receiver.spans().flatMap((span) => leaks(span.attributes))).toEqual([]);
    // The check itself cannot pass without the name and date of birth having been sent: the leak check can fail.
    expect(FORBIDDEN.some((pattern) => pattern.test(`${QUERY_NAME} ${TRAVELLER.dob}`))).toBe(true);
  }, 60_000);

  // The SDK's default process detector would export the command line as the resource attribute
  // process.command_args, and `watchmesh check --name ... --dob ...` carries the traveller's name and date
  // of birth there; common/telemetry-sdk.ts leaves that detector out.
  it("exports no personal data in resource attributes either (process.command_args)", async () => {
    const answer = await check();
    const spans = await traceOf(answer.traceId);
    expect(spans.flatMap((span) => leaks(span.resource))).toEqual([]);
  }, 60_000);
});
