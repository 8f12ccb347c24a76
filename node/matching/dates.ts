/**
 * Date-of-birth comparison at the precision both sides share. Records and queries may hold "YYYY",
 * "YYYY-MM" or "YYYY-MM-DD"; a partial date agrees with any full date inside it.
 */

export type DobAgreement =
  /** Both full and equal. */
  | "exact"
  /** Equal at the shared, partial precision (e.g. "1980" vs "1980-05-01"). */
  | "compatible"
  /** Day and month swapped, or year-only data one year apart: weaker agreement. */
  | "weak"
  /** Either side has no date. */
  | "missing"
  /** Both known and incompatible: counts against a match. */
  | "disjoint";

export interface ParsedDob {
  year: number;
  month?: number;
  day?: number;
}

/** A date of birth as compareParsedDob reads it; undefined when missing or not YYYY[-MM[-DD]]. */
export function parseDob(value: string | undefined): ParsedDob | undefined {
  if (!value) return undefined;
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  if (!match) return undefined;
  return {
    year: Number(match[1]),
    ...(match[2] ? { month: Number(match[2]) } : {}),
    ...(match[3] ? { day: Number(match[3]) } : {}),
  };
}

export function compareDob(query: string | undefined, record: string | undefined): DobAgreement {
  return compareParsedDob(parseDob(query), parseDob(record));
}

/** compareDob on dates parsed once (a query's date is compared with every candidate's). */
export function compareParsedDob(a: ParsedDob | undefined, b: ParsedDob | undefined): DobAgreement {
  if (!a || !b) return "missing";
  const yearOnly = a.month === undefined || b.month === undefined;
  if (yearOnly) {
    if (a.year === b.year) return "compatible";
    return Math.abs(a.year - b.year) === 1 ? "weak" : "disjoint";
  }
  if (a.year !== b.year) return "disjoint";
  const fullOnBoth = a.day !== undefined && b.day !== undefined;
  if (a.month === b.month) {
    if (!fullOnBoth) return "compatible";
    return a.day === b.day ? "exact" : "disjoint";
  }
  // Day/month swap: 1980-05-03 entered as 1980-03-05 (common with US vs European order).
  if (fullOnBoth && a.day === b.month && a.month === b.day) return "weak";
  return "disjoint";
}
