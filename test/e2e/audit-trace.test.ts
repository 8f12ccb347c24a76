import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readSpanFile, type SpanRecord } from "../../common/span-file.ts";
import type { AuditEntry } from "../../node/index.ts";
import { demoCountries } from "../../client/cli/demo-countries.ts";
import { runCli } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface TrailJson {
  queryId: string;
  traceId: string | null;
  spans: SpanRecord[];
  nodes: { dir: string; country?: string; entries: AuditEntry[] }[];
}

describe("watchmesh audit trace", () => {
  it("follows a demo query through the demo's span file and a node's audit log", async () => {
    const tmp = await makeTempDir();
    cleanups.push(tmp.remove);
    const meshDir = path.join(tmp.path, "mesh");
    const countries = demoCountries(3);
    const demo = await runCli(["demo", "--countries", "3", "--persons", "300", "--entities", "100", "--no-progress", "--dir", meshDir], {
      timeoutMs: 90_000,
    });
    expect(demo.code, demo.stderr).toBe(0);
    const spanFile = path.join(meshDir, "traces.ndjson");
    expect(demo.stdout).toContain(`Spans written to ${spanFile}`);

    // The query to follow: one DEU answered with a hit (the demo's name check is on DEU's list).
    const records = await readSpanFile(spanFile);
    const deuHit = records.find(
      (span) => span.name === "watchmesh.node.match" && span.attributes["watchmesh.country"] === "DEU" && span.attributes["watchmesh.status"] === "hit",
    );
    const queryId = deuHit?.attributes["watchmesh.query_id"];
    expect(typeof queryId).toBe("string");
    if (typeof queryId !== "string" || !deuHit) return;

    const deuDir = path.join(meshDir, "nodes", "DEU");
    const result = await runCli(["audit", "trace", queryId, "--traces", spanFile, "--node", deuDir, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const trail = JSON.parse(result.stdout) as TrailJson;
    expect(trail.queryId).toBe(queryId);
    expect(trail.traceId).toBe(deuHit.traceId);
    expect(trail.spans.every((span) => span.traceId === deuHit.traceId)).toBe(true);

    // The tree: the border client's root, the coordinator under it, one node span per country under that.
    const roots = trail.spans.filter((span) => !trail.spans.some((other) => other.spanId === span.parentSpanId));
    expect(roots.map((span) => span.name)).toEqual(["watchmesh.client.check"]);
    const root = roots[0];
    expect(root?.parentSpanId).toBeUndefined();
    expect(root?.attributes["watchmesh.query_id"]).toBe(queryId);
    const coordinators = trail.spans.filter((span) => span.parentSpanId === root?.spanId);
    expect(coordinators.map((span) => span.name)).toEqual(["watchmesh.coordinator.check"]);
    const nodeSpans = trail.spans.filter((span) => span.parentSpanId === coordinators[0]?.spanId);
    expect(nodeSpans.every((span) => span.name === "watchmesh.node.match")).toBe(true);
    expect(nodeSpans.map((span) => span.attributes["watchmesh.country"]).sort()).toEqual([...countries].sort());
    expect(nodeSpans.find((span) => span.attributes["watchmesh.country"] === "DEU")?.attributes["watchmesh.status"]).toBe("hit");
    expect(trail.spans).toHaveLength(2 + countries.length);

    // DEU's audit log holds exactly this query's answer, with the record hit.
    expect(trail.nodes).toHaveLength(1);
    expect(trail.nodes[0]).toMatchObject({ dir: deuDir, country: "DEU" });
    const entries = trail.nodes[0]?.entries ?? [];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ queryId, status: "hit", errorCode: "", requesterCountry: "FRA" });
    expect(entries[0]?.hitReferences.length).toBeGreaterThan(0);

    // The same path for a person reading it.
    const text = await runCli(["audit", "trace", queryId, "--traces", spanFile, "--node", deuDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Trace ${deuHit.traceId}`);
    expect(text.stdout).toMatch(/^watchmesh\.client\.check .* ms/m);
    expect(text.stdout).toMatch(/^ {2}watchmesh\.coordinator\.check .* ms/m);
    expect(text.stdout).toMatch(/^ {4}watchmesh\.node\.match \[DEU hit\] .* ms/m);
    expect(text.stdout).toMatch(new RegExp(`^ {2}seq \\d+ \\S+ hit requester FRA/`, "m"));

    // A query id in neither source: a NOT_FOUND line and exit 1.
    const missing = await runCli(["audit", "trace", "00000000-0000-4000-8000-000000000000", "--traces", spanFile, "--node", deuDir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^watchmesh: query 00000000-0000-4000-8000-000000000000 is in neither .*\[NOT_FOUND\]$/m);
    expect(missing.stdout).toBe("");
  }, 150_000);
});
