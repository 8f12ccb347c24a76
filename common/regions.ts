/**
 * Regions of member countries for federated analysis: the continent of each ISO 3166-1 alpha-3 code,
 * from the `countries-list` package (MIT). A country the table does not know is in region "Unknown".
 */
import { continents, getCountryDataList } from "countries-list";

export const UNKNOWN_REGION = "Unknown";

const regionByCountry: ReadonlyMap<string, string> = new Map(
  getCountryDataList().map((country) => [country.iso3, continents[country.continent]]),
);

/** Region names in display order. */
export const REGIONS: readonly string[] = [...new Set(regionByCountry.values())].sort();

/** The region among `regions` with this name, whatever its case ("europe" → "Europe"); undefined when none. */
export function findRegion(name: string, regions: readonly string[] = REGIONS): string | undefined {
  const wanted = name.trim().toLowerCase();
  return regions.find((region) => region.toLowerCase() === wanted);
}

export function regionOf(country: string): string {
  return regionByCountry.get(country) ?? UNKNOWN_REGION;
}
