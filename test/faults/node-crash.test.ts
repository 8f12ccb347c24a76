/**
 * A country node killed with SIGKILL: first the real `watchmesh node import` in the middle of an import
 * (after its first transaction committed, during the second), then the real `watchmesh node serve`
 * while checks are in flight. The LMDB store stays consistent (every record with exactly its index
 * entries, counters equal to the records), re-running the import completes it with no record lost or
 * duplicated and is then idempotent, the country is reported unavailable during the outage while the
 * rest of each check is unaffected, and it answers again once the node is back, with no change to the
 * coordinator or the border client.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { open } from "lmdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BorderClient, type CheckResult } from "../../client/border-client.ts";
import { silentLogger } from "../../common/logger.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { CountryNode, RecordStore, type PersonRecord } from "../../node/index.ts";
import { runCli, spawnCli, type CliProcess } from "../helpers/cli.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { openStoreReader, snapshotStore, type StoreSnapshot } from "../helpers/store-check.ts";
import { reportFigure } from "../helpers/report.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { writeTrustFiles, type TrustFiles } from "../helpers/trust-files.ts";
import { waitFor } from "../helpers/wait.ts";

/** The CLI imports in transactions of 100,000 lines (node/importer.ts DEFAULT_IMPORT_BATCH_SIZE). */
const CLI_BATCH_LINES = 100_000;
/** Persons in the first transaction; the rest of it is padding (deletes of ids never stored, cheap to apply). */
const FIRST_BATCH_PERSONS = 10_000;
/** Persons in the second transaction, the one the kill interrupts. */
const SECOND_BATCH_PERSONS = 8_000;
const TOTAL_PERSONS = FIRST_BATCH_PERSONS + SECOND_BATCH_PERSONS;
const PADDING = CLI_BATCH_LINES - FIRST_BATCH_PERSONS;

function person(index: number): PersonRecord {
  return {
    kind: "person",
    id: `DEU-P-${index}`,
    names: [`Probe${index.toString(36)} Crashtest`],
    dob: `${1940 + (index % 60)}-0${1 + (index % 9)}-${10 + (index % 18)}`,
    documents: [{ type: "passport", number: `CZ${String(10_000_000 + index)}`, country: "DEU" }],
    action: "specific_check",
  };
}

/** A few persons of each part of the file: their references are looked up in the restored store. */
const SAMPLE = [0, 1, 777, FIRST_BATCH_PERSONS - 1, FIRST_BATCH_PERSONS, FIRST_BATCH_PERSONS + 4321, TOTAL_PERSONS - 1];

let temp: { path: string; remove: () => Promise<void> } | undefined;
let trust: TestTrust | undefined;
let files: TrustFiles | undefined;
let nats: RunningNatsServer | undefined;
let coordinator: Coordinator | undefined;
let client: BorderClient | undefined;
let esp: CountryNode | undefined;
const children: CliProcess[] = [];
let dataDir = "";
let recordsFile = "";
/** Reference of each sampled record, from the store after the import was completed. */
const references = new Map<number, string>();
let completed: StoreSnapshot | undefined;

beforeAll(async () => {
  temp = await makeTempDir("watchmesh-crash-");
  trust = await makeTrust(["DEU", "ESP"]);
  files = await writeTrustFiles(trust, path.join(temp.path, "keys"));
  dataDir = path.join(temp.path, "DEU");
  recordsFile = path.join(temp.path, "records.ndjson");
  const lines: string[] = [];
  // First transaction: the persons spread among the padding lines; second: the rest of the persons.
  const stride = CLI_BATCH_LINES / FIRST_BATCH_PERSONS;
  for (let line = 0; line < CLI_BATCH_LINES; line++) {
    lines.push(line % stride === 0 ? JSON.stringify(person(line / stride)) : JSON.stringify({ op: "delete", id: `DEU-NEVER-${line}` }));
  }
  for (let index = FIRST_BATCH_PERSONS; index < TOTAL_PERSONS; index++) lines.push(JSON.stringify(person(index)));
  await writeFile(recordsFile, lines.join("\n") + "\n");
}, 30_000);

afterAll(async () => {
  for (const child of children) await child.kill();
  client?.close();
  await coordinator?.stop();
  await esp?.stop();
  await nats?.stop();
  await temp?.remove();
}, 30_000);

describe("a node killed with SIGKILL", () => {
  it("(the consistency check itself finds a lost index entry, a stray one and a wrong counter)", async () => {
    const dir = path.join(temp?.path ?? "", "damaged");
    const store = await RecordStore.open({ path: dir });
    for (let index = 0; index < 5; index++) await store.upsert(person(index));
    await store.close();
    const intact = await snapshotStore(dir);
    expect(intact.problems).toEqual([]);
    const root = open({ path: dir, noSubdir: false, maxDbs: 8 });
    const index = root.openDB<string, string>("index", { dupSort: true, encoding: "ordered-binary" });
    const meta = root.openDB<unknown, string>("meta", { encoding: "json" });
    await root.transaction(() => {
      void index.remove("docnum:CZ10000001", "DEU-P-1");
      void index.put("docnum:CZ99", "DEU-P-404");
      void meta.put("persons", 6);
    });
    await root.close();
    const damaged = await snapshotStore(dir);
    expect(damaged.problems).toEqual(
      expect.arrayContaining([
        "record DEU-P-1 lacks its index entry docnum:CZ10000001",
        "index docnum:CZ99 points to missing record DEU-P-404",
        "meta counts 6 persons, the store holds 5",
      ]),
    );
    expect(damaged.digest).not.toBe(intact.digest);
  });

  it("mid-import: the store stays consistent, and re-running the import completes it without loss or duplicates, idempotently", async () => {
    const importing = spawnCli(["node", "import", "--data", dataDir, "--file", recordsFile, "--json", "--no-progress"]);
    children.push(importing);
    await waitFor(() => existsSync(path.join(dataDir, "data.mdb")), { timeoutMs: 20_000, what: "the import to create the store" });
    const reader = openStoreReader(dataDir);
    let seenBeforeKill = 0;
    try {
      // The first transaction committed: the import is half done. Kill it while it writes the second.
      await waitFor(() => reader.persons() >= FIRST_BATCH_PERSONS, { timeoutMs: 30_000, intervalMs: 10, what: "the first import transaction to commit" });
      seenBeforeKill = reader.persons();
      const exit = await importing.kill("SIGKILL");
      expect(exit.signal, `the import finished before it could be killed:\n${importing.output()}`).toBe("SIGKILL");
    } finally {
      await reader.close();
    }

    const afterKill = await snapshotStore(dataDir);
    expect(afterKill.problems).toEqual([]);
    // The first transaction is there whole; the second is there whole or not at all (it was interrupted).
    expect([FIRST_BATCH_PERSONS, TOTAL_PERSONS]).toContain(afterKill.persons);
    expect(seenBeforeKill).toBe(FIRST_BATCH_PERSONS);
    // Normally the kill lands in the second transaction (it takes about a second); should it land in the
    // instant between its commit and the process's exit, the re-run below finds everything stored.
    const missingAfterKill = TOTAL_PERSONS - afterKill.persons;

    const rerun = await runCli(["node", "import", "--data", dataDir, "--file", recordsFile, "--json", "--no-progress"], { timeoutMs: 60_000 });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout)).toEqual({
      lines: CLI_BATCH_LINES + SECOND_BATCH_PERSONS,
      inserted: missingAfterKill,
      updated: 0,
      unchanged: afterKill.persons,
      deleted: 0,
      notFound: PADDING,
      rejected: [],
    });
    completed = await snapshotStore(dataDir);
    expect(completed.problems).toEqual([]);
    expect({ persons: completed.persons, entities: completed.entities }).toEqual({ persons: TOTAL_PERSONS, entities: 0 });

    const again = await runCli(["node", "import", "--data", dataDir, "--file", recordsFile, "--json", "--no-progress"], { timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ inserted: 0, updated: 0, unchanged: TOTAL_PERSONS, notFound: PADDING, rejected: [] });
    const idempotent = await snapshotStore(dataDir);
    expect(idempotent.digest).toBe(completed.digest);
    expect(idempotent.counters.generation, "a re-import that changes nothing writes nothing").toBe(completed.counters.generation);

    // Every sampled record, from both transactions, is stored as imported.
    const store = await RecordStore.open({ path: dataDir });
    try {
      for (const index of SAMPLE) {
        const source = person(index);
        expect(store.get(source.id), source.id).toMatchObject({ names: source.names, dob: source.dob, documents: source.documents });
        references.set(index, store.referenceFor(source.id));
      }
    } finally {
      await store.close();
    }
    reportFigure(`node crash: import killed with ${afterKill.persons} of ${TOTAL_PERSONS} persons committed; re-run inserted ${missingAfterKill}, store consistent (${completed.indexEntries} index entries), third run unchanged`);
  }, 120_000);

  it("mid-query: the country is unavailable during the outage, the rest of each check unaffected, and it recovers by itself", async () => {
    if (!trust || !files || !completed) throw new Error("the import test did not complete");
    nats = await startNatsServer();
    const espIdentity = trust.nodes.get("ESP");
    if (!espIdentity || !temp) throw new Error("no ESP identity");
    esp = await CountryNode.start({ identity: espIdentity, registry: trust.registry, dataDir: path.join(temp.path, "ESP"), natsServers: nats.url, logger: silentLogger() });
    const espRecord: PersonRecord = { kind: "person", id: "ESP-P-1", names: ["Lucia Crashtest"], dob: "1977-07-07", documents: [{ type: "passport", number: "PAA123456", country: "ESP" }] };
    await esp.store.upsert(espRecord);
    coordinator = await Coordinator.start({ registry: trust.registry, natsServers: nats.url, grpcAddress: "127.0.0.1:0", logger: silentLogger() });
    client = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${coordinator.grpcPort}`, identity: trust.border, registry: trust.registry });
    const serveArgs = ["node", "serve", "--data", dataDir, "--key", files.nodeKey("DEU"), "--registry", files.registry, "--root-key", files.rootKey, "--nats", nats.url];
    const serving = spawnCli(serveArgs, { env: { WATCHMESH_LOG_LEVEL: "warn" } });
    children.push(serving);
    await serving.waitForOutput(/node DEU serving/);

    // Checks alternate between a sampled DEU person (hit at DEU) and ESP's person (hit at ESP).
    type Phase = "before" | "killing" | "outage" | "restarting" | "after";
    let phase: Phase = "before";
    const results: { phase: Phase; i: number; result: CheckResult }[] = [];
    const failures: string[] = [];
    let inFlight = 0;
    let stop = false;
    const expectedFor = (i: number): { DEU: string; ESP: string; reference: string } => {
      const index = SAMPLE[i % SAMPLE.length] ?? 0;
      return i % 2 === 0
        ? { DEU: "hit", ESP: "no_hit", reference: references.get(index) ?? "?" }
        : { DEU: "no_hit", ESP: "hit", reference: "" };
    };
    const subjectFor = (i: number) => {
      if (i % 2 === 1) return { person: { documents: espRecord.documents ?? [] } };
      const source = person(SAMPLE[i % SAMPLE.length] ?? 0);
      return { person: { names: source.names, dob: source.dob ?? "", documents: source.documents ?? [] } };
    };
    const count = (wanted: Phase, predicate: (result: CheckResult, i: number) => boolean = () => true): number =>
      results.filter((entry) => entry.phase === wanted && predicate(entry.result, entry.i)).length;
    let next = 0;
    const loop = async (): Promise<void> => {
      while (!stop) {
        const i = next++;
        const startedIn = phase;
        inFlight += 1;
        try {
          const result = await client?.check(subjectFor(i), { deadlineMs: 800 });
          // A check counts for the phase it started and ended in; checks straddling a kill or restart are ignored.
          if (result && phase === startedIn) results.push({ phase, i, result });
        } catch (error) {
          failures.push(`check ${i}: ${String(error)}`);
        } finally {
          inFlight -= 1;
        }
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    try {
      await waitFor(() => count("before") >= 40, { timeoutMs: 20_000, what: "40 checks with the node up" });
      const inFlightAtKill = inFlight;
      phase = "killing";
      const exit = await serving.kill("SIGKILL");
      expect(exit.signal).toBe("SIGKILL");
      // Checks started from here on have no DEU node to answer them.
      phase = "outage";
      expect(inFlightAtKill, "checks were in flight when the node was killed").toBeGreaterThan(0);
      await waitFor(() => count("outage") >= 12, { timeoutMs: 20_000, what: "12 checks during the outage" });

      // Consistent on disk after the crash, before the restart.
      const afterCrash = await snapshotStore(dataDir);
      expect(afterCrash.problems).toEqual([]);
      expect(afterCrash.digest, "answering queries never changes records or their index").toBe(completed.digest);

      phase = "restarting";
      const restarted = spawnCli(serveArgs, { env: { WATCHMESH_LOG_LEVEL: "warn" } });
      children.push(restarted);
      await restarted.waitForOutput(/node DEU serving/);
      phase = "after";
      // No operator action on the coordinator or the client: the next checks find DEU again.
      await waitFor(() => count("after", (result) => result.results.find((entry) => entry.country === "DEU")?.status === "hit") >= 10, {
        timeoutMs: 20_000,
        what: "DEU to answer again after its restart",
      });
    } finally {
      stop = true;
      await Promise.all(loops);
    }

    const statusOf = (result: CheckResult, country: string): string => result.results.find((entry) => entry.country === country)?.status ?? "missing";
    const wrong = results.filter(({ phase: p, i, result }) => {
      const expected = expectedFor(i);
      const deu = statusOf(result, "DEU");
      if (statusOf(result, "ESP") !== expected.ESP) return true;
      if (p === "outage") return deu !== "unavailable";
      if (p === "restarting" || p === "killing") return deu !== "unavailable" && deu !== expected.DEU;
      if (deu !== expected.DEU) return true;
      return deu === "hit" && result.results.find((entry) => entry.country === "DEU")?.hits[0]?.reference !== expected.reference;
    });
    reportFigure(
      `node crash: ${count("before")} checks before the kill, ${count("outage")} during the outage (DEU unavailable: ${count("outage", (r) => statusOf(r, "DEU") === "unavailable")}), ` +
        `${count("after")} after the restart (DEU answered: ${count("after", (r) => statusOf(r, "DEU") !== "unavailable")}); wrong ${wrong.length}, failed ${failures.length}`,
    );
    expect(failures).toEqual([]);
    expect(wrong.map(({ phase: p, i, result }) => `${p} ${i}: ${result.results.map((entry) => `${entry.country}:${entry.status}`).join(" ")}`)).toEqual([]);
    // After the restart every check gets DEU's answer (the node came back with its store intact).
    expect(count("after", (result) => statusOf(result, "DEU") === "unavailable")).toBe(0);
    const afterRestart = await snapshotStore(dataDir);
    expect(afterRestart.problems).toEqual([]);
    expect(afterRestart.persons).toBe(TOTAL_PERSONS);
  }, 120_000);
});
