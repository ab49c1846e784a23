import { Rng } from '../../src/rng.js';

/** Seeded random float32 data, so every test run sees the same numbers. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

/** Seeded one-hot rows of width k. */
export function oneHot(B: number, k: number, seed: number): Float32Array {
  const r = new Rng(seed);
  const out = new Float32Array(B * k);
  for (let i = 0; i < B; i++) out[i * k + r.int(k)] = 1;
  return out;
}

/** Bitwise equality of two float arrays (NaN-safe, distinguishes -0). */
export function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return ua.every((v, i) => v === ub[i]);
}
