/**
 * When sample records were recorded, with patterns an analyst can find in the federated report: a
 * seasonal cycle (more records in summer), a fertiliser-season peak of ammonium nitrate in spring, and
 * per-region emerging items — designations whose records rise sharply in the last two complete months
 * (TATP precursors and detonators in Europe, chlorates and radio triggers in Asia, phone triggers in
 * Africa, and so on). Records fall in the 12 complete months before the current one, so a report over
 * those months compares complete months only.
 */
import { previousMonth } from "../common/aggregate-query.ts";
import { regionOf } from "../common/regions.ts";
import type { NativeRecord } from "./record-schema.ts";

/** Complete months the sample records spread over, ending with last month. */
export const SAMPLE_MONTHS = 12;

/** Designations that rise in the last two months, per region. */
const EMERGING_BY_REGION: Readonly<Record<string, readonly string[]>> = {
  Europe: ["hydrogen_peroxide", "acetone", "detonator"],
  Asia: ["potassium_chlorate", "radio_trigger"],
  Africa: ["mobile_phone_trigger", "ammonium_nitrate"],
  "North America": ["nitromethane", "victim_operated_switch"],
  "South America": ["potassium_nitrate", "timer"],
  Oceania: ["aluminium_powder", "improvised_initiator"],
};

/** The sample values of device components and precursors (sample-data.ts) and their designations. */
export const SAMPLE_DESIGNATIONS: Readonly<Record<string, string>> = {
  "TATP detonator": "detonator",
  "mobile phone trigger board": "mobile_phone_trigger",
  "remote-control relay module": "radio_trigger",
  "pressure-plate switch": "victim_operated_switch",
  "electric blasting cap": "detonator",
  "modified kitchen timer circuit": "timer",
  "GSM module with SIM card holder": "mobile_phone_trigger",
  "PIR motion sensor trigger": "victim_operated_switch",
  "model rocket igniter": "improvised_initiator",
  "9V battery pack with toggle switch": "power_source",
  "pipe end caps (steel, threaded)": "container",
  "hydrogen peroxide 35%": "hydrogen_peroxide",
  "hydrogen peroxide 12%": "hydrogen_peroxide",
  "ammonium nitrate": "ammonium_nitrate",
  "acetone 99%": "acetone",
  "potassium chlorate": "potassium_chlorate",
  "sodium chlorate": "sodium_chlorate",
  "potassium nitrate": "potassium_nitrate",
  nitromethane: "nitromethane",
  "nitric acid 65%": "nitric_acid",
  "sulfuric acid 96%": "sulphuric_acid",
  hexamine: "hexamine",
  "aluminium powder": "aluminium_powder",
};

/** Relative weight of month `offset` (1 = last month … SAMPLE_MONTHS) for a record. */
function monthWeight(offset: number, calendarMonth: number, designation: string | undefined, emerging: readonly string[]): number {
  // Summer high, winter low (±30 %).
  let weight = 1 + 0.3 * Math.sin(((calendarMonth - 4) / 12) * 2 * Math.PI);
  if (designation === "ammonium_nitrate" && calendarMonth >= 3 && calendarMonth <= 6) weight *= 2.5;
  if (designation !== undefined && emerging.includes(designation)) weight *= offset === 1 ? 6 : offset === 2 ? 3 : 1;
  return weight;
}

/**
 * Draws recordedAt days for the records of `country`: for each record, with `uniform` (a [0, 1)
 * source), a day among the complete months before `today` ("YYYY-MM-DD"), weighted by the patterns above.
 */
export function sampleRecordedAt(country: string, today: string): (record: NativeRecord, uniform: () => number) => string {
  const emerging = EMERGING_BY_REGION[regionOf(country)] ?? [];
  const months: string[] = [];
  let month = today.slice(0, 7);
  for (let offset = 1; offset <= SAMPLE_MONTHS; offset++) {
    month = previousMonth(month);
    months.push(month);
  }
  return (record, uniform) => drawDay(months, emerging, record.kind === "entity" ? record.designation : undefined, uniform);
}

function drawDay(months: readonly string[], emerging: readonly string[], designation: string | undefined, uniform: () => number): string {
  const weights = months.map((name, index) => monthWeight(index + 1, Number(name.slice(5, 7)), designation, emerging));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let roll = uniform() * total;
  let chosen = months[months.length - 1] ?? "";
  for (let index = 0; index < months.length; index++) {
    roll -= weights[index] ?? 0;
    if (roll < 0) {
      chosen = months[index] ?? chosen;
      break;
    }
  }
  const day = 1 + Math.floor(uniform() * 28);
  return `${chosen}-${String(day).padStart(2, "0")}`;
}
