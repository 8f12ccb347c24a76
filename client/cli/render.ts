import type { ActionName, CheckResult, CountryCheckResult } from "../border-client.ts";

/** What a border officer is told to do for each requested action. */
export const ACTION_INSTRUCTIONS: Record<ActionName, string> = {
  discreet_check: "Discreet check: do not alert the traveller; let them proceed and report the encounter to the owner.",
  specific_check: "Specific check: examine the traveller, documents and belongings; report findings to the owner.",
  arrest: "Arrest: detain the traveller under the owner's request and contact the owner immediately.",
  inform_owner: "Inform owner: process normally; the owner is notified of the encounter.",
};

const STATUS_LABELS: Record<CountryCheckResult["status"], string> = {
  hit: "HIT",
  no_hit: "no hit",
  refused: "refused",
  unavailable: "unavailable",
  error: "error",
};

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n");
}

/**
 * The per-country table an officer sees after a check, with the instruction for each hit. When an
 * owner asked for a discreet check, the screen (which a traveller may see) shows only the instructions:
 * no hit marker, score, reference or matched features; `--json` keeps them for the back office.
 */
export function renderCheck(result: CheckResult, title: string): string {
  const discreet = result.results.some((country) => country.hits.some((hit) => hit.action === "discreet_check"));
  if (discreet) {
    const actions = new Set(result.results.flatMap((country) => country.hits.map((hit) => hit.action)));
    return [title, `query ${result.queryId}`, ...[...actions].map((action) => `-> ${ACTION_INSTRUCTIONS[action]}`)].join("\n");
  }
  const rows: string[][] = [["COUNTRY", "RESULT", "ACTION", "SCORE", "REFERENCE", "MATCHED", "MS"]];
  const instructions = new Set<ActionName>();
  for (const country of result.results) {
    const best = country.hits[0];
    if (best) instructions.add(best.action);
    rows.push([
      country.country,
      STATUS_LABELS[country.status] + (country.errorCode ? ` (${country.errorCode})` : ""),
      best?.action ?? "",
      best ? best.score.toFixed(2) : "",
      best ? best.reference + (country.hits.length > 1 ? ` (+${country.hits.length - 1})` : "") : "",
      best ? best.matchedFeatures.join(",") : "",
      String(country.ms),
    ]);
  }
  const counts = summarise(result);
  const lines = [
    title,
    `query ${result.queryId}${result.traceId ? `  trace ${result.traceId}` : ""}`,
    table(rows),
    `${counts.hit} hit, ${counts.no_hit} no hit, ${counts.refused} refused, ${counts.unavailable} unavailable, ${counts.error} error`,
  ];
  for (const action of instructions) lines.push(`-> ${ACTION_INSTRUCTIONS[action]}`);
  return lines.join("\n");
}

export function summarise(result: CheckResult): Record<CountryCheckResult["status"], number> {
  const counts = { hit: 0, no_hit: 0, refused: 0, unavailable: 0, error: 0 };
  for (const country of result.results) counts[country.status] += 1;
  return counts;
}

/** The documented `watchmesh check --json` shape. */
export function checkJson(result: CheckResult): unknown {
  return {
    queryId: result.queryId,
    traceId: result.traceId,
    results: result.results.map((country) => ({
      country: country.country,
      status: country.status,
      hits: country.hits.map((hit) => ({
        reference: hit.reference,
        score: hit.score,
        category: hit.category,
        action: hit.action,
        matchedFeatures: hit.matchedFeatures,
      })),
      ms: country.ms,
      ...(country.errorCode ? { errorCode: country.errorCode } : {}),
    })),
  };
}
