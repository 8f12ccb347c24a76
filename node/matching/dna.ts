/**
 * DNA (STR profile) matching per the Prüm rules (Council Decision 2008/616/JHA, annex chapter 1):
 *
 * - Two profiles are compared on the loci both contain (AMEL is never compared or counted).
 * - They are comparable only if at least 6 of those shared loci are fully designated in both
 *   (no wildcard); otherwise the outcome is `not_comparable`.
 * - Full match: every allele of every shared locus agrees.
 * - Near match: exactly one allele across all shared loci differs, and at least 6 fully designated
 *   shared loci agree completely (the annex accepts a near match only with six fully designated
 *   matched loci).
 * - Anything else is `no_match`.
 *
 * Allele semantics:
 * - A single designated allele is homozygous: [15] compares as [15,15], so [15] against [15,16]
 *   is one differing allele (a possible drop-out), not agreement.
 * - The wildcard "*" stands for an allele that could not be designated and agrees with any value at
 *   its position. Positions are not ordered: as the annex says, both permutations of the other
 *   profile's alleles are tried and the better pairing counts ([15,*] against [16,15] agrees).
 *   A lone ["*"] is [*,*]: the locus is shared but says nothing.
 * - Microvariants are distinct alleles: 9.3 and 9 differ.
 *
 * Parsing and the allele/locus rules live in `biometric-schema.ts`.
 */
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import {
  AMELOGENIN,
  DNA_MIN_FULLY_DESIGNATED_LOCI,
  DNA_WILDCARD,
  dnaSchema,
  isFullyDesignated,
  type DnaAllele,
  type DnaGenotype,
  type DnaLocus,
  type DnaProfile,
} from "./biometric-schema.ts";

export type { DnaAllele, DnaGenotype, DnaLocus, DnaProfile } from "./biometric-schema.ts";

export type DnaOutcome = "full_match" | "near_match" | "no_match" | "not_comparable";

export interface DnaComparison {
  outcome: DnaOutcome;
  /** Loci present in both profiles (AMEL excluded), wildcards included. */
  comparedLoci: number;
  /** Differing alleles across the compared loci, counted with the best pairing at each locus. */
  mismatchedAlleles: number;
}

function formatPath(field: string, path: readonly PropertyKey[]): string {
  return [field, ...path.map(String)].join(".");
}

/**
 * Validates a `dna` field (locus → 1 or 2 alleles) and returns its canonical profile. Throws
 * WatchmeshError(InvalidRecord) naming the field and locus and the broken rule, never an allele.
 */
export function parseDnaProfile(input: unknown, field = "dna"): DnaProfile {
  const result = dnaSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const shown = issues.slice(0, 3).map((issue) => `field "${formatPath(field, issue.path)}": ${issue.message}`);
  const more = issues.length > 3 ? `; (+${issues.length - 3} more)` : "";
  const first = issues[0];
  throw new WatchmeshError(ErrorCode.InvalidRecord, `invalid DNA profile: ${shown.join("; ")}${more}`, {
    context: { field: first ? formatPath(field, first.path) : field },
  });
}

/** Both alleles of a genotype: a single allele is homozygous ([a] → [a, a]). */
function allelePair(genotype: DnaGenotype): readonly [DnaAllele, DnaAllele] {
  return [genotype[0], genotype[1] ?? genotype[0]];
}

function alleleDiffers(a: DnaAllele, b: DnaAllele): number {
  return a === DNA_WILDCARD || b === DNA_WILDCARD || a === b ? 0 : 1;
}

/** Differing alleles at one locus (0, 1 or 2), with the better of the two pairings. */
export function locusMismatches(a: DnaGenotype, b: DnaGenotype): number {
  const [a1, a2] = allelePair(a);
  const [b1, b2] = allelePair(b);
  return Math.min(alleleDiffers(a1, b1) + alleleDiffers(a2, b2), alleleDiffers(a1, b2) + alleleDiffers(a2, b1));
}

function matchingLoci(profile: DnaProfile): [DnaLocus, DnaGenotype][] {
  const out: [DnaLocus, DnaGenotype][] = [];
  for (const [locus, genotype] of Object.entries(profile) as [DnaLocus | typeof AMELOGENIN, DnaGenotype | undefined][]) {
    if (locus !== AMELOGENIN && genotype !== undefined) out.push([locus, genotype]);
  }
  return out;
}

/** Compares a query profile with a record profile per the Prüm rules (see the file header). */
export function compareDna(query: DnaProfile, record: DnaProfile): DnaComparison {
  let comparedLoci = 0;
  let mismatchedAlleles = 0;
  let sharedFullyDesignated = 0;
  let agreeingFullyDesignated = 0;
  for (const [locus, queryGenotype] of matchingLoci(query)) {
    const recordGenotype = record[locus];
    if (recordGenotype === undefined) continue;
    comparedLoci += 1;
    const mismatches = locusMismatches(queryGenotype, recordGenotype);
    mismatchedAlleles += mismatches;
    if (isFullyDesignated(queryGenotype) && isFullyDesignated(recordGenotype)) {
      sharedFullyDesignated += 1;
      if (mismatches === 0) agreeingFullyDesignated += 1;
    }
  }
  let outcome: DnaOutcome;
  if (sharedFullyDesignated < DNA_MIN_FULLY_DESIGNATED_LOCI) outcome = "not_comparable";
  else if (mismatchedAlleles === 0) outcome = "full_match";
  else if (mismatchedAlleles === 1 && agreeingFullyDesignated >= DNA_MIN_FULLY_DESIGNATED_LOCI) outcome = "near_match";
  else outcome = "no_match";
  return { outcome, comparedLoci, mismatchedAlleles };
}

/**
 * Blocking groups: every matching locus in exactly one of five groups.
 *
 * Why this finds every full and near match. Say profiles P and Q are a full or near match. Then at
 * least 6 loci are fully designated in both and agree completely (full match: all ≥ 6 shared fully
 * designated loci agree; near match: the rule above demands 6 agreeing fully designated loci). Six
 * loci spread over five groups put two of them, L1 and L2, in the same group (pigeonhole). Both
 * profiles emit the key for the pair (L1, L2) because both loci are fully designated in each, and the
 * keys are equal because the genotypes agree and are written canonically (sorted, homozygous as
 * "a,a"). So P and Q share a key, whichever loci they happen to have in common.
 *
 * Five groups is the fewest that works with pair keys: a profile must not be able to hold 6 agreeing
 * loci with no keyed pair among them, i.e. the pair graph may have no independent set of 6, and by
 * Turán's theorem the graph with fewest edges doing that is five disjoint cliques of near-equal size.
 * The ESS loci are spread 3,3,2,2,2 and the old 7-locus ESS 2,2,1,1,1 across the groups, so an
 * ESS-12 profile has 9 keys, a 7-locus one 2, the full 23-locus set 42.
 *
 * Selectivity: a key is a two-locus genotype, typically shared by 1 in 10³-10⁴ unrelated people.
 */
export const DNA_BLOCKING_GROUPS: readonly (readonly DnaLocus[])[] = [
  ["D3S1358", "FGA", "D12S391", "D7S820"],
  ["VWA", "TH01", "D22S1045", "D13S317"],
  ["D8S1179", "D1S1656", "CSF1PO", "D16S539", "SE33"],
  ["D21S11", "D2S441", "TPOX", "D2S1338", "PENTA_D"],
  ["D18S51", "D10S1248", "D5S818", "D19S433", "PENTA_E"],
];

function genotypeKey(genotype: DnaGenotype): string {
  const [a, b] = allelePair(genotype);
  return `${a},${b}`;
}

/**
 * Candidate keys for the store's DNA index: one per pair of fully designated loci in the same blocking
 * group, "LOCUS=a,b+LOCUS=c,d". Any profile that is a full or near match of another shares at least one
 * key with it (see DNA_BLOCKING_GROUPS). Candidates still go through `compareDna`.
 */
export function dnaBlockingKeys(profile: DnaProfile): string[] {
  const keys: string[] = [];
  for (const group of DNA_BLOCKING_GROUPS) {
    const present: string[] = [];
    for (const locus of group) {
      const genotype = profile[locus];
      if (genotype !== undefined && isFullyDesignated(genotype)) present.push(`${locus}=${genotypeKey(genotype)}`);
    }
    for (let i = 0; i < present.length; i++) {
      for (let j = i + 1; j < present.length; j++) keys.push(`${present[i]}+${present[j]}`);
    }
  }
  return keys;
}

/** The proto form (`map<string,string>`): locus → alleles comma-joined ("15,16", "15", "9.3,*"). */
export function dnaToProto(profile: DnaProfile): Record<string, string> {
  const loci: Record<string, string> = {};
  for (const [locus, genotype] of Object.entries(profile) as [string, DnaGenotype | undefined][]) {
    if (genotype !== undefined) loci[locus] = genotype.join(",");
  }
  return loci;
}

/** Parses the proto form back into a validated profile; throws like `parseDnaProfile`. */
export function dnaFromProto(loci: Readonly<Record<string, string>>, field = "dna"): DnaProfile {
  const raw: Record<string, string[]> = {};
  for (const [locus, alleles] of Object.entries(loci)) {
    raw[locus] = alleles.split(",").map((allele) => allele.trim());
  }
  return parseDnaProfile(raw, field);
}
