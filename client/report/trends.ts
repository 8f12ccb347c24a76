/**
 * Month-over-month trend test for counts. Under "no change", the counts x₁ (previous month) and x₂
 * (latest month) are independent Poisson draws with the same rate, so given n = x₁ + x₂, x₂ follows
 * Binomial(n, ½). The p-value of a rise is the upper tail P(X ≥ x₂); an item is *emerging* when it rose,
 * its latest count is at least `minLatest`, and p < alpha (one-sided, default 0.05; no correction for
 * testing many items, so about one item in twenty without a real change can be flagged by chance).
 * On noised counts (epsilon > 0) the test is approximate.
 */

/** ln(n!) by summing logs below 256 and Stirling's series above (error < 1e-10). */
function logFactorial(n: number): number {
  if (n < 256) {
    let sum = 0;
    for (let k = 2; k <= n; k++) sum += Math.log(k);
    return sum;
  }
  const x = n + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3);
}

/** P(X ≥ k) for X ~ Binomial(n, ½), exactly (up to floating point). */
export function binomialUpperTail(k: number, n: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  const logHalfPowerN = -n * Math.LN2;
  const logNFactorial = logFactorial(n);
  let tail = 0;
  for (let i = k; i <= n; i++) tail += Math.exp(logNFactorial - logFactorial(i) - logFactorial(n - i) + logHalfPowerN);
  return Math.min(1, tail);
}

export interface TrendTest {
  previous: number;
  latest: number;
  /** Relative change (latest / previous − 1); null when previous is 0. */
  change: number | null;
  /** One-sided p-value of a rise. */
  pValue: number;
  emerging: boolean;
}

export function testRise(previous: number, latest: number, options: { alpha?: number; minLatest?: number } = {}): TrendTest {
  const alpha = options.alpha ?? 0.05;
  const pValue = binomialUpperTail(latest, previous + latest);
  return {
    previous,
    latest,
    change: previous === 0 ? null : latest / previous - 1,
    pValue,
    emerging: latest > previous && latest >= (options.minLatest ?? 1) && pValue < alpha,
  };
}
