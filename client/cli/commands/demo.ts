import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import type { Logger } from "../../../common/logger.ts";
import { MESH_SPAN_FILE_NAME } from "../../../common/span-file.ts";
import { startTelemetry } from "../../../common/telemetry-sdk.ts";
import { AuditDesk, ConsoleServer, OfficerDesk, ReportDesk } from "../../../console/index.ts";
import { generateSampleRecords, type EntityRecord, type NativeRecord, type PersonRecord } from "../../../node/index.ts";
import { AnalystClient } from "../../analyst-client.ts";
import { BorderClient, type CheckResult, type CheckSubject } from "../../border-client.ts";
import { demoCountries, MAX_DEMO_COUNTRIES } from "../demo-countries.ts";
import { prepareSampleData, sampleSeed, startLocalMesh } from "../local-mesh.ts";
import { initMesh, loadIdentity } from "../mesh-layout.ts";
import { renderReportHtml } from "../../report/report-html.ts";
import { buildReport, type ReportModel } from "../../report/report-model.ts";
import { firstOfMonths, lastCompleteMonth } from "../../../common/aggregate-query.ts";
import { SAMPLE_MONTHS } from "../../../node/sample-timeline.ts";
import { renderReportSummary } from "./report.ts";
import { renderCheck, summarise } from "../render.ts";
import { parsePositiveInt } from "./options.ts";
import type { CliRuntime } from "./runtime.ts";
import { renderTraceTree } from "./trace-tree.ts";

interface DemoFlags {
  countries: number;
  persons: number;
  entities: number;
  keep?: boolean;
  dir?: string;
  progress: boolean;
}

interface DemoCheck {
  title: string;
  subject: CheckSubject;
}

/** How long the demo waits for the owners' nodes to store their hit notifications. */
const NOTIFICATION_WAIT_MS = 5000;
const BORDER_COUNTRY = "FRA";

/** Picks demo travellers from the generated sample data, so the hits are real lookups in LMDB. */
function demoChecks(countries: string[], sample: { persons: number; entities: number }): DemoCheck[] {
  const recordsOf = (country: string): NativeRecord[] =>
    generateSampleRecords({ country, persons: sample.persons, entities: sample.entities, seed: sampleSeed(country) });
  const checks: DemoCheck[] = [];
  const nameCountry = countries[1 % countries.length] ?? BORDER_COUNTRY;
  const wanted = recordsOf(nameCountry).find(
    (record): record is PersonRecord => record.kind === "person" && record.dob?.length === 10 && record.action === "discreet_check",
  );
  if (wanted?.dob && wanted.names[0]) {
    // Surname first, as a passport's MRZ would give it: the match does not depend on name order.
    const reordered = wanted.names[0].split(/\s+/).reverse().join(" ");
    checks.push({
      title: `Traveller by name and date of birth (on ${nameCountry}'s list, name order reversed)`,
      subject: { person: { names: [reordered], dob: wanted.dob } },
    });
  }
  const docCountry = countries[2 % countries.length] ?? BORDER_COUNTRY;
  const documented = recordsOf(docCountry).find(
    (record): record is PersonRecord => record.kind === "person" && (record.documents?.length ?? 0) > 0,
  );
  const document = documented?.documents?.[0];
  if (document) {
    // Typed the way an officer might: lower case with a space in the middle.
    const typed = `${document.number.slice(0, 4)} ${document.number.slice(4)}`.toLowerCase();
    checks.push({
      title: `Travel document only (${document.type} issued by ${document.country}, in ${docCountry}'s records)`,
      subject: { person: { documents: [{ type: document.type, number: typed, country: document.country }] } },
    });
  }
  const phoneCountry = countries[4 % countries.length] ?? BORDER_COUNTRY;
  const phone = recordsOf(phoneCountry).find((record): record is EntityRecord => record.kind === "entity" && record.type === "phone");
  if (phone) checks.push({ title: `Phone number found on a device (${phoneCountry}'s records)`, subject: { entity: { type: "phone", value: phone.value } } });
  checks.push({
    title: "Ordinary traveller (on no list)",
    subject: { person: { names: ["Ingrid Vestergaard-Holm"], dob: "1991-07-14", nationality: ["DNK"] } },
  });
  return checks;
}

async function runDemo(flags: DemoFlags, runtime: CliRuntime): Promise<void> {
  if (flags.countries > MAX_DEMO_COUNTRIES) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, `--countries is at most ${MAX_DEMO_COUNTRIES}`);
  }
  const dir = flags.dir ?? (await mkdtemp(path.join(tmpdir(), "watchmesh-demo-")));
  const removeDir = flags.dir === undefined && !flags.keep;
  // Every span of this process (client, coordinator and nodes all run here) also goes to a file that
  // `watchmesh audit trace` reads; it goes away with a temporary mesh directory.
  const spanFile = path.join(dir, MESH_SPAN_FILE_NAME);
  const telemetry = startTelemetry({ serviceName: "watchmesh-demo", collectSpansInMemory: true, spanFile });
  const countries = demoCountries(flags.countries);
  const sample = { persons: flags.persons, entities: flags.entities };
  const out = (line: string) => process.stdout.write(line + "\n");
  let mesh: Awaited<ReturnType<typeof startLocalMesh>> | undefined;
  let client: BorderClient | undefined;
  let webConsole: ConsoleServer | undefined;
  let analystClient: AnalystClient | undefined;
  try {
    out(`Watchmesh demo: ${countries.length} country nodes (${countries.join(", ")}) on loopback, mesh directory ${dir}`);
    const layout = await initMesh({ dir, countries, borderCountry: BORDER_COUNTRY });
    out(`Keys and a signed trust registry created; the border system acts for ${BORDER_COUNTRY}.`);
    out(`Importing ${sample.persons} persons and ${sample.entities} entities of sample data per country into LMDB ...`);
    const bar = flags.progress && process.stderr.isTTY
      ? new cliProgress.SingleBar({ format: "  {country} [{bar}] {lines} lines" }, cliProgress.Presets.shades_classic)
      : undefined;
    bar?.start(countries.length * (sample.persons + sample.entities), 0, { country: "", lines: 0 });
    let done = 0;
    const reports = await prepareSampleData(layout, countries, sample, (country, lines) => bar?.update(done + lines, { country, lines }));
    for (const report of reports.values()) done += report.lines;
    bar?.update(done);
    bar?.stop();
    out(`  ${done} records imported.`);

    const notified = new Map<string, number>();
    let notificationArrived = (): void => undefined;
    mesh = await startLocalMesh({
      layout,
      countries,
      borderCountry: BORDER_COUNTRY,
      onNotificationHandled: (country, stored) => {
        if (stored) notified.set(country, (notified.get(country) ?? 0) + 1);
        notificationArrived();
      },
      ...(runtime.natsUrl ? { natsUrl: runtime.natsUrl } : {}),
      logger: demoLogger(runtime),
    });
    out(`NATS at ${mesh.natsUrl}; coordinator gRPC at ${mesh.coordinatorAddress}.`);
    const borderIdentity = await loadIdentity(layout.borderKeyFile(BORDER_COUNTRY));
    client = await BorderClient.connect({ coordinatorAddress: mesh.coordinatorAddress, identity: borderIdentity, registry: mesh.registry });
    const analystIdentity = await loadIdentity(layout.analystKeyFile(BORDER_COUNTRY));
    analystClient = await AnalystClient.connect({ coordinatorAddress: mesh.coordinatorAddress, identity: analystIdentity, registry: mesh.registry });

    const totals = { hit: 0, no_hit: 0 };
    let firstHit: CheckResult | undefined;
    const checks = demoChecks(countries, sample);
    for (const check of checks) {
      const result = await client.check(check.subject, { location: "demo-border-post-1" });
      const counts = summarise(result);
      totals.hit += counts.hit;
      totals.no_hit += counts.no_hit;
      if (counts.hit > 0) firstHit ??= result;
      out("");
      out(renderCheck(result, `== ${check.title}`));
    }
    if (firstHit?.traceId) {
      out("");
      out(`== Trace ${firstHit.traceId} of the first hit (border client -> coordinator -> NATS -> every node):`);
      out(renderTraceTree(telemetry.finishedSpans(), firstHit.traceId));
    }
    // Every hit notifies its owner through JetStream; wait (bounded) until each owner's node stored them.
    const received = (): number => [...notified.values()].reduce((sum, count) => sum + count, 0);
    if (received() < totals.hit) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, NOTIFICATION_WAIT_MS);
        notificationArrived = () => {
          if (received() < totals.hit) return;
          clearTimeout(timer);
          resolve();
        };
      });
    }
    out("");
    out(`== Hit notifications received by the records' owners (durable, JetStream): ${[...notified].map(([country, count]) => `${country} ${count}`).join(", ") || "none"}`);
    out(`   (list them with: watchmesh notifications list --data <node data dir>)`);
    out("");
    const report = await runDemoReport(analystClient, dir, removeDir);
    out(renderReportSummary(report.model, report.file));
    if (report.model.countries.some((line) => line.status !== "answered")) {
      throw new WatchmeshError(ErrorCode.Internal, "the demo expected every country to answer the aggregate query");
    }
    out("");
    out(`Demo finished: ${totals.hit} country hit(s) and ${totals.no_hit} country no-hit(s), every answer authenticated (hits signed, the rest pair-tagged) and verified by the border client.`);
    // Checked when the demo runs its own NATS (with JetStream); a given server may have none.
    if (!runtime.natsUrl && received() !== totals.hit) {
      throw new WatchmeshError(ErrorCode.Internal, `the demo expected ${totals.hit} hit notification(s), the owners received ${received()}`);
    }
    if (totals.hit === 0 || totals.no_hit === 0) {
      throw new WatchmeshError(ErrorCode.Internal, "the demo expected at least one hit and one no-hit");
    }
    if (!removeDir) {
      const hitCountry = firstHit?.results.find((result) => result.status === "hit")?.country ?? BORDER_COUNTRY;
      out(`Spans written to ${spanFile}; follow one query through the trace and the nodes' audit logs with:`);
      out(`  npx watchmesh audit trace ${firstHit?.queryId ?? "<queryId>"} --traces ${spanFile} --node ${layout.nodeDataDir(hitCountry)}`);
    }
    if (flags.keep) {
      out("");
      out("The mesh keeps running until Ctrl-C. In another terminal, from the repository:");
      const first = checks[0]?.subject;
      const person = first && "person" in first ? first.person : undefined;
      const name = person?.names?.[0] ?? "Jean Dupont";
      out(`  npx watchmesh check --mesh ${dir} --name ${JSON.stringify(name)} --dob ${person?.dob || "1980-05-01"}`);
      out(`  npx watchmesh check --mesh ${dir} --name "Jean Dupont" --dob 1980-05-01 --json`);
      out(`  npx watchmesh report --mesh ${dir} --region Europe --out report.html`);
      // The web console on the running mesh: border checks signed with the demo's border key, regional
      // reports with its analyst key, and the nodes' audit logs with this demo's span file.
      webConsole = await ConsoleServer.start({
        officer: new OfficerDesk({ client, country: borderIdentity.country, agency: borderIdentity.agency, location: "demo-border-post-1" }),
        analyst: new ReportDesk({ client: analystClient, country: analystIdentity.country, agency: analystIdentity.agency, countries: mesh.registry.nodeCountries() }),
        auditor: new AuditDesk({ nodeDirs: countries.map((country) => layout.nodeDataDir(country)), registry: mesh.registry, spanFile }),
        logger: demoLogger(runtime),
      });
      out("");
      out(`Web console (border check, analysis and audit views; the token is printed only here): ${webConsole.loginUrl}`);
      await runtime.untilShutdownSignal();
    }
  } finally {
    await webConsole?.stop();
    analystClient?.close();
    client?.close();
    await mesh?.stop();
    await telemetry.shutdown();
    if (removeDir) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The analyst's federated report over the sample data's 12 complete months: every node counts its own
 * records, suppresses small cells and signs the counts; the analyst client verifies and sums them. The
 * HTML report is written into a kept mesh directory.
 */
async function runDemoReport(analyst: AnalystClient, dir: string, temporary: boolean): Promise<{ model: ReportModel; file: string | undefined }> {
  const toMonth = lastCompleteMonth();
  const result = await analyst.aggregate({ fromMonth: firstOfMonths(toMonth, SAMPLE_MONTHS), toMonth });
  const model = buildReport(result);
  if (temporary) return { model, file: undefined };
  const file = path.join(dir, "report.html");
  await writeFile(file, renderReportHtml(model));
  return { model, file };
}

function demoLogger(runtime: CliRuntime): Logger {
  return runtime.serviceLogger("demo", "warn");
}

export function registerDemoCommand(program: Command, runtime: CliRuntime): void {
  program
    .command("demo")
    .description("run a local mesh on loopback with sample data, run border checks, print results, a trace and a federated regional report")
    .option("--countries <n>", "number of country nodes", parsePositiveInt, 5)
    .option("--persons <n>", "sample persons per country", parsePositiveInt, 3000)
    .option("--entities <n>", "sample entities per country", parsePositiveInt, 4000)
    .option("--dir <dir>", "keep the mesh in this (new) directory instead of a temporary one")
    .option("--keep", "leave the mesh running until Ctrl-C")
    .option("--no-progress", "no progress bar")
    .action(async (flags: DemoFlags) => runDemo(flags, runtime));
}
