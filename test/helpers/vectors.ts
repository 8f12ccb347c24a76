import { seededGaussian } from "../../common/seeded-random.ts";

/** A reproducible vector of standard normal components. */
export function gaussianVector(seed: number, dimensions: number): number[] {
  const next = seededGaussian(seed);
  return Array.from({ length: dimensions }, () => next());
}

/** A random unit vector: random vectors in 512 dimensions are nearly orthogonal (strangers). */
export function unitVector(seed: number, dimensions: number): number[] {
  const raw = gaussianVector(seed, dimensions);
  const norm = Math.hypot(...raw);
  return raw.map((x) => x / norm);
}

/** The same face seen again: `base` (made unit length) plus isotropic noise of total length `noise`. */
export function withNoise(base: readonly number[], seed: number, noise: number): number[] {
  const next = seededGaussian(seed);
  const norm = Math.hypot(...base);
  return base.map((x) => x / norm + (noise * next()) / Math.sqrt(base.length));
}
