import { InvalidArgumentError } from "commander";
import { isCountryCode } from "../../../common/country-codes.ts";

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parsePositiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError("expected a positive whole number");
  return parsed;
}

export function parseCountryList(value: string): string[] {
  const countries = value.split(",").map((part) => part.trim().toUpperCase()).filter(Boolean);
  const bad = countries.find((country) => !isCountryCode(country));
  if (bad !== undefined) throw new InvalidArgumentError(`${bad} is not an ISO 3166-1 alpha-3 code`);
  return countries;
}
