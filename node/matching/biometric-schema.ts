/**
 * zod schemas for the biometric fields of person records and queries, and the registries they check
 * against (DNA loci, face models). Both schemas transform: they output the parsed, canonical form that
 * `dna.ts` and `face-index.ts` work on, so the record schema can use them directly:
 *
 *   dna:  dnaSchema.optional()            {"VWA":[17,18],"TH01":[9.3],"AMEL":["X","Y"], ...}
 *   face: faceSchema.optional()           {"model":"arcface-r100-v1","vector":[0.013, -0.072, ...]}
 *
 * Issue messages name loci, models, counts and rules, never allele values or vector components. Locus
 * names come from the input, so unknown ones are shortened and stripped of control characters before
 * they appear in a message or an issue path.
 *
 * DNA allele rules (Council Decision 2008/616/JHA, annex chapter 1, on what may be exported for search):
 * - A designated allele is a repeat number 2..98, optionally with a microvariant: .1-.3 at the
 *   tetranucleotide loci, .1-.4 at the pentanucleotide loci (Penta D, Penta E). Numbers and numeric
 *   strings are both accepted ("9.3" and 9.3 are the same allele).
 * - "*" is the wildcard: an allele that could not be designated; it matches any value at its position.
 *   As the annex prescribes, the values 0, 1 and 99, off-ladder notations ("<8", ">30", "OL") and the
 *   non-numeric codes o, f, r, na, nr, un are converted to the wildcard.
 * - One allele means homozygous ([15] is [15,15]); two equal alleles are stored as one.
 * - Three or more alleles mean a mixture (or a rare tri-allelic pattern) and the profile is rejected.
 *   (The annex would keep the first allele and wildcard the rest; we reject so that a mixed stain
 *   cannot enter the person data set at all.)
 * - AMEL (amelogenin) takes "X"/"Y"; it is kept but never counted or compared.
 * - A profile needs at least 6 fully designated loci (not AMEL): two designated alleles or a single
 *   (homozygous) designated allele, no wildcard.
 */
import { z } from "zod";

// ---------------------------------------------------------------------------------------------- DNA

/** The European Standard Set (12 loci). */
export const ESS_LOCI = [
  "D3S1358",
  "VWA",
  "D8S1179",
  "D21S11",
  "D18S51",
  "TH01",
  "FGA",
  "D1S1656",
  "D2S441",
  "D10S1248",
  "D12S391",
  "D22S1045",
] as const;

/** Common CODIS (and kit) loci beyond the ESS. */
export const EXTRA_LOCI = [
  "D16S539",
  "D7S820",
  "D13S317",
  "D5S818",
  "CSF1PO",
  "TPOX",
  "D2S1338",
  "D19S433",
  "SE33",
  "PENTA_D",
  "PENTA_E",
] as const;

/** Every locus that takes part in matching (AMEL does not). */
export const DNA_LOCI = [...ESS_LOCI, ...EXTRA_LOCI] as const;
export type DnaLocus = (typeof DNA_LOCI)[number];

export const AMELOGENIN = "AMEL";
export const DNA_WILDCARD = "*";
export const DNA_MIN_FULLY_DESIGNATED_LOCI = 6;

const PENTANUCLEOTIDE_LOCI: ReadonlySet<string> = new Set<DnaLocus>(["PENTA_D", "PENTA_E"]);

/** A canonical allele: "15", "9.3", "*" (wildcard); "X"/"Y" at AMEL only. */
export type DnaAllele = string;
/** One allele (homozygous, or a lone wildcard) or two, sorted: numbers ascending, wildcard last. */
export type DnaGenotype = readonly [DnaAllele] | readonly [DnaAllele, DnaAllele];
/** Canonical locus name → genotype. Keys are DNA_LOCI names and optionally AMEL. */
export type DnaProfile = Readonly<Partial<Record<DnaLocus | typeof AMELOGENIN, DnaGenotype>>>;

/** Lookup key: upper case without spaces, "_" or "-", so "vWA", "Penta D" and "PENTA-D" are accepted. */
function locusLookupKey(name: string): string {
  return name.toUpperCase().replace(/[\s_-]/g, "");
}

const LOCUS_BY_LOOKUP_KEY: ReadonlyMap<string, DnaLocus | typeof AMELOGENIN> = new Map<string, DnaLocus | typeof AMELOGENIN>([
  ...DNA_LOCI.map((locus) => [locusLookupKey(locus), locus] as const),
  [AMELOGENIN, AMELOGENIN],
  ["AMELOGENIN", AMELOGENIN],
]);

/** The canonical locus for an input name (case, spaces, "_" and "-" ignored), or undefined. */
export function canonicalLocus(name: string): DnaLocus | typeof AMELOGENIN | undefined {
  return LOCUS_BY_LOOKUP_KEY.get(locusLookupKey(name));
}

/** Names from the input, made safe for messages: no control characters, at most 32 characters. */
export function safeName(name: string): string {
  const clean = name.replace(/[\p{C}]/gu, "?");
  return clean.length > 32 ? `${clean.slice(0, 32)}…` : clean;
}

const DESIGNATED_PATTERN = /^(\d{1,2})(?:\.(\d))?$/;
const OFF_LADDER_PATTERN = /^[<>]\s*\d{1,3}(?:\.\d)?$/;
/** Non-numeric codes the annex converts to the wildcard (plus "OL", off-ladder). */
const WILDCARD_CODES: ReadonlySet<string> = new Set(["O", "F", "R", "NA", "NR", "UN", "OL"]);
/** Numeric codes the annex converts to the wildcard. */
const WILDCARD_NUMBERS: ReadonlySet<string> = new Set(["0", "1", "99"]);

/** Canonical allele, or undefined when the value is not a valid designation at this locus. */
function canonicalAllele(locus: DnaLocus, value: unknown): DnaAllele | undefined {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    text = String(value);
  } else if (typeof value === "string") {
    text = value.trim().toUpperCase();
  } else {
    return undefined;
  }
  if (text === DNA_WILDCARD || WILDCARD_CODES.has(text) || OFF_LADDER_PATTERN.test(text)) return DNA_WILDCARD;
  const match = DESIGNATED_PATTERN.exec(text);
  if (!match) return undefined;
  const repeats = String(Number(match[1])); // "09" → "9"
  if (match[2] === undefined && WILDCARD_NUMBERS.has(repeats)) return DNA_WILDCARD;
  if (Number(repeats) < 2 || Number(repeats) > 98) return undefined;
  if (match[2] === undefined) return repeats;
  const maxMicrovariant = PENTANUCLEOTIDE_LOCI.has(locus) ? 4 : 3;
  const microvariant = Number(match[2]);
  if (microvariant === 0) return repeats; // "15.0" is 15
  if (microvariant > maxMicrovariant) return undefined;
  return `${repeats}.${microvariant}`;
}

/** Sort order inside a genotype: designated alleles ascending by value, the wildcard last. */
function compareAlleles(a: DnaAllele, b: DnaAllele): number {
  if (a === b) return 0;
  if (a === DNA_WILDCARD) return 1;
  if (b === DNA_WILDCARD) return -1;
  return Number(a) - Number(b);
}

/** True when the genotype has no wildcard (one allele = homozygous, or two designated alleles). */
export function isFullyDesignated(genotype: DnaGenotype): boolean {
  return !genotype.includes(DNA_WILDCARD);
}

interface ProfileIssue {
  path: string[];
  message: string;
}

/** Validates and canonicalises the raw `dna` object; collects every issue rather than the first. */
function buildDnaProfile(raw: Record<string, unknown>): { profile: DnaProfile; issues: ProfileIssue[] } {
  const issues: ProfileIssue[] = [];
  const profile: Partial<Record<string, DnaGenotype>> = {};
  let fullyDesignated = 0;
  for (const [name, value] of Object.entries(raw)) {
    const shown = safeName(name);
    const locus = canonicalLocus(name);
    if (locus === undefined) {
      issues.push({ path: [shown], message: `unknown DNA locus "${shown}" (not in the European Standard Set or CODIS loci)` });
      continue;
    }
    if (profile[locus] !== undefined) {
      issues.push({ path: [shown], message: `DNA locus ${locus} is given twice` });
      continue;
    }
    if (!Array.isArray(value) || value.length === 0) {
      issues.push({ path: [shown], message: `DNA locus ${locus} must be a list of 1 or 2 alleles` });
      continue;
    }
    if (value.length > 2) {
      issues.push({ path: [shown], message: `DNA profile looks like a mixture at locus ${locus} (more than 2 alleles)` });
      continue;
    }
    const alleles: DnaAllele[] = [];
    if (locus === AMELOGENIN) {
      for (const allele of value as unknown[]) {
        const text = typeof allele === "string" ? allele.trim().toUpperCase() : "";
        if (text !== "X" && text !== "Y") {
          issues.push({ path: [shown], message: `DNA locus ${AMELOGENIN} takes the values "X" and "Y"` });
          break;
        }
        alleles.push(text);
      }
      if (alleles.length !== value.length) continue;
      alleles.sort();
    } else {
      for (const allele of value as unknown[]) {
        const canonical = canonicalAllele(locus, allele);
        if (canonical === undefined) {
          issues.push({
            path: [shown],
            message: `DNA locus ${locus} has an allele that is not a repeat number (2-98, microvariant .1-.${PENTANUCLEOTIDE_LOCI.has(locus) ? 4 : 3}) or "*"`,
          });
          break;
        }
        alleles.push(canonical);
      }
      if (alleles.length !== value.length) continue;
      alleles.sort(compareAlleles);
    }
    const genotype: DnaGenotype =
      alleles.length === 2 && alleles[0] !== alleles[1] ? [alleles[0] ?? "", alleles[1] ?? ""] : [alleles[0] ?? ""];
    profile[locus] = genotype;
    if (locus !== AMELOGENIN && isFullyDesignated(genotype)) fullyDesignated += 1;
  }
  if (issues.length === 0 && fullyDesignated < DNA_MIN_FULLY_DESIGNATED_LOCI) {
    issues.push({
      path: [],
      message: `DNA profile needs at least ${DNA_MIN_FULLY_DESIGNATED_LOCI} fully designated loci (two alleles or one homozygous allele, no wildcard; AMEL not counted), it has ${fullyDesignated}`,
    });
  }
  return { profile, issues };
}

/**
 * The `dna` field: an object of locus → 1 or 2 alleles, output as a canonical `DnaProfile` (canonical
 * locus names, canonical alleles sorted, homozygous pairs collapsed to one allele).
 */
export const dnaSchema: z.ZodType<DnaProfile, unknown> = z
  .record(z.string(), z.unknown(), { error: "must be an object of DNA locus → alleles" })
  .transform((raw, ctx) => {
    const { profile, issues } = buildDnaProfile(raw);
    if (issues.length === 0) return profile;
    for (const issue of issues) ctx.issues.push({ code: "custom", message: issue.message, input: undefined, path: issue.path });
    return z.NEVER;
  });

// --------------------------------------------------------------------------------------------- Face

export interface FaceModelSpec {
  /** Length of the embedding vector. */
  dimensions: number;
  /** Cosine similarity at or above which a search result counts as a hit. */
  threshold: number;
}

/**
 * Known face embedding models. Thresholds are cosine similarities of L2-normalised embeddings, set for
 * searching a whole gallery, where a one-to-one verification threshold would produce false hits:
 * - arcface-r100-v1: 0.40, from `npm run bench -- face-eval` (synthetic embeddings; see its header):
 *   the lowest threshold with recall ≥ 0.99 and no false hits among 10⁸ stranger comparisons, both
 *   with isotropic embeddings and with wider, anisotropic ones. Above the usual ArcFace verification
 *   thresholds (≈ 0.30-0.35).
 * - facenet-512: 0.75, the commonly published FaceNet-512 verification threshold (cosine distance
 *   0.30, similarity 0.70) plus a margin for gallery search; not calibrated here.
 * A deployment must calibrate on the real model's score distributions and may override per node
 * (`FaceIndexOptions.models`).
 */
export const DEFAULT_FACE_MODELS: Readonly<Record<string, Readonly<FaceModelSpec>>> = {
  "arcface-r100-v1": { dimensions: 512, threshold: 0.4 },
  "facenet-512": { dimensions: 512, threshold: 0.75 },
};

/** Model names also name index files, so they are restricted to a safe file-name alphabet. */
export const FACE_MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_FACE_DIMENSIONS = 4096;

/** Per-node changes to the registry: a known model may change its threshold; a new model needs both. */
export type FaceModelOverrides = Readonly<Record<string, Readonly<Partial<FaceModelSpec>>>>;

/** A validated face template: the model and its embedding, L2-normalised, as float32. */
export interface FaceTemplate {
  model: string;
  vector: Float32Array;
}

const faceInputSchema = z.strictObject({
  model: z.string().min(1).max(64),
  vector: z.array(z.number()).min(1).max(MAX_FACE_DIMENSIONS),
});

/**
 * The `face` field against a model registry: known model, exact dimension, finite float32 numbers,
 * non-zero norm. Outputs a `FaceTemplate` with a unit-length vector.
 */
export function faceSchemaFor(models: Readonly<Record<string, Readonly<FaceModelSpec>>>): z.ZodType<FaceTemplate, unknown> {
  return faceInputSchema.transform((raw, ctx) => {
    const spec = Object.hasOwn(models, raw.model) ? models[raw.model] : undefined;
    if (spec === undefined) {
      ctx.issues.push({ code: "custom", message: `unknown face model (known: ${Object.keys(models).join(", ")})`, input: undefined, path: ["model"] });
      return z.NEVER;
    }
    if (raw.vector.length !== spec.dimensions) {
      ctx.issues.push({
        code: "custom",
        message: `must have exactly ${spec.dimensions} numbers for model ${raw.model}, has ${raw.vector.length}`,
        input: undefined,
        path: ["vector"],
      });
      return z.NEVER;
    }
    const vector = Float32Array.from(raw.vector);
    let squares = 0;
    for (const component of vector) squares += component * component;
    // Values beyond float32 range become Infinity; tiny ones underflow to 0.
    if (!Number.isFinite(squares)) {
      ctx.issues.push({ code: "custom", message: "must hold finite 32-bit floating-point numbers", input: undefined, path: ["vector"] });
      return z.NEVER;
    }
    const norm = Math.sqrt(squares);
    if (norm === 0 || !Number.isFinite(1 / norm)) {
      ctx.issues.push({ code: "custom", message: "must not be the zero vector", input: undefined, path: ["vector"] });
      return z.NEVER;
    }
    for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] ?? 0) / norm;
    return { model: raw.model, vector };
  });
}

/** The `face` field against the default model registry. */
export const faceSchema: z.ZodType<FaceTemplate, unknown> = faceSchemaFor(DEFAULT_FACE_MODELS);
