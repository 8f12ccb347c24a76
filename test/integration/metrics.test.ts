import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQuery } from "../../common/envelope.ts";
import { ErrorCode } from "../../common/errors.ts";
import { silentLogger } from "../../common/logger.ts";
import { MetricsRegistry, startMetricsServer, type RunningMetricsServer } from "../../common/metrics.ts";
import { CoordinatorMetrics } from "../../coordinator/index.ts";
import { createMatcher, importNdjson, MatchService, NodeMetrics, RecordStore, SharingPolicy, type PersonRecord } from "../../node/index.ts";
import { makeTrust } from "../helpers/identities.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeQuery, personSubject } from "../helpers/queries.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const suspect: PersonRecord = {
  kind: "person",
  id: "DEU-P-1",
  names: ["Jean Dupont"],
  dob: "1980-05-01",
  documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }],
  action: "discreet_check",
};

/** The value of one sample line, e.g. sample(text, 'x_total{status="hit"}'); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("coordinator metrics over HTTP on a real mesh", () => {
  const registry = new MetricsRegistry();
  let mesh: TestMesh;
  let server: RunningMetricsServer;

  beforeAll(async () => {
    // UKR is registered but down; TUR shares only with Spain, so it refuses France.
    const onlySpain = SharingPolicy.parse(
      JSON.stringify({ format: "watchmesh-sharing-policy/v1", rules: [{ countries: ["ESP"], agencies: ["border-police"], purposes: ["border_check"], categories: ["person"] }] }),
    );
    mesh = await startTestMesh({
      countries: ["DEU", "ESP", "TUR", "UKR"],
      offline: ["UKR"],
      records: { DEU: [suspect] },
      defaultDeadlineMs: 800,
      nodeOptions: (country) => (country === "TUR" ? { sharingPolicy: onlySpain } : {}),
      coordinatorOptions: { metrics: new CoordinatorMetrics(registry) },
    });
    server = await startMetricsServer({ host: "127.0.0.1", port: 0, registry });
  });
  afterAll(async () => {
    await server?.stop();
    await mesh?.stop();
  });

  it("counts completed and rejected checks, rejections by code and results by country and status, without personal data", async () => {
    const hit = await mesh.client.check({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } });
    expect(hit.results.find((result) => result.country === "DEU")?.status).toBe("hit");
    const noHit = await mesh.client.check({ person: { names: ["Ingrid Vestergaard"], documents: [{ type: "passport", number: "Z98765432", country: "DNK" }] } });
    expect(noHit.results.find((result) => result.country === "DEU")?.status).toBe("no_hit");
    const now = Date.now();
    const expiredQuery = makeQuery({ issuedAtMs: now - 200_000, expiresAtMs: now - 100_000, person: personSubject({ names: ["Olga Petrenko"], dob: "1969-12-24" }) });
    await expect(mesh.coordinator.check(signQuery(expiredQuery, mesh.trust.border))).rejects.toMatchObject({ code: ErrorCode.QueryExpired });

    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await response.text();

    expect(text).toContain("# TYPE watchmesh_coordinator_checks_total counter\n");
    expect(sample(text, 'watchmesh_coordinator_checks_total{outcome="completed"}')).toBe(2);
    expect(sample(text, 'watchmesh_coordinator_checks_total{outcome="rejected"}')).toBe(1);
    expect(sample(text, 'watchmesh_coordinator_rejections_total{code="QUERY_EXPIRED"}')).toBe(1);
    expect(sample(text, 'watchmesh_coordinator_country_results_total{country="DEU",status="hit"}')).toBe(1);
    expect(sample(text, 'watchmesh_coordinator_country_results_total{country="DEU",status="no_hit"}')).toBe(1);
    expect(sample(text, 'watchmesh_coordinator_country_results_total{country="ESP",status="no_hit"}')).toBe(2);
    expect(sample(text, 'watchmesh_coordinator_country_results_total{country="TUR",status="refused"}')).toBe(2);
    expect(sample(text, 'watchmesh_coordinator_country_results_total{country="UKR",status="unavailable"}')).toBe(2);
    expect(sample(text, 'watchmesh_coordinator_check_duration_seconds_count{outcome="completed"}')).toBe(2);
    expect(sample(text, 'watchmesh_coordinator_check_duration_seconds_bucket{outcome="completed",le="+Inf"}')).toBe(2);
    expect(sample(text, 'watchmesh_coordinator_check_duration_seconds_count{outcome="rejected"}')).toBe(1);
    // The unavailable country kept each completed check waiting for the 800 ms deadline.
    expect(sample(text, 'watchmesh_coordinator_check_duration_seconds_sum{outcome="completed"}')).toBeGreaterThanOrEqual(1.5);

    for (const secret of [
      "Jean", "Dupont", "1980-05-01", "C01X00T47", "Vestergaard", "Z98765432", "Petrenko", "1969-12-24",
      hit.queryId, noHit.queryId, expiredQuery.queryId, "border-police", "DEU-P-1", "DEU-R-",
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it("counts batch checks, their travellers and per-country results", async () => {
    const before = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const batch = await mesh.client.checkBatch(
      [{ person: { names: ["Jean Dupont"], dob: "1980-05-01" } }, { person: { names: ["Ingrid Vestergaard"], dob: "1975-03-02" } }],
      { deadlineMs: 800 },
    );
    expect(batch.travellers).toHaveLength(2);
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const grew = (series: string) => (sample(text, series) ?? Number.NaN) - (sample(before, series) ?? 0);
    expect(grew('watchmesh_coordinator_batches_total{outcome="completed"}')).toBe(1);
    expect(grew("watchmesh_coordinator_batch_travellers_total")).toBe(2);
    expect(grew('watchmesh_coordinator_country_results_total{country="DEU",status="hit"}')).toBe(1);
    expect(grew('watchmesh_coordinator_country_results_total{country="UKR",status="unavailable"}')).toBe(2);
    expect(grew('watchmesh_coordinator_batch_duration_seconds_count{outcome="completed"}')).toBe(1);
    // Single-check counters are untouched by a batch.
    expect(grew('watchmesh_coordinator_checks_total{outcome="completed"}')).toBe(0);
  });

  it("answers 404 to any other path or method", async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics/x`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: "POST", body: "x" })).status).toBe(404);
  });

  it("stops once, closing kept-alive connections, and then refuses connections", async () => {
    const other = await startMetricsServer({ host: "127.0.0.1", port: 0, registry });
    expect((await fetch(`http://127.0.0.1:${other.port}/metrics`)).status).toBe(200); // leaves a keep-alive connection
    const first = other.stop();
    expect(other.stop()).toBe(first);
    await first;
    await expect(fetch(`http://127.0.0.1:${other.port}/metrics`)).rejects.toThrow();
  });

  it("fails with UNAVAILABLE when the port is taken", async () => {
    await expect(startMetricsServer({ host: "127.0.0.1", port: server.port, registry })).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });
});

describe("node metrics from a real MatchService and store", () => {
  const registry = new MetricsRegistry();
  const metrics = new NodeMetrics(registry);
  let store: RecordStore;
  let temp: Awaited<ReturnType<typeof makeTempDir>>;

  beforeAll(async () => {
    temp = await makeTempDir("watchmesh-metrics-");
    store = await RecordStore.open({ path: temp.path, defaultRegion: "NLD" });
    metrics.watchStore(store);
  });
  afterAll(async () => {
    await store?.close();
    await temp?.remove();
  });

  it("counts answers by status, refusals by code, hits, latency, records and import outcomes", async () => {
    const ndjson = [
      JSON.stringify({ ...suspect, id: "NLD-P-1", documents: [{ type: "passport", number: "C01X00T47", country: "NLD" }] }),
      JSON.stringify({ kind: "entity", id: "NLD-E-1", type: "phone", value: "+31 6 12345678" }),
      "{not json",
    ].join("\n");
    // The store keeps the import totals; the node's metrics read them at the scrape.
    await importNdjson(store, { stream: Readable.from([ndjson]) });

    const trust = await makeTrust(["NLD"]);
    const identity = trust.nodes.get("NLD");
    if (!identity) throw new Error("missing identity");
    const service = new MatchService({
      identity,
      registry: () => trust.registry,
      matcher: createMatcher(store, { country: "NLD" }),
      referenceFor: (id) => store.referenceFor(id),
      logger: silentLogger(),
      onAnswered: metrics.onAnswered,
    });
    const hitQuery = makeQuery({ person: personSubject({ names: ["Jean Dupont"], dob: "1980-05-01" }) });
    const noHitQuery = makeQuery({ person: personSubject({ names: ["Ingrid Vestergaard"], dob: "1991-07-14" }) });
    const now = Date.now();
    const expiredQuery = makeQuery({ issuedAtMs: now - 200_000, expiresAtMs: now - 100_000 });
    service.answer(signQuery(hitQuery, trust.border));
    service.answer(signQuery(noHitQuery, trust.border));
    service.answer(signQuery(expiredQuery, trust.border));
    service.answerBytes(new Uint8Array([0xff, 0x01, 0x02]));

    const text = registry.render();
    expect(sample(text, 'watchmesh_node_queries_total{status="hit"}')).toBe(1);
    expect(sample(text, 'watchmesh_node_queries_total{status="no_hit"}')).toBe(1);
    expect(sample(text, 'watchmesh_node_queries_total{status="refused"}')).toBe(2);
    expect(sample(text, 'watchmesh_node_queries_total{status="error"}')).toBe(0);
    expect(sample(text, 'watchmesh_node_refusals_total{code="QUERY_EXPIRED"}')).toBe(1);
    expect(sample(text, 'watchmesh_node_refusals_total{code="MALFORMED_MESSAGE"}')).toBe(1);
    expect(sample(text, "watchmesh_node_hits_total")).toBe(1);
    expect(sample(text, "watchmesh_node_query_duration_seconds_count")).toBe(4);
    expect(sample(text, 'watchmesh_node_query_duration_seconds_bucket{le="+Inf"}')).toBe(4);
    expect(sample(text, 'watchmesh_node_records{kind="persons"}')).toBe(1);
    expect(sample(text, 'watchmesh_node_records{kind="entities"}')).toBe(1);
    expect(sample(text, 'watchmesh_node_import_records_total{outcome="inserted"}')).toBe(2);
    expect(sample(text, 'watchmesh_node_import_records_total{outcome="rejected"}')).toBe(1);
    expect(sample(text, 'watchmesh_node_import_records_total{outcome="unchanged"}')).toBe(0);
    expect(service.answeredCount).toBe(4);

    for (const secret of ["Jean", "Dupont", "1980-05-01", "C01X00T47", "Vestergaard", "NLD-P-1", store.referenceFor("NLD-P-1"), hitQuery.queryId, noHitQuery.queryId, expiredQuery.queryId]) {
      expect(text).not.toContain(secret);
    }
  });

  it("samples record counts again at every render", async () => {
    await store.upsert({ kind: "person", id: "NLD-P-2", names: ["Piet Jansen"], dob: "1970-01-01", action: "inform_owner" });
    expect(sample(registry.render(), 'watchmesh_node_records{kind="persons"}')).toBe(2);
  });
});
