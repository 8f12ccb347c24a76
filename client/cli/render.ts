import type { CheckResult, CountryCheckResult } from "../border-client.ts";
import { ACTION_INSTRUCTIONS, officerScreen, summarise } from "../officer-screen.ts";

export { ACTION_INSTRUCTIONS, summarise };

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
  const screen = officerScreen(result);
  if (screen.discreet) return [title, `query ${screen.queryId}`, ...screen.instructions.map((line) => `-> ${line}`)].join("\n");
  const rows: string[][] = [["COUNTRY", "RESULT", "ACTION", "SCORE", "REFERENCE", "MATCHED", "MS"]];
  for (const country of screen.countries) {
    const best = country.hits[0];
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
  const { counts } = screen;
  return [
    title,
    `query ${screen.queryId}${screen.traceId ? `  trace ${screen.traceId}` : ""}`,
    table(rows),
    `${counts.hit} hit, ${counts.no_hit} no hit, ${counts.refused} refused, ${counts.unavailable} unavailable, ${counts.error} error`,
    ...screen.instructions.map((line) => `-> ${line}`),
  ].join("\n");
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
