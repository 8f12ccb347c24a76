/**
 * Federated analysis on one node: an aggregate query through the path a CountryNode runs (the analyst's
 * signature, replay memory, policy, a scan of every record counted by month, category and designation,
 * the audit log's hits, small-cell suppression, the signed answer), beside a raw LMDB scan of the same
 * records in the same run. Prints wall and CPU time per query and records scanned per second.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { open } from "lmdb";
import { DEFAULT_REPORT_MONTHS, firstOfMonths, lastCompleteMonth, signAggregateQuery } from "../common/aggregate-query.ts";
import { silentLogger } from "../common/logger.ts";
import { AggregateDimension, decodeAggregateAnswer, Purpose, type AggregateQuery } from "../common/proto.ts";
import { AggregateService } from "../node/aggregate-service.ts";
import { AuditLog } from "../node/audit-log.ts";
import { generateSampleRecords, importNdjson, RecordStore, ReplayGuard, SharingPolicy } from "../node/index.ts";
import { makeTrust } from "../test/helpers/identities.ts";
import { makeTempDir } from "../test/helpers/temp-dir.ts";
import { argValue, cpuMicros, printFigures, round } from "./stats.ts";

function aggregateQuery(country: string, agency: string, epsilon: number): AggregateQuery {
  const toMonth = lastCompleteMonth();
  const fromMonth = firstOfMonths(toMonth, DEFAULT_REPORT_MONTHS);
  const issuedAtMs = Date.now();
  return {
    queryId: randomUUID(),
    requestingCountry: country,
    requestingAgency: agency,
    purpose: Purpose.Analysis,
    legalBasis: "bench",
    issuedAtMs,
    expiresAtMs: issuedAtMs + 60_000,
    nonce: new Uint8Array(randomBytes(16)),
    fromMonth,
    toMonth,
    groupBy: [AggregateDimension.Month, AggregateDimension.Category, AggregateDimension.Designation],
    categories: [],
    epsilon,
  };
}

export async function runAggregateBench(args: string[], json: boolean): Promise<void> {
  const persons = argValue(args, "--persons", 100_000);
  const entities = argValue(args, "--entities", Math.round(persons / 4));
  const queries = argValue(args, "--queries", 5);
  const temp = await makeTempDir("watchmesh-bench-aggregate-");
  const trust = await makeTrust(["BEN"]);
  const identity = trust.nodes.get("BEN");
  if (!identity) throw new Error("missing identity");
  const store = await RecordStore.open({ path: temp.path });
  const audit = await AuditLog.open({ dataDir: temp.path, identity, logger: silentLogger() });
  const replayGuard = ReplayGuard.open(store);
  try {
    const ndjson = path.join(temp.path, "records.ndjson");
    await writeFile(ndjson, generateSampleRecords({ country: "BEN", persons, entities, seed: 7 }).map((record) => JSON.stringify(record)).join("\n") + "\n");
    await importNdjson(store, { path: ndjson });
    const service = new AggregateService({
      identity,
      registry: () => trust.registry,
      policy: () => SharingPolicy.allowAll(),
      records: () => store.records(),
      recordForReference: () => undefined,
      auditEntries: async () => {
        await audit.flush();
        return audit.entries();
      },
      replayGuard,
      logger: silentLogger(),
    });
    const measure = async (epsilon: number) => {
      let wallMs = 0;
      let cpuUs = 0;
      let cells = 0;
      for (let i = 0; i < queries; i++) {
        const envelope = signAggregateQuery(aggregateQuery(trust.analyst.country, trust.analyst.agency, epsilon), trust.analyst);
        const startedCpu = cpuMicros();
        const started = performance.now();
        const answer = decodeAggregateAnswer((await service.answer(envelope)).payload);
        wallMs += performance.now() - started;
        cpuUs += cpuMicros() - startedCpu;
        if (answer.errorCode) throw new Error(`aggregate query refused: ${answer.errorCode}`);
        cells = answer.cells.length;
      }
      return { wallMs: wallMs / queries, cpuMs: cpuUs / 1000 / queries, cells };
    };
    const exact = await measure(0);
    const noised = await measure(1);

    // Raw baseline: the same records, read and decoded by a plain LMDB range scan.
    const rawEnv = open({ path: temp.path, maxDbs: 8, readOnly: true });
    const raw = rawEnv.openDB<{ recordedAt?: string }, string>("records", { encoding: "json" });
    const rawStart = performance.now();
    let scanned = 0;
    for (let i = 0; i < queries; i++) for (const { value } of raw.getRange()) if (value.recordedAt !== undefined) scanned++;
    const rawMs = (performance.now() - rawStart) / queries;
    await rawEnv.close();
    const total = persons + entities;
    if (scanned === 0) throw new Error("raw scan found no records; the sub-database name may differ");
    printFigures(
      `aggregate query on one node (${total} records: ${persons} persons, ${entities} entities; grouped by month, category, designation over 12 months)`,
      {
        "exact counts ms/query (wall)": round(exact.wallMs, 1),
        "exact counts CPU ms/query": round(exact.cpuMs, 1),
        "records/s counted": round(total / (exact.wallMs / 1000), 0),
        "cells released (exact)": exact.cells,
        "noised (epsilon 1) ms/query (wall)": round(noised.wallMs, 1),
        "cells released (noised)": noised.cells,
        "raw LMDB scan ms/pass": round(rawMs, 1),
        "aggregate / raw scan": round(exact.wallMs / rawMs, 2),
      },
      json,
    );
  } finally {
    await audit.close();
    await replayGuard.flush();
    await store.close();
    await temp.remove();
  }
}
