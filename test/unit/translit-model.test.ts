import { describe, expect, it } from "vitest";
import { TRANSLIT_TABLES } from "../../node/matching/names/tables.ts";
import { BACKOFF, channelLogProb, modelScore, type ScriptModel } from "../../node/matching/names/translit-model.ts";

/**
 * The forward pass as first written: every spelling of a unit tried at every position. The model's
 * version skips spellings that cannot match; it must add the same terms in the same order, so the two
 * agree exactly, not just closely.
 */
function referenceChannelLogProb(model: ScriptModel, units: readonly string[], latin: string): number {
  const n = units.length;
  const m = latin.length;
  if (n === 0) return m === 0 ? 0 : -Infinity;
  let alpha = new Float64Array(m + 1);
  let next = new Float64Array(m + 1);
  const spell1 = BACKOFF.spellLetter;
  const spell2 = BACKOFF.spellLetter * BACKOFF.spellLetter;
  const insert = BACKOFF.insertLetter;
  alpha[0] = 1;
  let logScale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) alpha[j + 1]! += alpha[j]! * insert;
    next.fill(0);
    const spellings = model.units[units[i] ?? ""];
    for (let j = 0; j <= m; j++) {
      const a = alpha[j]!;
      if (a === 0) continue;
      if (j + 1 <= m) next[j + 1]! += a * spell1;
      if (j + 2 <= m) next[j + 2]! += a * spell2;
      if (spellings === undefined) {
        next[j]! += a * spell1;
        continue;
      }
      for (const [spelling, logp] of spellings) {
        if (j + spelling.length > m) continue;
        if (latin.slice(j, j + spelling.length) === spelling) next[j + spelling.length]! += a * Math.exp(logp);
      }
    }
    let max = 0;
    for (let j = 0; j <= m; j++) if (next[j]! > max) max = next[j]!;
    if (max === 0) return -Infinity;
    if (max < 1e-100) {
      for (let j = 0; j <= m; j++) next[j]! /= max;
      logScale += Math.log(max);
    }
    [alpha, next] = [next, alpha];
  }
  for (let j = 0; j < m; j++) alpha[j + 1]! += alpha[j]! * insert;
  const end = alpha[m]!;
  return end === 0 ? -Infinity : Math.log(end) + logScale;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 300 random unit sequences per script (5% of units unknown to the model), each with a Latin string:
 * every other one spelled from the units' own spellings (so it scores), the rest random letters, with
 * `outsideAz` some characters outside a–z. `next` draws further numbers from the same sequence.
 */
function* randomCases(seed: number, { outsideAz }: { outsideAz: boolean }) {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const letter = () => (outsideAz && next() < 0.03 ? "'" : String.fromCharCode(97 + Math.floor(next() * 26)));
  for (const [script, model] of Object.entries(TRANSLIT_TABLES.scripts)) {
    const known = Object.keys(model.units);
    for (let trial = 0; trial < 300; trial++) {
      const units = Array.from({ length: 1 + Math.floor(next() * 6) }, () => (next() < 0.05 ? "unseen-unit" : pick(known)));
      const latin =
        trial % 2 === 0
          ? units.map((unit) => pick(model.units[unit] ?? [["x", 0] as const])[0]).join("")
          : Array.from({ length: Math.floor(next() * 12) }, letter).join("");
      yield { script, model, units, latin, next };
    }
  }
}

describe("channelLogProb", () => {
  it("equals the forward pass over every spelling, for every script, on spellings and random letters", () => {
    let compared = 0;
    for (const { script, model, units, latin } of randomCases(42, { outsideAz: true })) {
      expect(channelLogProb(model, units, latin), `${script} ${units.join(" ")} / ${latin}`).toBe(referenceChannelLogProb(model, units, latin));
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("with a floor, gives the exact result when it reaches the floor and -Infinity only when it is below", () => {
    let cut = 0;
    let kept = 0;
    for (const { script, model, units, latin, next } of randomCases(7, { outsideAz: false })) {
      const exact = referenceChannelLogProb(model, units, latin);
      // Floors around the exact value, as a threshold meets both sides of it.
      const floor = exact === -Infinity ? -20 : exact + (next() - 0.5) * 20;
      const floored = channelLogProb(model, units, latin, floor);
      const context = `${script} ${units.join(" ")} / ${latin}, floor ${floor}`;
      if (exact >= floor) {
        expect(floored, context).toBe(exact);
        kept++;
      } else {
        expect([exact, -Infinity], context).toContain(floored);
        if (floored === -Infinity && exact !== -Infinity) cut++;
      }
    }
    expect(kept).toBeGreaterThan(300);
    // The bound must stop some passes early, or the floor does nothing.
    expect(cut).toBeGreaterThan(100);
  });

  it("modelScore with a minimum gives the exact score at or above it and 0 or the exact score below", () => {
    const next = random(11);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    let below = 0;
    for (const model of Object.values(TRANSLIT_TABLES.scripts)) {
      const units = Object.keys(model.units);
      for (let trial = 0; trial < 200; trial++) {
        const chosen = Array.from({ length: 1 + Math.floor(next() * 5) }, () => pick(units));
        const spelled = chosen.map((unit) => pick(model.units[unit] ?? [["x", 0] as const])[0]).join("");
        // A spelling of the units with some letters changed: scores on both sides of the minimum.
        const latin = [...spelled].map((c) => (next() < 0.25 ? String.fromCharCode(97 + Math.floor(next() * 26)) : c)).join("");
        const exact = modelScore(TRANSLIT_TABLES, model, chosen, latin);
        const floored = modelScore(TRANSLIT_TABLES, model, chosen, latin, 0.8);
        if (exact >= 0.8) expect(floored).toBe(exact);
        else {
          expect([exact, 0]).toContain(floored);
          below++;
        }
      }
    }
    expect(below).toBeGreaterThan(100);
  });
});
