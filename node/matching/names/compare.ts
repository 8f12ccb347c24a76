/**
 * Comparing names: token scores (Latin aliases and variants, the learned cross-script model), then an
 * order-free alignment of the query's tokens with the record's, where runs of adjacent tokens may
 * merge ("abd el rahman" ~ "abdelrahman", "jean pierre" ~ "jeanpierre", "Mao Zedong" ~ "毛泽东").
 *
 * Name score = Σ(token score × query weight over matched query tokens)
 *            / (Σ query weights + RECORD_PENALTY × min(unmatched record weight, RECORD_PENALTY_CAP)):
 * a query token left unmatched costs its full weight, a record token (a dropped middle name or
 * patronymic) a fraction, so "Jean Dupont" finds "Jean Pierre Dupont" but not the other way round.
 */
import { analyseName, sharedTokenId, type AnalysedName, type AnalysedToken } from "./analyse.ts";
import { ScoreMemo } from "./score-memo.ts";
import { NAME_MATCH_THRESHOLD } from "./constants.ts";
import { compareLatinVariants, latinVariant } from "./latin.ts";
import type { TokenScript } from "./script.ts";
import { TRANSLIT_TABLES } from "./tables.ts";
import { modelScore } from "./translit-model.ts";

export interface NameComparison {
  /** 0..1; at or above NAME_MATCH_THRESHOLD the names count as the same. */
  score: number;
  matchedQueryTokens: number;
  queryTokens: number;
  recordTokens: number;
}

const RECORD_PENALTY = 0.2;
/** Lowest score at which two Latin tokens are aligned (one typing error in a 4+ letter token). */
const LATIN_TOKEN_THRESHOLD = 0.75;
const RECORD_PENALTY_CAP = 1.5;
/** Longest run of adjacent tokens merged into one when aligning. */
const MAX_MERGE = 3;

/** What a token score is computed on: one token or a merged run of adjacent ones. */
interface Form {
  script: TokenScript;
  units: readonly string[];
  latin: readonly string[];
  ascii: string;
  variant: string;
}

function isModelled(script: TokenScript): boolean {
  return script !== "latin" && script !== "other";
}

/** Score of a modelled form's units against a folded Latin spelling (see modelScore for `minimum`). */
function unitsVsLatin(units: readonly string[], script: TokenScript, latin: string, minimum: number): number {
  if (!isModelled(script) || latin === "") return 0;
  const model = TRANSLIT_TABLES.scripts[script as keyof typeof TRANSLIT_TABLES.scripts];
  return model === undefined ? 0 : modelScore(TRANSLIT_TABLES, model, units, latin, minimum);
}

/**
 * Score of two forms. The learned model's scores below `modelMinimum` may come back lower (as 0): an
 * alignment only asks whether a pair with a modelled side reaches NAME_MATCH_THRESHOLD, and most pairs
 * it compares are unrelated names, whose forward pass then stops early. Exact scores take 0.
 */
function compareForms(a: Form, b: Form, modelMinimum: number): number {
  const aModel = isModelled(a.script);
  const bModel = isModelled(b.script);
  if (!aModel && !bModel) return compareLatinVariants(a.latin[0] ?? "", a.variant, b.latin[0] ?? "", b.variant);
  if (aModel !== bModel) {
    const [f, l] = aModel ? [a, b] : [b, a];
    const learned = unitsVsLatin(f.units, f.script, l.latin[0] ?? "", modelMinimum);
    if (learned >= 0.97 || f.ascii === "") return learned;
    return Math.max(learned, compareLatinVariants(f.ascii, f.variant, l.latin[0] ?? "", l.variant));
  }
  if (a.script === b.script && a.units.length === b.units.length && a.units.every((u, i) => u === b.units[i])) return 1;
  // Two foreign forms: each one's units against the other's best transliteration.
  return Math.max(
    unitsVsLatin(a.units, a.script, b.latin[0] ?? "", modelMinimum),
    unitsVsLatin(b.units, b.script, a.latin[0] ?? "", modelMinimum),
  );
}

/**
 * What compareForms may skip in the matching path: every reader of tokenPairScore and mergedRunScore
 * turns down a pair with a modelled side below NAME_MATCH_THRESHOLD (tokenAlignThreshold; merged runs
 * and extensions at NAME_MATCH_THRESHOLD), so a lower score of the model need not be exact.
 */
const ALIGNMENT_MODEL_MINIMUM = NAME_MATCH_THRESHOLD;

/**
 * Scores of token pairs already compared, by the identity of the two shared tokens (see
 * sharedTokenId): names repeat, so the same pairs recur across queries and candidates, and a
 * cross-script pair costs a forward pass of the learned model. 2^20 entries (40 MB), no garbage: on
 * a million-person store, 2^17 kept 36% of the pairs a run of no-hit queries met again, 2^20 57%.
 */
const tokenPairScores = new ScoreMemo(20);

/** compareForms of two tokens, remembered for shared tokens. */
function tokenPairScore(a: AnalysedToken, b: AnalysedToken): number {
  const ia = sharedTokenId(a);
  const ib = sharedTokenId(b);
  if (ia === undefined || ib === undefined) return compareForms(a, b, ALIGNMENT_MODEL_MINIMUM);
  const cached = tokenPairScores.get(ia, ib, -1, -1);
  if (cached !== undefined) return cached;
  const score = compareForms(a, b, ALIGNMENT_MODEL_MINIMUM);
  tokenPairScores.set(ia, ib, -1, -1, score);
  return score;
}

/**
 * Score of two tokens as an alignment reads it, and whether it is high enough to align them: a Latin
 * pair at LATIN_TOKEN_THRESHOLD (one typing error), any other at NAME_MATCH_THRESHOLD.
 */
export function alignedTokenScore(a: AnalysedToken, b: AnalysedToken): number | undefined {
  const score = tokenPairScore(a, b);
  return score >= tokenAlignThreshold(a, b) ? score : undefined;
}

function tokenAlignThreshold(a: AnalysedToken, b: AnalysedToken): number {
  return !isModelled(a.script) && !isModelled(b.script) ? LATIN_TOKEN_THRESHOLD : NAME_MATCH_THRESHOLD;
}

/** A merged run of tokens: Latin forms concatenated; units concatenated when all share one modelled script. */
function mergedForm(tokens: readonly AnalysedToken[]): Form | undefined {
  const first = tokens[0];
  if (first === undefined) return undefined;
  const latin = tokens.map((t) => t.latin[0] ?? "").join("");
  const ascii = tokens.map((t) => t.ascii).join("");
  if (tokens.every((t) => !isModelled(t.script))) {
    return { script: "latin", units: [], latin: [latin], ascii, variant: latinVariant(ascii) };
  }
  if (tokens.every((t) => t.script === first.script)) {
    const units = tokens.flatMap((t) => t.units);
    return { script: first.script, units, latin: [latin], ascii, variant: latinVariant(ascii) };
  }
  return undefined;
}

/**
 * Best compareForms of a merged run of tokens (and, with `swapped`, of a two-token run in the other
 * order) against one token; 0 when no run form exists (mixed scripts). Remembered like tokenPairScore,
 * by the identities of the tokens, so the run's forms are neither rebuilt nor rescored.
 */
function mergedRunScore(run: readonly AnalysedToken[], other: AnalysedToken, swapped: boolean): number {
  const otherId = sharedTokenId(other);
  if (otherId === undefined || run.length < 2 || run.length > MAX_MERGE) return scoreMergedRun(run, other, swapped);
  const first = sharedTokenId(run[0]!);
  const second = sharedTokenId(run[1]!);
  const third = run.length === 3 ? sharedTokenId(run[2]!) : -1;
  if (first === undefined || second === undefined || third === undefined) return scoreMergedRun(run, other, swapped);
  // Token ids stay far below 2^52, so doubling one to carry the flag keeps the key exact.
  const last = otherId * 2 + (swapped ? 1 : 0);
  const cached = mergedRunScores.get(first, second, third, last);
  if (cached !== undefined) return cached;
  const score = scoreMergedRun(run, other, swapped);
  mergedRunScores.set(first, second, third, last, score);
  return score;
}

function scoreMergedRun(run: readonly AnalysedToken[], other: AnalysedToken, swapped: boolean): number {
  const forms = [mergedForm(run), swapped && run.length === 2 ? mergedForm([run[1]!, run[0]!]) : undefined];
  let best = 0;
  for (const form of forms) if (form !== undefined) best = Math.max(best, compareForms(form, other, ALIGNMENT_MODEL_MINIMUM));
  return best;
}

const mergedRunScores = new ScoreMemo(16);

/** Single-token comparison (as eval-names uses it): e.g. a foreign-script token against a Latin one. */
export function compareNameTokens(a: string, b: string): number {
  const ta = analyseName(a).tokens;
  const tb = analyseName(b).tokens;
  const fa = ta.length === 1 ? ta[0] : mergedForm(ta);
  const fb = tb.length === 1 ? tb[0] : mergedForm(tb);
  if (fa === undefined || fb === undefined) return 0;
  return compareForms(fa, fb, 0);
}

interface Match {
  q: number[];
  r: number[];
  score: number;
}

/** One alignment in progress: the two names' tokens, which of them are used, the matches so far. */
interface Alignment {
  q: readonly AnalysedToken[];
  r: readonly AnalysedToken[];
  /** 1 for a used token, else 0 (plain arrays: a typed array costs far more to make for a few tokens). */
  usedQ: number[];
  usedR: number[];
  matches: Match[];
}

/** Order-free alignment of one query name with one record name. */
export function compareAnalysedName(query: AnalysedName, record: AnalysedName): NameComparison {
  const q = query.tokens;
  const r = record.tokens;
  const result: NameComparison = { score: 0, matchedQueryTokens: 0, queryTokens: q.length, recordTokens: r.length };
  if (q.length === 0 || r.length === 0) return result;

  // 1. Single tokens, best pairs first (greedy on a tiny matrix).
  const candidates: Match[] = [];
  for (let i = 0; i < q.length; i++) {
    for (let j = 0; j < r.length; j++) {
      // A Latin token with a typing error may still count, at its lower score; cross-script scores are
      // calibrated at the name threshold and keep it.
      const s = alignedTokenScore(q[i]!, r[j]!);
      if (s !== undefined) candidates.push({ q: [i], r: [j], score: s });
    }
  }
  // No token agreed and both names have several: steps 2 and 3 below need a matched token or a
  // one-token side, so nothing can align and the score is 0 (most candidates of a query end here).
  if (candidates.length === 0 && q.length > 1 && r.length > 1) return result;
  const alignment: Alignment = { q, r, usedQ: new Array<number>(q.length).fill(0), usedR: new Array<number>(r.length).fill(0), matches: [] };
  const { usedQ, usedR, matches } = alignment;
  take(alignment, candidates);
  // 2. Runs of adjacent unmatched tokens on one side merged against one unmatched token on the other.
  // Merging only helps when the sides split the name into different numbers of tokens; skipping it
  // otherwise keeps the comparison of unrelated names cheap.
  // It is also skipped when no single token agreed and both sides have several: such names are unrelated.
  const worthMerging = matches.length > 0 || q.length === 1 || r.length === 1;
  if (worthMerging && q.length !== r.length && usedQ.includes(0) && usedR.includes(0)) take(alignment, mergedCandidates(alignment));
  // 3. A token left over next to a matched one may be part of it: "عبد" + "الرحمن" ~ "abdelrahman".
  if (usedQ.includes(0) || usedR.includes(0)) extendMatches(alignment);

  let totalQ = 0;
  for (const t of q) totalQ += t.weight;
  let matchedWeight = 0;
  for (const m of matches) {
    let weight = 0;
    for (const i of m.q) weight += q[i]!.weight;
    matchedWeight += m.score * weight;
  }
  let unmatchedR = 0;
  for (let j = 0; j < r.length; j++) if (usedR[j] === 0) unmatchedR += r[j]!.weight;
  // A name made only of particles cannot match anything.
  if (matches.every((m) => m.q.every((i) => q[i]!.weight < 1) && m.r.every((j) => r[j]!.weight < 1))) return result;
  result.score = matchedWeight / (totalQ + RECORD_PENALTY * Math.min(unmatchedR, RECORD_PENALTY_CAP));
  result.matchedQueryTokens = matches.reduce((n, m) => n + m.q.length, 0);
  return result;
}

/** Runs of 2..MAX_MERGE adjacent unused tokens on one side against one unused token on the other. */
function mergedCandidates({ q, r, usedQ, usedR }: Alignment): Match[] {
  const merged: Match[] = [];
  mergedRuns(q, r, usedQ, usedR, true, merged);
  mergedRuns(r, q, usedR, usedQ, false, merged);
  return merged;
}

/** mergedCandidates for runs on one side (`sideIsQuery`: the query's), appended to `merged`. */
function mergedRuns(
  side: readonly AnalysedToken[],
  other: readonly AnalysedToken[],
  usedSide: readonly number[],
  usedOther: readonly number[],
  sideIsQuery: boolean,
  merged: Match[],
): void {
  for (let start = 0; start < side.length; start++) {
    if (usedSide[start] === 1) continue;
    for (let len = 2; len <= MAX_MERGE && start + len <= side.length; len++) {
      // The run grows by one token per step: a used token ends every longer run from this start.
      if (usedSide[start + len - 1] === 1) break;
      const run = side.slice(start, start + len);
      for (let j = 0; j < other.length; j++) {
        if (usedOther[j] === 1) continue;
        const best = mergedRunScore(run, other[j]!, true);
        if (best >= NAME_MATCH_THRESHOLD) {
          const idx = Array.from({ length: len }, (_, k) => start + k);
          merged.push(sideIsQuery ? { q: idx, r: [j], score: best } : { q: [j], r: idx, score: best });
        }
      }
    }
  }
}

function extendMatches(alignment: Alignment): void {
  for (const m of alignment.matches) {
    extendMatch(m, "q", "r", alignment.usedQ, alignment.q, alignment.r);
    extendMatch(m, "r", "q", alignment.usedR, alignment.r, alignment.q);
  }
}

/**
 * Grows one side (`own`) of a match by an unused neighbouring token, first the one before it, then the
 * one after, when the merged run still matches the other side's single token about as well.
 */
function extendMatch(
  m: Match,
  own: "q" | "r",
  other: "q" | "r",
  used: number[],
  tokens: readonly AnalysedToken[],
  partners: readonly AnalysedToken[],
): void {
  if (m[other].length !== 1) return;
  const partner = partners[m[other][0]!]!;
  const before = m[own][0]! - 1;
  const after = m[own][m[own].length - 1]! + 1;
  for (const k of [before, after]) {
    if (k < 0 || k >= tokens.length || used[k] === 1 || m[own].length >= MAX_MERGE) continue;
    // The match's indices are ascending and adjacent, so the neighbour goes first or last.
    const idx = k < m[own][0]! ? [k, ...m[own]] : [...m[own], k];
    const s = mergedRunScore(idx.map((i) => tokens[i]!), partner, false);
    if (s >= NAME_MATCH_THRESHOLD && s >= m.score - 0.05) {
      m[own] = idx;
      m.score = s;
      used[k] = 1;
    }
  }
}

function take({ usedQ, usedR, matches }: Alignment, candidates: Match[]): void {
  // Best scores first; a merged run beats its parts at a similar score.
  candidates.sort((a, b) => b.score * (b.q.length + b.r.length) - a.score * (a.q.length + a.r.length));
  for (const c of candidates) {
    if (c.q.some((i) => usedQ[i] === 1) || c.r.some((j) => usedR[j] === 1)) continue;
    for (const i of c.q) usedQ[i] = 1;
    for (const j of c.r) usedR[j] = 1;
    matches.push(c);
  }
}

/** Best alignment over every (query name, record name) combination, on analysed names. */
export function compareAnalysed(query: readonly AnalysedName[], record: readonly AnalysedName[]): NameComparison {
  let best: NameComparison = {
    score: 0,
    matchedQueryTokens: 0,
    queryTokens: query[0]?.tokens.length ?? 0,
    recordTokens: record[0]?.tokens.length ?? 0,
  };
  for (const qn of query) {
    for (const rn of record) {
      const c = compareAnalysedName(qn, rn);
      if (c.score > best.score) best = c;
      // No comparison scores above 1, and only a higher score replaces the best: the rest cannot change it.
      if (best.score >= 1) return best;
    }
  }
  return best;
}

/** Best alignment of the query's names against the record's names (each side may have several names/aliases). */
export function compareNames(queryNames: readonly string[], recordNames: readonly string[]): NameComparison {
  return compareAnalysed(queryNames.map(analyseName), recordNames.map(analyseName));
}
