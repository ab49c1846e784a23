import { Rng } from '../../src/rng.js';

/** Seeded random float32 data, so every test run sees the same numbers. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

/** A small seeded generator of uniform [0, 1) values (mulberry32), for test data apart from the library's Rng. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [-1, 1), seeded. */
export function uniform(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** Seeded one-hot rows of width k. */
export function oneHot(B: number, k: number, seed: number): Float32Array {
  const r = new Rng(seed);
  const out = new Float32Array(B * k);
  for (let i = 0; i < B; i++) out[i * k + r.int(k)] = 1;
  return out;
}

/**
 * A seed-model batch ([B, 3, 2] flat) of `wave(i)` values, with sample 0's first value set to
 * `sentinel` when given: the fault fixtures (faulty, stuck) act on such sentinels.
 */
export function seedBatch(B: number, wave: (i: number) => number, sentinel?: number): Float32Array {
  const x = Float32Array.from({ length: B * 6 }, (_, i) => wave(i));
  if (sentinel !== undefined) x[0] = sentinel;
  return x;
}
