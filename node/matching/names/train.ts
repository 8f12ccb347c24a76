/**
 * Learning the transliteration tables from cross-script name pairs (run by scripts/build-name-tables.ts,
 * never at query time): EM over the alignment lattice of each pair, a Latin bigram model, and a
 * per-script calibration against hard negatives so one threshold fits all scripts.
 */
import { NAME_MATCH_THRESHOLD } from "./constants.ts";
import { pickHardNegatives, type NamePair } from "./pairs.ts";
import { foldLatin, toUnits, type ModelScript } from "./script.ts";
import { llrPerLetter, type ScriptModel, type TranslitTables, type UnitSpellings } from "./translit-model.ts";

/** Longest Latin string one unit may be written as. */
const MAX_SPELLING = 4;

export interface TrainingExample {
  units: string[];
  latin: string;
  weight: number;
}

export function toExamples(pairs: readonly NamePair[], script: ModelScript): TrainingExample[] {
  const out: TrainingExample[] = [];
  for (const p of pairs) {
    const units = toUnits(p.foreign, script);
    const latin = foldLatin(p.latin);
    if (units.length === 0 || latin === "" || latin.length > units.length * MAX_SPELLING) continue;
    out.push({ units, latin, weight: 1 });
  }
  return out;
}

type Params = Map<string, Map<string, number>>;

/** Expected spelling counts of one example under `params` (forward-backward); adds into `counts`. */
function accumulate(params: Params | undefined, ex: TrainingExample, counts: Params): void {
  const n = ex.units.length;
  const m = ex.latin.length;
  const prob = (unit: string, spelling: string): number =>
    params === undefined ? 1 : (params.get(unit)?.get(spelling) ?? 1e-7);
  const alpha: Float64Array[] = [];
  const beta: Float64Array[] = [];
  for (let i = 0; i <= n; i++) {
    alpha.push(new Float64Array(m + 1));
    beta.push(new Float64Array(m + 1));
  }
  alpha[0]![0] = 1;
  for (let i = 0; i < n; i++) {
    const unit = ex.units[i]!;
    for (let j = 0; j <= m; j++) {
      const a = alpha[i]![j]!;
      if (a === 0) continue;
      for (let k = 0; k <= MAX_SPELLING && j + k <= m; k++) {
        alpha[i + 1]![j + k]! += a * prob(unit, ex.latin.slice(j, j + k));
      }
    }
  }
  const z = alpha[n]![m]!;
  if (!(z > 0)) return;
  beta[n]![m] = 1;
  for (let i = n - 1; i >= 0; i--) {
    const unit = ex.units[i]!;
    for (let j = 0; j <= m; j++) {
      let b = 0;
      for (let k = 0; k <= MAX_SPELLING && j + k <= m; k++) {
        b += prob(unit, ex.latin.slice(j, j + k)) * beta[i + 1]![j + k]!;
      }
      beta[i]![j] = b;
    }
  }
  for (let i = 0; i < n; i++) {
    const unit = ex.units[i]!;
    let unitCounts = counts.get(unit);
    if (unitCounts === undefined) {
      unitCounts = new Map();
      counts.set(unit, unitCounts);
    }
    for (let j = 0; j <= m; j++) {
      const a = alpha[i]![j]!;
      if (a === 0) continue;
      for (let k = 0; k <= MAX_SPELLING && j + k <= m; k++) {
        const spelling = ex.latin.slice(j, j + k);
        const post = (a * prob(unit, spelling) * beta[i + 1]![j + k]!) / z;
        if (post > 1e-6) unitCounts.set(spelling, (unitCounts.get(spelling) ?? 0) + post * ex.weight);
      }
    }
  }
}

function normalise(counts: Params): Params {
  const params: Params = new Map();
  for (const [unit, spellings] of counts) {
    let total = 0;
    for (const c of spellings.values()) total += c;
    const probs = new Map<string, number>();
    for (const [s, c] of spellings) probs.set(s, c / total);
    params.set(unit, probs);
  }
  return params;
}

/** EM: uniform start, `iterations` rounds of expected counts, then pruning to the likely spellings. */
export function trainChannel(examples: readonly TrainingExample[], iterations = 8): Record<string, UnitSpellings> {
  let params: Params | undefined;
  for (let it = 0; it < iterations; it++) {
    const counts: Params = new Map();
    for (const ex of examples) accumulate(params, ex, counts);
    params = normalise(counts);
  }
  const unitTotals = new Map<string, number>();
  for (const ex of examples) for (const u of ex.units) unitTotals.set(u, (unitTotals.get(u) ?? 0) + 1);
  const out: Record<string, UnitSpellings> = {};
  for (const [unit, probs] of params ?? new Map<string, Map<string, number>>()) {
    if ((unitTotals.get(unit) ?? 0) < 2) continue;
    const kept = [...probs].filter(([, p]) => p >= 0.003).sort((a, b) => b[1] - a[1]).slice(0, 24);
    const mass = kept.reduce((s, [, p]) => s + p, 0);
    out[unit] = kept.map(([s, p]) => [s, Math.round(Math.log(p / mass) * 1000) / 1000] as const);
  }
  return out;
}

/** Letter-bigram log probabilities of folded Latin names (add-one smoothed), 27×27 with the boundary at 0. */
export function trainBigram(latinTokens: Iterable<string>): number[] {
  const counts = new Array<number>(27 * 27).fill(1);
  for (const token of latinTokens) {
    let prev = 0;
    for (let i = 0; i < token.length; i++) {
      const cur = token.charCodeAt(i) - 96;
      counts[prev * 27 + cur]! += 1;
      prev = cur;
    }
    counts[prev * 27]! += 1;
  }
  const out: number[] = [];
  for (let r = 0; r < 27; r++) {
    let total = 0;
    for (let c = 0; c < 27; c++) total += counts[r * 27 + c]!;
    for (let c = 0; c < 27; c++) out.push(Math.round(Math.log(counts[r * 27 + c]! / total) * 1000) / 1000);
  }
  return out;
}

const logit = (p: number): number => Math.log(p / (1 - p));

/**
 * Sets the model's calibration from training pairs: the offset is the LLR that `targetFar` of hard
 * negatives reach, so a calibrated score of NAME_MATCH_THRESHOLD means "accepted"; the slope maps the
 * median true pair to 0.97.
 */
export function calibrate(
  tables: TranslitTables,
  model: ScriptModel,
  script: ModelScript,
  pairs: readonly NamePair[],
  targetFar: number,
): { offset: number; scale: number } {
  const negatives = pickHardNegatives(pairs, 12345);
  const pos: number[] = [];
  const neg: number[] = [];
  pairs.forEach((p, i) => {
    const units = toUnits(p.foreign, script);
    pos.push(llrPerLetter(tables, model, units, foldLatin(p.latin)));
    const n = negatives[i];
    if (n !== undefined) neg.push(llrPerLetter(tables, model, units, n));
  });
  neg.sort((a, b) => b - a);
  pos.sort((a, b) => a - b);
  const offset = neg[Math.floor(neg.length * targetFar)] ?? 0;
  const median = pos[Math.floor(pos.length / 2)] ?? offset + 1;
  const scale = (logit(0.97) - logit(NAME_MATCH_THRESHOLD)) / Math.max(median - offset, 0.05);
  return { offset: Math.round(offset * 10000) / 10000, scale: Math.round(scale * 1000) / 1000 };
}
