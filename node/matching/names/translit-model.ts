/**
 * The learned transliteration model: for each foreign-script unit, the Latin strings it is written as,
 * with probabilities learned by EM from cross-script name pairs (scripts/build-name-tables.ts), and a
 * Latin letter-bigram model of names for normalisation.
 *
 * Scoring a foreign token against a Latin token is a forward pass over the alignment lattice
 * (sum over all ways to cut the Latin string into the units' spellings) giving log P(latin | foreign);
 * subtracting log P(latin) under the bigram model gives a log-likelihood ratio: how much better the
 * foreign token explains the Latin spelling than chance. Per-script calibration maps it to 0..1.
 */
import { NAME_MATCH_THRESHOLD } from "./constants.ts";
import type { ModelScript } from "./script.ts";

/** Bumped whenever the tables' format or the units they are keyed by change. */
export const TABLES_VERSION = 1;

/** One unit's spellings: [latin, log probability] pairs, most likely first. */
export type UnitSpellings = ReadonlyArray<readonly [string, number]>;

export interface ScriptModel {
  units: Readonly<Record<string, UnitSpellings>>;
  /** LLR per Latin letter at which the calibrated score is NAME_MATCH_THRESHOLD (the acceptance point). */
  offset: number;
  /** Logistic slope of the calibration. */
  scale: number;
}

export interface TranslitTables {
  version: number;
  source: string;
  /** Latin bigram log probabilities: 27×27 row-major, index 0 = word boundary, 1..26 = a..z. */
  bigram: number[];
  scripts: Partial<Record<ModelScript, ScriptModel>>;
}

/** Spellings of a unit the model never saw: silent, or any one letter, all unlikely. */
const UNKNOWN_UNIT_LOGP = Math.log(1e-4);

function letterIndex(code: number): number {
  return code >= 97 && code <= 122 ? code - 96 : 0;
}

/** log P(latin) under the bigram model, boundaries included. `latin` is folded (a–z only). */
export function latinLogProb(bigram: readonly number[], latin: string): number {
  let prev = 0;
  let total = 0;
  for (let i = 0; i < latin.length; i++) {
    const cur = letterIndex(latin.charCodeAt(i));
    total += bigram[prev * 27 + cur] ?? -10;
    prev = cur;
  }
  return total + (bigram[prev * 27] ?? -10);
}

/** Backoff for spellings the tables lack: any 1–2 letters per unit, or a Latin letter with no unit. */
export const BACKOFF = { spellLetter: 0.0002, insertLetter: 0.001 };

interface CompiledUnit {
  /** Spellings as char codes, flattened: spelling k is codes[starts[k]..starts[k + 1]). */
  codes: Uint8Array;
  starts: Uint16Array;
  probs: Float64Array;
  /**
   * For each letter a–z, the spellings that can match at a position holding it: those beginning with
   * it and the empty ones, in increasing k (so sums are added in the same order as over every k).
   */
  byFirstLetter: Uint16Array[];
  /** The empty spellings: the only ones that fit at the end of the Latin string. */
  empty: Uint16Array;
}

/** The spellings of `starts`/`codes` that are empty or begin with char code `first` (any first letter when undefined). */
function spellingsStartingWith(codes: Uint8Array, starts: Uint16Array, first: number | undefined): Uint16Array {
  const ks: number[] = [];
  for (let k = 0; k + 1 < starts.length; k++) {
    const from = starts[k]!;
    if (starts[k + 1] === from || codes[from] === first) ks.push(k);
  }
  return Uint16Array.from(ks);
}
const compiledModels = new WeakMap<ScriptModel, Map<string, CompiledUnit>>();

function compiled(model: ScriptModel): Map<string, CompiledUnit> {
  let units = compiledModels.get(model);
  if (units === undefined) {
    units = new Map();
    for (const [unit, spellings] of Object.entries(model.units)) {
      const starts = new Uint16Array(spellings.length + 1);
      const codes: number[] = [];
      spellings.forEach(([spelling], k) => {
        starts[k] = codes.length;
        for (let c = 0; c < spelling.length; c++) codes.push(spelling.charCodeAt(c));
      });
      starts[spellings.length] = codes.length;
      const codeArray = Uint8Array.from(codes);
      units.set(unit, {
        codes: codeArray,
        starts,
        probs: Float64Array.from(spellings, ([, lp]) => Math.exp(lp)),
        byFirstLetter: Array.from({ length: 26 }, (_, letter) => spellingsStartingWith(codeArray, starts, 97 + letter)),
        empty: spellingsStartingWith(codeArray, starts, undefined),
      });
    }
    compiledModels.set(model, units);
  }
  return units;
}

/** Scratch rows for the forward pass (names are short; longer inputs allocate). */
let scratchA = new Float64Array(64);
let scratchB = new Float64Array(64);

/**
 * log P(latin | units): forward algorithm over (units consumed, letters produced), with a small backoff
 * so a spelling the tables lack costs a lot instead of ruling the pair out. Costs O(units × letters ×
 * spellings per unit): a few microseconds.
 */
export function channelLogProb(model: ScriptModel, units: readonly string[], latin: string): number {
  const n = units.length;
  const m = latin.length;
  if (n === 0) return m === 0 ? 0 : -Infinity;
  const table = compiled(model);
  if (scratchA.length < m + 1) {
    scratchA = new Float64Array(m + 1);
    scratchB = new Float64Array(m + 1);
  }
  let alpha = scratchA;
  let next = scratchB;
  const spell1 = BACKOFF.spellLetter;
  const spell2 = BACKOFF.spellLetter * BACKOFF.spellLetter;
  const insert = BACKOFF.insertLetter;
  alpha.fill(0, 0, m + 1);
  alpha[0] = 1;
  let logScale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) alpha[j + 1]! += alpha[j]! * insert;
    next.fill(0, 0, m + 1);
    const unit = table.get(units[i] ?? "");
    for (let j = 0; j <= m; j++) {
      const a = alpha[j]!;
      if (a === 0) continue;
      if (j + 1 <= m) next[j + 1]! += a * spell1;
      if (j + 2 <= m) next[j + 2]! += a * spell2;
      if (unit === undefined) {
        next[j]! += a * spell1;
        continue;
      }
      const { codes, starts, probs } = unit;
      // Only spellings that are empty or begin with the letter at j can match there (the Latin side is
      // folded to a–z; any other character falls back to trying every spelling).
      const letter = j < m ? latin.charCodeAt(j) - 97 : -1;
      const candidates = j === m ? unit.empty : letter >= 0 && letter < 26 ? unit.byFirstLetter[letter]! : undefined;
      const count = candidates === undefined ? probs.length : candidates.length;
      for (let index = 0; index < count; index++) {
        const k = candidates === undefined ? index : candidates[index]!;
        const from = starts[k]!;
        const len = starts[k + 1]! - from;
        if (j + len > m) continue;
        let ok = true;
        for (let c = 0; c < len; c++) {
          if (codes[from + c] !== latin.charCodeAt(j + c)) {
            ok = false;
            break;
          }
        }
        if (ok) next[j + len]! += a * probs[k]!;
      }
    }
    let max = 0;
    for (let j = 0; j <= m; j++) if (next[j]! > max) max = next[j]!;
    if (max === 0) return -Infinity;
    if (max < 1e-100) {
      for (let j = 0; j <= m; j++) next[j]! /= max;
      logScale += Math.log(max);
    }
    const swap = alpha;
    alpha = next;
    next = swap;
  }
  for (let j = 0; j < m; j++) alpha[j + 1]! += alpha[j]! * insert;
  const end = alpha[m]!;
  return end === 0 ? -Infinity : Math.log(end) + logScale;
}

/** Log-likelihood ratio per Latin letter (+1 for the end): positive when the units explain the spelling. */
export function llrPerLetter(tables: TranslitTables, model: ScriptModel, units: readonly string[], latin: string): number {
  const channel = channelLogProb(model, units, latin);
  if (channel === -Infinity) return -Infinity;
  return (channel - latinLogProb(tables.bigram, latin)) / (latin.length + 1);
}

const THRESHOLD_LOGIT = Math.log(NAME_MATCH_THRESHOLD / (1 - NAME_MATCH_THRESHOLD));

/** Calibrated 0..1 score of a foreign token (as units) against a folded Latin token. */
export function modelScore(tables: TranslitTables, model: ScriptModel, units: readonly string[], latin: string): number {
  const llr = llrPerLetter(tables, model, units, latin);
  if (llr === -Infinity) return 0;
  return 1 / (1 + Math.exp(-(model.scale * (llr - model.offset) + THRESHOLD_LOGIT)));
}

/**
 * The `count` most likely Latin spellings of a unit sequence (beam search on the channel model with the
 * bigram model as a weak prior). Used for display forms and blocking keys, not for scoring.
 */
export function decodeUnits(
  tables: TranslitTables,
  model: ScriptModel,
  units: readonly string[],
  count: number,
  beamWidth = 6,
): string[] {
  interface Hyp {
    text: string;
    channel: number;
    lm: number;
    prev: number;
  }
  const lmWeight = 0.5;
  let beam: Hyp[] = [{ text: "", channel: 0, lm: 0, prev: 0 }];
  for (const unit of units) {
    const spellings = model.units[unit] ?? [["", UNKNOWN_UNIT_LOGP] as const];
    const next = new Map<string, Hyp>();
    for (const hyp of beam) {
      for (const [spelling, logp] of spellings.slice(0, 5)) {
        let lm = hyp.lm;
        let prev = hyp.prev;
        for (let k = 0; k < spelling.length; k++) {
          const cur = letterIndex(spelling.charCodeAt(k));
          lm += tables.bigram[prev * 27 + cur] ?? -10;
          prev = cur;
        }
        const text = hyp.text + spelling;
        const cand: Hyp = { text, channel: hyp.channel + logp, lm, prev };
        const seen = next.get(text);
        if (seen === undefined || seen.channel + lmWeight * seen.lm < cand.channel + lmWeight * cand.lm) next.set(text, cand);
      }
    }
    beam = [...next.values()].sort((x, y) => y.channel + lmWeight * y.lm - (x.channel + lmWeight * x.lm)).slice(0, beamWidth);
  }
  return beam
    .filter((h) => h.text !== "")
    .sort((x, y) => {
      const fx = x.channel + lmWeight * (x.lm + (tables.bigram[x.prev * 27] ?? -10));
      const fy = y.channel + lmWeight * (y.lm + (tables.bigram[y.prev * 27] ?? -10));
      return fy - fx;
    })
    .slice(0, count)
    .map((h) => h.text);
}
