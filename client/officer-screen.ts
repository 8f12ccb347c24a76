import type { ActionName, CheckHit, CheckResult, CountryCheckResult, ResultStatus } from "./border-client.ts";

/** What a border officer is told to do for each requested action. */
export const ACTION_INSTRUCTIONS: Record<ActionName, string> = {
  discreet_check: "Discreet check: do not alert the traveller; let them proceed and report the encounter to the owner.",
  specific_check: "Specific check: examine the traveller, documents and belongings; report findings to the owner.",
  arrest: "Arrest: detain the traveller under the owner's request and contact the owner immediately.",
  inform_owner: "Inform owner: process normally; the owner is notified of the encounter.",
};

export type StatusCounts = Record<ResultStatus, number>;

/**
 * What an officer's screen may show after a check, whatever draws it (the CLI's table, the web
 * console). When an owner asked for a discreet check, the screen (which a traveller may see) shows only
 * the instructions: no hit marker, score, reference, matched features or per-country results.
 */
export type OfficerScreen =
  | { discreet: true; queryId: string; instructions: string[] }
  | {
      discreet: false;
      queryId: string;
      traceId: string;
      countries: { country: string; status: ResultStatus; errorCode?: string; ms: number; hits: CheckHit[] }[];
      counts: StatusCounts;
      /** One per distinct action of the countries' best hits, in country order. */
      instructions: string[];
    };

export function summarise(result: CheckResult): StatusCounts {
  const counts = { hit: 0, no_hit: 0, refused: 0, unavailable: 0, error: 0 };
  for (const country of result.results) counts[country.status] += 1;
  return counts;
}

function isDiscreet(country: CountryCheckResult): boolean {
  return country.hits.some((hit) => hit.action === "discreet_check");
}

export function officerScreen(result: CheckResult): OfficerScreen {
  if (result.results.some(isDiscreet)) {
    const actions = new Set(result.results.flatMap((country) => country.hits.map((hit) => hit.action)));
    return { discreet: true, queryId: result.queryId, instructions: [...actions].map((action) => ACTION_INSTRUCTIONS[action]) };
  }
  const actions = new Set<ActionName>();
  for (const country of result.results) {
    const best = country.hits[0];
    if (best) actions.add(best.action);
  }
  return {
    discreet: false,
    queryId: result.queryId,
    traceId: result.traceId,
    countries: result.results.map((country) => ({
      country: country.country,
      status: country.status,
      ...(country.errorCode ? { errorCode: country.errorCode } : {}),
      ms: country.ms,
      hits: country.hits.map((hit) => ({ ...hit, matchedFeatures: [...hit.matchedFeatures] })),
    })),
    counts: summarise(result),
    instructions: [...actions].map((action) => ACTION_INSTRUCTIONS[action]),
  };
}
