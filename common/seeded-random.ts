/**
 * mulberry32: a tiny, fast, well-distributed 32-bit PRNG. Used wherever the project needs reproducible
 * randomness (sample data, evaluation sets, hard negatives, tests); never for anything secret.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal numbers from the same generator (Box-Muller), for synthetic embeddings. */
export function seededGaussian(seed: number): () => number {
  const uniform = seededRandom(seed);
  // Shifted into (0, 1] so the logarithm is always finite.
  const open = (): number => 1 - uniform();
  return () => Math.sqrt(-2 * Math.log(open())) * Math.cos(2 * Math.PI * open());
}
