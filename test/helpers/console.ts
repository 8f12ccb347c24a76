import type { DestinationStream } from "pino";
import { AnalystClient } from "../../client/analyst-client.ts";
import { previousMonth } from "../../common/aggregate-query.ts";
import { createLogger } from "../../common/logger.ts";
import { AuditDesk, ConsoleServer, OfficerDesk, ReportDesk, type ConsoleServerOptions } from "../../console/index.ts";
import type { NativeRecord } from "../../node/index.ts";
import type { TestMesh } from "./mesh.ts";

/** Travellers on the test lists: one whose owner asks for a discreet check, one for an arrest. */
export const DISCREET_TRAVELLER = { name: "Marta Kowalczyk-Brandt", dob: "1984-03-09" };
export const ARRESTED_TRAVELLER = { name: "Julián Ortega Salvatierra", dob: "1979-11-23", passport: "XDA482915", passportCountry: "ESP" };
/** On no list. */
export const UNKNOWN_TRAVELLER = { name: "Ingrid Vestergaard-Holm", dob: "1991-07-14" };

export const CONSOLE_TEST_COUNTRIES = ["DEU", "ESP", "FRA"];

/** The regional report's default period ends with the last complete month. */
export const REPORT_MONTH = previousMonth(new Date().toISOString().slice(0, 7));
export const REPORT_MONTH_BEFORE = previousMonth(REPORT_MONTH);

/** Dated precursor records (no personal data), enough to pass the nodes' small-cell threshold of 5. */
function precursors(country: string, month: string, count: number, designation: string): NativeRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: "entity",
    id: `${country}-PRE-${month}-${designation}-${i}`,
    type: "precursor",
    value: `Lot ${country} ${month} ${designation} ${i}`,
    designation,
    recordedAt: `${month}-02`,
  }));
}

export const CONSOLE_TEST_RECORDS: Record<string, NativeRecord[]> = {
  DEU: [
    { kind: "person", id: "DEU-P-77", names: [DISCREET_TRAVELLER.name], dob: DISCREET_TRAVELLER.dob, nationality: ["DEU"], sex: "F", action: "discreet_check" },
    ...precursors("DEU", REPORT_MONTH_BEFORE, 6, "ammonium_nitrate"),
    ...precursors("DEU", REPORT_MONTH, 14, "ammonium_nitrate"),
  ],
  ESP: [
    ...precursors("ESP", REPORT_MONTH, 5, "hydrogen_peroxide"),
    {
      kind: "person",
      id: "ESP-P-12",
      names: [ARRESTED_TRAVELLER.name],
      dob: ARRESTED_TRAVELLER.dob,
      nationality: ["ESP"],
      sex: "M",
      documents: [{ type: "passport", number: ARRESTED_TRAVELLER.passport, country: ARRESTED_TRAVELLER.passportCountry }],
      action: "arrest",
    },
  ],
};

/** Everything a test traveller is made of: none of it may reach a log line. */
export const PERSONAL_STRINGS = [
  DISCREET_TRAVELLER.name,
  "Kowalczyk",
  DISCREET_TRAVELLER.dob,
  ARRESTED_TRAVELLER.name,
  "Salvatierra",
  ARRESTED_TRAVELLER.dob,
  ARRESTED_TRAVELLER.passport,
  UNKNOWN_TRAVELLER.name,
  "Vestergaard",
  UNKNOWN_TRAVELLER.dob,
  "ERIKSSON",
  "L898902C3",
];

/** Log lines collected in memory (every level), to check that nothing personal reaches them. */
export function memoryLog(): { destination: DestinationStream; text: () => string } {
  const lines: string[] = [];
  return { destination: { write: (line: string) => void lines.push(line) }, text: () => lines.join("") };
}

export interface TestConsole {
  server: ConsoleServer;
  officer: OfficerDesk;
  analyst: ReportDesk;
  auditor: AuditDesk;
  /** The console's log output so far. */
  logText(): string;
  stop(): Promise<void>;
}

/**
 * A console on a test mesh: border checks through the mesh's border client, regional reports with the
 * mesh's analyst key, audit over every node's log.
 */
export async function startTestConsole(mesh: TestMesh, options: { spanFile?: string; extra?: Partial<ConsoleServerOptions> } = {}): Promise<TestConsole> {
  const log = memoryLog();
  const border = mesh.trust.border;
  const officer = new OfficerDesk({ client: mesh.client, country: border.country, agency: border.agency, location: "test-post-7" });
  const auditor = new AuditDesk({
    nodeDirs: [...mesh.nodes.keys()].sort().map((country) => mesh.dataDir(country)),
    registry: mesh.trust.registry,
    ...(options.spanFile ? { spanFile: options.spanFile } : {}),
  });
  const analystClient = await AnalystClient.connect({ coordinatorAddress: `127.0.0.1:${mesh.coordinator.grpcPort}`, identity: mesh.trust.analyst, registry: mesh.trust.registry });
  const analyst = new ReportDesk({ client: analystClient, country: mesh.trust.analyst.country, agency: mesh.trust.analyst.agency, countries: mesh.trust.registry.nodeCountries() });
  let server: ConsoleServer;
  try {
    server = await ConsoleServer.start({
      officer,
      analyst,
      auditor,
      logger: createLogger({ component: "console", level: "trace", destination: log.destination }),
      ...options.extra,
    });
  } catch (error) {
    analystClient.close();
    throw error;
  }
  return {
    server,
    officer,
    analyst,
    auditor,
    logText: log.text,
    stop: async () => {
      await server.stop();
      analystClient.close();
    },
  };
}
