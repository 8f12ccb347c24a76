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
  /** log of the most probability mass the unit passes on from one position: its spellings' and the backoff's. */
  logGain: number;
  /** Most letters the unit writes in one step (a spelling's, or the backoff's two). */
  maxLetters: number;
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
        logGain: Math.log(spellings.reduce((sum, [, lp]) => sum + Math.exp(lp), 0) + BACKOFF.spellLetter + BACKOFF.spellLetter ** 2),
        maxLetters: Math.max(2, ...spellings.map(([spelling]) => spelling.length)),
      });
    }
    compiledModels.set(model, units);
  }
  return units;
}

/** A unit the tables lack passes on its backoff only: staying silent or writing one or two letters. */
const UNKNOWN_UNIT_LOG_GAIN = Math.log(2 * BACKOFF.spellLetter + BACKOFF.spellLetter ** 2);

/** Scratch rows for the forward pass (names are short; longer inputs allocate). */
let scratchA = new Float64Array(64);
let scratchB = new Float64Array(64);
/** Per unit position: what the units from there on can add at most (see channelLogProb's `floor`). */
let scratchGain = new Float64Array(16);
let scratchLetters = new Int32Array(16);

/**
 * log P(latin | units): forward algorithm over (units consumed, letters produced), with a small backoff
 * so a spelling the tables lack costs a lot instead of ruling the pair out. Costs O(units × letters ×
 * spellings per unit): a few microseconds.
 *
 * With a `floor`, the pass stops as soon as it proves the result below it and returns -Infinity: after
 * each unit, no more probability can reach the end than the rows hold, times what the remaining units
 * pass on at most, times the letter insertions the remaining letters need beyond what those units can
 * write. Most pairs a matcher compares are unrelated names, which fall below the floor in a few units.
 */
export function channelLogProb(model: ScriptModel, units: readonly string[], latin: string, floor = -Infinity): number {
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
  const bounded = floor > -Infinity;
  if (bounded) remainingCapacity(table, units);
  const gain = scratchGain;
  const letters = scratchLetters;
  // Each insertion pass (one before every unit, one at the end) multiplies the mass by at most this.
  const logInsertionPass = -Math.log1p(-insert);
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
    if (bounded && i + 1 < n) {
      // Mass at j reaches the end only through the remaining units, writing at most letters[i + 1] of
      // the m - j letters left; every further letter is an insertion.
      let reachable = 0;
      for (let j = 0; j <= m; j++) {
        const a = next[j]!;
        if (a !== 0) reachable += a * insert ** Math.max(0, m - j - letters[i + 1]!);
      }
      const bound = Math.log(reachable) + logScale + gain[i + 1]! + (n - i) * logInsertionPass;
      // The margin keeps rounding from cutting a pass whose exact result is at the floor.
      if (bound < floor - 1e-9) return -Infinity;
    }
    const swap = alpha;
    alpha = next;
    next = swap;
  }
  for (let j = 0; j < m; j++) alpha[j + 1]! += alpha[j]! * insert;
  const end = alpha[m]!;
  return end === 0 ? -Infinity : Math.log(end) + logScale;
}

/**
 * Fills scratchGain[i] with the log of the most mass units i.. pass on together, and scratchLetters[i]
 * with the most letters they write (both 0 past the last unit).
 */
function remainingCapacity(table: ReadonlyMap<string, CompiledUnit>, units: readonly string[]): void {
  const n = units.length;
  if (scratchGain.length < n + 1) {
    scratchGain = new Float64Array(n + 1);
    scratchLetters = new Int32Array(n + 1);
  }
  scratchGain[n] = 0;
  scratchLetters[n] = 0;
  for (let i = n - 1; i >= 0; i--) {
    const unit = table.get(units[i] ?? "");
    scratchGain[i] = scratchGain[i + 1]! + (unit?.logGain ?? UNKNOWN_UNIT_LOG_GAIN);
    scratchLetters[i] = scratchLetters[i + 1]! + (unit?.maxLetters ?? 2);
  }
}

/**
 * Log-likelihood ratio per Latin letter (+1 for the end): positive when the units explain the spelling.
 * A ratio below `minimum` may come back as -Infinity (the forward pass stops once it proves it below).
 */
export function llrPerLetter(tables: TranslitTables, model: ScriptModel, units: readonly string[], latin: string, minimum = -Infinity): number {
  const background = latinLogProb(tables.bigram, latin);
  const channel = channelLogProb(model, units, latin, minimum * (latin.length + 1) + background);
  if (channel === -Infinity) return -Infinity;
  return (channel - background) / (latin.length + 1);
}

const logit = (p: number): number => Math.log(p / (1 - p));
const THRESHOLD_LOGIT = logit(NAME_MATCH_THRESHOLD);

/**
 * Calibrated 0..1 score of a foreign token (as units) against a folded Latin token. A score below
 * `minimum` may come back as 0: a matcher that only asks whether a pair reaches a threshold saves most
 * of the forward pass of a pair that does not.
 */
export function modelScore(tables: TranslitTables, model: ScriptModel, units: readonly string[], latin: string, minimum = 0): number {
  // The calibration is increasing in the ratio (scale > 0), so a minimum score is a minimum ratio.
  const minimumLlr = minimum > 0 && minimum < 1 && model.scale > 0 ? model.offset + (logit(minimum) - THRESHOLD_LOGIT) / model.scale : -Infinity;
  const llr = llrPerLetter(tables, model, units, latin, minimumLlr);
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
