import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parseQueryText } from "../../../common/query-json.ts";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { isCountryCode } from "../../../common/country-codes.ts";
import { MAX_BATCH_QUERIES } from "../../../common/limits.ts";
import { Purpose } from "../../../common/proto.ts";
import { BorderClient, type CheckCallOptions, type CheckSubject } from "../../border-client.ts";
import { readManifest, type Manifest } from "../manifest.ts";
import { resolveCoordinatorAccess, type CoordinatorAccessFlags } from "../coordinator-access.ts";
import { checkJson, renderCheck } from "../render.ts";
import { runBatchCheck } from "./check-batch.ts";
import { collect, parseCountryList, parsePositiveInt } from "./options.ts";
import type { CliRuntime } from "./runtime.ts";
import { addClientTlsOptions, clientTlsFromFlags, type ClientTlsFlags } from "./tls-options.ts";

export interface CheckFlags extends ClientTlsFlags, CoordinatorAccessFlags {
  mesh: string;
  query?: string;
  /** A manifest (NDJSON, one JSON query per line) to screen in one batch. */
  batch?: string;
  coordinator?: string;
  key?: string;
  registry?: string;
  rootKey?: string;
  name: string[];
  dob?: string;
  nationality: string[];
  sex?: string;
  docNumber?: string;
  docCountry?: string;
  docType: string;
  mrz: string[];
  entityType?: string;
  entityValue?: string;
  purpose: string;
  legalBasis: string;
  location?: string;
  deadlineMs?: number;
  countries?: string[];
  json?: boolean;
  /** False with --no-progress. */
  progress: boolean;
}

const PURPOSES: Record<string, Purpose> = {
  border_check: Purpose.BorderCheck,
  investigation: Purpose.Investigation,
  counter_terrorism: Purpose.CounterTerrorism,
};

const ENTITY_TYPES = ["organisation", "phone", "vehicle", "device_component", "precursor", "email"];
const DOB_PATTERN = /^\d{4}(-\d{2}(-\d{2})?)?$/;

/** Turns command-line flags into a query subject, rejecting what no node could match on. */
export function subjectFromFlags(flags: CheckFlags): CheckSubject {
  const hasPerson = flags.name.length > 0 || flags.docNumber !== undefined || flags.mrz.length > 0;
  const hasEntity = flags.entityType !== undefined || flags.entityValue !== undefined;
  if (hasPerson && hasEntity) throw invalid("give either person flags (--name, --doc-number, --mrz) or --entity-type/--entity-value, not both");
  if (hasEntity) {
    if (!flags.entityType || !flags.entityValue) throw invalid("--entity-type and --entity-value go together");
    if (!ENTITY_TYPES.includes(flags.entityType)) throw invalid(`--entity-type must be one of ${ENTITY_TYPES.join(", ")}`);
    return { entity: { type: flags.entityType, value: flags.entityValue } };
  }
  if (!hasPerson) throw invalid("nothing to check: give --name, --doc-number, --mrz or --entity-type/--entity-value");
  if (flags.dob !== undefined && !DOB_PATTERN.test(flags.dob)) throw invalid("--dob must be YYYY, YYYY-MM or YYYY-MM-DD");
  if (flags.sex !== undefined && !["M", "F", "X"].includes(flags.sex)) throw invalid("--sex must be M, F or X");
  for (const country of [...flags.nationality, ...(flags.docCountry ? [flags.docCountry] : [])]) {
    if (!isCountryCode(country)) throw invalid(`${country} is not an ISO 3166-1 alpha-3 code`);
  }
  if (flags.docCountry && !flags.docNumber) throw invalid("--doc-country needs --doc-number");
  return {
    person: {
      names: flags.name,
      dob: flags.dob ?? "",
      nationality: flags.nationality,
      sex: flags.sex ?? "",
      documents: flags.docNumber ? [{ type: flags.docType, number: flags.docNumber, country: flags.docCountry ?? "" }] : [],
      mrz: flags.mrz,
    },
  };
}

function invalid(message: string): WatchmeshError {
  return new WatchmeshError(ErrorCode.InvalidArgument, message);
}

function hasSubjectFlags(flags: CheckFlags): boolean {
  const personOrEntityFlags = flags.name.length + flags.mrz.length + flags.nationality.length;
  return personOrEntityFlags > 0 || Boolean(flags.docNumber || flags.dob || flags.entityType || flags.entityValue);
}

async function subjectFromQueryFile(flags: CheckFlags, file: string): Promise<CheckSubject> {
  if (hasSubjectFlags(flags)) throw invalid("--query replaces the subject flags; give one or the other");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new WatchmeshError(ErrorCode.NotFound, `cannot read query file ${file}`, { cause: error });
  }
  return parseQueryText(text);
}

async function manifestFromFile(flags: CheckFlags, file: string): Promise<Manifest> {
  if (flags.query !== undefined || hasSubjectFlags(flags)) throw invalid("--batch replaces --query and the subject flags; give one or the other");
  return readManifest(file);
}

export async function runCheck(flags: CheckFlags, runtime: CliRuntime): Promise<void> {
  const manifest = flags.batch === undefined ? undefined : await manifestFromFile(flags, flags.batch);
  const subject = manifest ? undefined : flags.query ? await subjectFromQueryFile(flags, flags.query) : subjectFromFlags(flags);
  const purpose = PURPOSES[flags.purpose];
  if (!purpose) throw invalid(`--purpose must be one of ${Object.keys(PURPOSES).join(", ")}`);
  const output = { json: flags.json ?? false, progress: flags.progress };
  // Nothing to send: report the rejected lines without contacting anybody.
  if (manifest?.travellers.length === 0) return runBatchCheck(undefined, manifest, {}, output);
  const access = await resolveCoordinatorAccess(flags, (layout, state) => layout.borderKeyFile(state?.borderCountry ?? ""));
  // The SDK gives the check a real trace id, carried to the coordinator and nodes (and exported when OTEL_* is set).
  const telemetry = runtime.startTelemetry("watchmesh-border-client");
  const tls = await clientTlsFromFlags(flags);
  const client = await BorderClient.connect({ ...access, ...(tls ? { credentials: tls } : {}) });
  const callOptions: CheckCallOptions = {
    purpose,
    legalBasis: flags.legalBasis,
    ...(flags.location ? { location: flags.location } : {}),
    ...(flags.deadlineMs ? { deadlineMs: flags.deadlineMs } : {}),
    ...(flags.countries ? { countries: flags.countries } : {}),
  };
  try {
    if (manifest) {
      await runBatchCheck(client, manifest, callOptions, output);
    } else if (subject) {
      const result = await client.check(subject, callOptions);
      process.stdout.write(flags.json ? JSON.stringify(checkJson(result)) + "\n" : renderCheck(result, "Federated check") + "\n");
    }
  } finally {
    client.close();
    await telemetry.shutdown();
  }
}

export function registerCheckCommand(program: Command, runtime: CliRuntime): void {
  const check = program
    .command("check")
    .description(
      "run a federated hit/no-hit check through a coordinator and verify every country's signed answer; " +
        "--batch screens a whole manifest in one call",
    )
    .option("--mesh <dir>", "local mesh directory (keys, registry, running addresses)", ".watchmesh")
    .option("--coordinator <host:port>", "coordinator address (default: the running local mesh's)")
    .option("--key <file>", "border system private key file (default: the local mesh's)")
    .option("--registry <file>", "signed trust registry (default: the local mesh's)")
    .option("--root-key <file>", "registry root public key file (default: the local mesh's)")
    .option("--query <file>", "the subject as a JSON query file (see README, \"JSON query format\")")
    .option(
      "--batch <manifest.ndjson>",
      `screen up to ${MAX_BATCH_QUERIES} travellers in one call: one JSON query per line (the --query format); ` +
        "bad lines are reported by number and not sent (exit code 3)",
    )
    .option("--name <name>", "a name of the traveller, any script (repeatable)", collect, [])
    .option("--dob <date>", "date of birth: YYYY, YYYY-MM or YYYY-MM-DD")
    .option("--nationality <ISO3>", "nationality (repeatable)", collect, [])
    .option("--sex <M|F|X>", "sex")
    .option("--doc-number <number>", "travel document number")
    .option("--doc-country <ISO3>", "travel document issuing state")
    .option("--doc-type <type>", "travel document type", "passport")
    .option("--mrz <line>", "machine readable zone line (repeat per line)", collect, [])
    .option("--entity-type <type>", `entity type: ${ENTITY_TYPES.join(", ")}`)
    .option("--entity-value <value>", "entity value (phone number, e-mail, VIN, name ...)")
    .option("--purpose <purpose>", "border_check, investigation or counter_terrorism", "border_check")
    .option("--legal-basis <ref>", "legal basis reference", "border check under national law")
    .option("--location <id>", "border post or terminal id")
    .option("--deadline-ms <ms>", "coordinator gathering deadline (default 1500 ms, 10000 ms for --batch)", parsePositiveInt)
    .option("--countries <list>", "comma-separated ISO3 codes to ask (default: all)", parseCountryList)
    .option(
      "--json",
      'print {"queryId","traceId","results":[...]} instead of a table; with --batch one such object per manifest line, ' +
        'with "line" added, or {"line","rejected":{"code","message"}} for a line not sent',
    )
    .option("--no-progress", "no progress bar for --batch (shown on stderr when it is a terminal)");
  addClientTlsOptions(check).action(async (flags: CheckFlags) => runCheck(flags, runtime));
}
