import { InvalidArgumentError } from "commander";
import { AGGREGATE_LIMITS } from "../../../common/aggregate-query.ts";
import { isCountryCode } from "../../../common/country-codes.ts";

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parsePositiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError("expected a positive whole number");
  return parsed;
}

/** An aggregate query's epsilon: 0 (exact counts) up to AGGREGATE_LIMITS.maxEpsilon. */
export function parseEpsilon(value: string): number {
  const epsilon = Number(value);
  if (!Number.isFinite(epsilon) || epsilon < 0 || epsilon > AGGREGATE_LIMITS.maxEpsilon) {
    throw new InvalidArgumentError(`expected 0 (exact counts) or a number up to ${AGGREGATE_LIMITS.maxEpsilon}`);
  }
  return epsilon;
}

export function parseCountryList(value: string): string[] {
  const countries = value.split(",").map((part) => part.trim().toUpperCase()).filter(Boolean);
  const bad = countries.find((country) => !isCountryCode(country));
  if (bad !== undefined) throw new InvalidArgumentError(`${bad} is not an ISO 3166-1 alpha-3 code`);
  return countries;
}
