import { writeFile } from "node:fs/promises";
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_REPORT_MONTHS, firstOfMonths, isMonth, lastCompleteMonth } from "../../../common/aggregate-query.ts";
import { RECORD_CATEGORIES } from "../../../common/designations.ts";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { findRegion, regionOf, REGIONS } from "../../../common/regions.ts";
import { AnalystClient } from "../../analyst-client.ts";
import { renderReportHtml } from "../../report/report-html.ts";
import { buildReport, type ReportItem, type ReportModel } from "../../report/report-model.ts";
import { resolveCoordinatorAccess, type CoordinatorAccessFlags } from "../coordinator-access.ts";
import { parseCountryList, parseEpsilon, parsePositiveInt } from "./options.ts";
import type { CliRuntime } from "./runtime.ts";
import { addClientTlsOptions, clientTlsFromFlags, type ClientTlsFlags } from "./tls-options.ts";

interface ReportFlags extends ClientTlsFlags, CoordinatorAccessFlags {
  region?: string;
  from?: string;
  to?: string;
  categories?: string[];
  epsilon: number;
  alpha: number;
  countries?: string[];
  deadlineMs?: number;
  out?: string;
  json?: boolean;
}

function parseMonth(value: string): string {
  if (!isMonth(value)) throw new InvalidArgumentError("expected YYYY-MM");
  return value;
}

function parseCategories(value: string): string[] {
  const categories = value.split(",").map((part) => part.trim()).filter(Boolean);
  const bad = categories.find((category) => !(RECORD_CATEGORIES as readonly string[]).includes(category));
  if (bad !== undefined) throw new InvalidArgumentError(`${bad} is not one of ${RECORD_CATEGORIES.join(", ")}`);
  return categories;
}

function parseAlpha(value: string): number {
  const alpha = Number(value);
  if (!(alpha > 0 && alpha < 1)) throw new InvalidArgumentError("expected a number between 0 and 1");
  return alpha;
}

/** A region name as `regionOf` spells it, matched without regard to case. */
function canonicalRegion(region: string): string {
  const found = findRegion(region);
  if (!found) throw new WatchmeshError(ErrorCode.InvalidArgument, `--region must be one of ${REGIONS.join(", ")}`);
  return found;
}

const itemName = (item: ReportItem) => (item.designation ? `${item.category}: ${item.designation.replace(/_/g, " ")}` : item.category);

/** A few lines for the terminal: who answered, what is emerging, where the report went. */
export function renderReportSummary(model: ReportModel, out: string | undefined): string {
  const answered = model.countries.filter((line) => line.status === "answered");
  const others = model.countries.filter((line) => line.status !== "answered").map((line) => `${line.country} ${line.status}${line.errorCode ? ` (${line.errorCode})` : ""}`);
  const lines = [
    `Regional report ${model.filter.region ?? "all regions"}, ${model.period.from} to ${model.period.to}: ${answered.length} of ${model.countries.length} countries answered${others.length ? `; ${others.join(", ")}` : ""}.`,
    `Small cells suppressed at the nodes: ${model.privacy.suppressedCells}${model.privacy.epsilon > 0 ? `; noise epsilon ${model.privacy.epsilon} per country` : ""}.`,
  ];
  if (model.emerging.length === 0) lines.push(`No item rose significantly in ${model.period.to}.`);
  for (const item of model.emerging) {
    lines.push(`  emerging in ${item.region}: ${itemName(item)} (${item.measure}) ${item.trend.previous} -> ${item.trend.latest}, p = ${item.trend.pValue.toPrecision(2)}`);
  }
  if (out) lines.push(`Report written to ${out}`);
  return lines.join("\n");
}

async function runReport(flags: ReportFlags, runtime: CliRuntime): Promise<void> {
  if (!flags.out && !flags.json) throw new WatchmeshError(ErrorCode.InvalidArgument, "give --out report.html, --json, or both");
  const region = flags.region === undefined ? undefined : canonicalRegion(flags.region);
  // Complete months by default: a month still running would look like a fall.
  const toMonth = flags.to ?? lastCompleteMonth();
  const fromMonth = flags.from ?? firstOfMonths(toMonth, DEFAULT_REPORT_MONTHS);
  const access = await resolveCoordinatorAccess(flags, (layout, state) => layout.analystKeyFile(state?.borderCountry ?? ""));
  const telemetry = runtime.startTelemetry("watchmesh-analyst-client");
  const tls = await clientTlsFromFlags(flags);
  const client = await AnalystClient.connect({ ...access, ...(tls ? { credentials: tls } : {}) });
  try {
    const result = await client.aggregate({
      fromMonth,
      toMonth,
      epsilon: flags.epsilon,
      ...(flags.categories ? { categories: flags.categories } : {}),
      // Only the region's countries are asked: the others' counts are not needed.
      ...(flags.countries ? { countries: flags.countries } : region ? { countries: access.registry.nodeCountries().filter((country) => regionOf(country) === region) } : {}),
      ...(flags.deadlineMs ? { deadlineMs: flags.deadlineMs } : {}),
    });
    const model = buildReport(result, { ...(region ? { region } : {}), ...(flags.categories ? { categories: flags.categories } : {}), alpha: flags.alpha });
    if (flags.out) await writeFile(flags.out, renderReportHtml(model));
    process.stdout.write(flags.json ? JSON.stringify(model) + "\n" : renderReportSummary(model, flags.out) + "\n");
  } finally {
    client.close();
    await telemetry.shutdown();
  }
}

export function registerReportCommand(program: Command, runtime: CliRuntime): void {
  const report = program
    .command("report")
    .description(
      "federated regional report: counts of records and hits per region, month, category and designation from every country's " +
        "signed aggregate answer (small cells suppressed at the nodes), trends, and a self-contained HTML report with charts",
    )
    .option("--mesh <dir>", "local mesh directory (keys, registry, running addresses)", ".watchmesh")
    .option("--coordinator <host:port>", "coordinator address (default: the running local mesh's)")
    .option("--key <file>", "analyst private key file, role analyst (default: the local mesh's)")
    .option("--registry <file>", "signed trust registry (default: the local mesh's)")
    .option("--root-key <file>", "registry root public key file (default: the local mesh's)")
    .option("--region <name>", `only countries of this region: ${REGIONS.join(", ")}`)
    .option("--from <YYYY-MM>", "first month (default: 11 months before --to)", parseMonth)
    .option("--to <YYYY-MM>", "last month, whose change against the month before is tested (default: last month, the latest complete one)", parseMonth)
    .option("--categories <list>", `comma-separated record categories (default all: ${RECORD_CATEGORIES.join(", ")})`, parseCategories)
    .option("--epsilon <e>", "ask for noised counts (differential privacy, per country and query); 0 for exact counts", parseEpsilon, 0)
    .option("--alpha <p>", "significance level of the month-over-month trend test", parseAlpha, 0.05)
    .option("--countries <list>", "comma-separated ISO3 codes to ask (default: all, or the region's)", parseCountryList)
    .option("--deadline-ms <ms>", "coordinator gathering deadline (default 10000 ms)", parsePositiveInt)
    .option("--out <file>", "write the HTML report here")
    .option("--json", 'print the report model (format "watchmesh-report/v1", see README) instead of a summary');
  addClientTlsOptions(report).action(async (flags: ReportFlags) => runReport(flags, runtime));
}
