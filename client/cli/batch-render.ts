import type { ActionName, BatchCheckResult, CountryCheckResult, TravellerCheckResult } from "../border-client.ts";
import type { Manifest, RejectedLine } from "./manifest.ts";
import { ACTION_INSTRUCTIONS, checkJson } from "./render.ts";

/** A manifest traveller with its verified results (undefined when nothing was sent). */
interface ScreenedLine {
  line: number;
  traveller: TravellerCheckResult;
}

function screenedLines(manifest: Manifest, result: BatchCheckResult | undefined): ScreenedLine[] {
  if (!result) return [];
  return manifest.travellers.flatMap((entry, index) => {
    const traveller = result.travellers[index];
    return traveller ? [{ line: entry.line, traveller }] : [];
  });
}

/**
 * The documented `watchmesh check --batch --json` output: one JSON object per manifest line that held a
 * query, in line order. A screened traveller is the `watchmesh check --json` object plus its line:
 *   {"line":3,"queryId":"…","traceId":"…","results":[{"country":"DEU","status":"hit","hits":[{"reference",
 *    "score","category","action","matchedFeatures"}],"ms":12},{"country":"ESP","status":"no_hit","hits":[],"ms":9}]}
 * (status: hit, no_hit, refused, unavailable or error; errorCode beside refused and error), and a
 * rejected line, which was not sent:
 *   {"line":4,"rejected":{"code":"INVALID_ARGUMENT","message":"query field dob: …"}}
 */
export function batchJsonLines(manifest: Manifest, result: BatchCheckResult | undefined): string[] {
  const lines: { line: number; json: object }[] = [
    ...screenedLines(manifest, result).map(({ line, traveller }) => ({
      line,
      json: { line, ...(checkJson({ queryId: traveller.queryId, traceId: result?.traceId ?? "", results: traveller.results }) as object) },
    })),
    ...manifest.rejected.map((rejected) => ({ line: rejected.line, json: { line: rejected.line, rejected: { code: rejected.code, message: rejected.message } } })),
  ];
  return lines.sort((a, b) => a.line - b.line).map(({ json }) => JSON.stringify(json));
}

const LABELS: Partial<Record<CountryCheckResult["status"], string>> = { hit: "HIT", refused: "refused", unavailable: "unavailable", error: "error" };

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n");
}

/**
 * What an officer sees after screening a manifest: per traveller (manifest line) each country that hit,
 * refused, failed or did not answer; no-hits are left out. As on the single check screen, a traveller
 * whose owner asked for a discreet check shows only the instruction (no hit marker, country, score,
 * reference or features); `--json` keeps everything for the back office. A country that answered
 * nobody is one line, not one per traveller.
 */
export function renderBatch(manifest: Manifest, result: BatchCheckResult | undefined): string {
  const screened = screenedLines(manifest, result);
  const countries = [...new Set(screened.flatMap(({ traveller }) => traveller.results.map((entry) => entry.country)))].sort();
  const silent = countries.filter((country) =>
    screened.every(({ traveller }) => traveller.results.find((entry) => entry.country === country)?.status === "unavailable"),
  );
  const lines = [`Batch check: ${plural(screened.length, "traveller")}, ${plural(countries.length, "country")}${result?.traceId ? `  trace ${result.traceId}` : ""}`];
  const rows: string[][] = [["LINE", "COUNTRY", "RESULT", "ACTION", "SCORE", "REFERENCE", "MATCHED"]];
  const discreetLines: string[] = [];
  const instructions = new Set<ActionName>();
  const counts = { act: 0, refused: 0, error: 0, unscreened: 0 };
  for (const { line, traveller } of screened) {
    const actions = traveller.results.flatMap((entry) => entry.hits.map((hit) => hit.action));
    if (actions.length > 0) counts.act += 1;
    if (traveller.results.some((entry) => entry.status === "refused")) counts.refused += 1;
    if (traveller.results.some((entry) => entry.status === "error")) counts.error += 1;
    if (traveller.results.some((entry) => entry.status === "unavailable")) counts.unscreened += 1;
    if (actions.includes("discreet_check")) {
      discreetLines.push(...[...new Set(actions)].map((action) => `line ${line}  -> ${ACTION_INSTRUCTIONS[action]}`));
      continue;
    }
    for (const entry of traveller.results) {
      const label = LABELS[entry.status];
      if (!label || (entry.status === "unavailable" && silent.includes(entry.country))) continue;
      const best = entry.hits[0];
      if (best) instructions.add(best.action);
      rows.push([
        String(line),
        entry.country,
        label + (entry.errorCode ? ` (${entry.errorCode})` : ""),
        best?.action ?? "",
        best ? best.score.toFixed(2) : "",
        best ? best.reference + (entry.hits.length > 1 ? ` (+${entry.hits.length - 1})` : "") : "",
        best ? best.matchedFeatures.join(",") : "",
      ]);
    }
  }
  if (rows.length > 1) lines.push(table(rows));
  lines.push(...discreetLines);
  for (const country of silent) lines.push(`${country}: unavailable for all ${plural(screened.length, "traveller")}`);
  lines.push(
    `${plural(screened.length, "traveller")}: ${counts.act} to act on, ${counts.refused} refused somewhere, ${counts.error} with an error, ` +
      `${counts.unscreened} not screened by every country`,
  );
  lines.push(...renderRejected(manifest.rejected));
  for (const action of instructions) lines.push(`-> ${ACTION_INSTRUCTIONS[action]}`);
  return lines.join("\n");
}

function plural(count: number, noun: string): string {
  if (count === 1) return `1 ${noun}`;
  return `${count} ${noun.endsWith("y") ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}

function renderRejected(rejected: readonly RejectedLine[]): string[] {
  if (rejected.length === 0) return [];
  return [
    `${plural(rejected.length, "manifest line")} rejected, not sent:`,
    ...rejected.map((entry) => `  line ${entry.line}: ${entry.code} ${entry.message}`),
  ];
}
