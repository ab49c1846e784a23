/**
 * Oracles for the function transforms, free of tfjs: the functions under test re-written in plain
 * float64 JavaScript, differentiated by central differences. As in test/helpers/fd.ts, the data is
 * rounded through float32 first so both sides differentiate at exactly the point tfjs sees.
 */
import * as tf from '@tensorflow/tfjs';

/** Deterministic float32-representable values in [-scale, scale): a small LCG, so tests need no seed plumbing. */
export function values(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.fround(((s / 2 ** 32) * 2 - 1) * scale);
  }
  return out;
}

/**
 * Central-difference Jacobian of a vector function in float64: row-major `[m, n]`,
 * `J[i][j] = (f(x + h e_j)_i - f(x - h e_j)_i) / 2h`. Truncation O(h²·f'''), rounding ~1e-16/h.
 */
export function fdJacobian(f: (x: Float64Array) => ArrayLike<number>, at: ArrayLike<number>, h = 1e-4): Float64Array {
  const x = Float64Array.from(at);
  const n = x.length;
  const m = f(x).length;
  const J = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const x0 = x[j]!;
    x[j] = x0 + h;
    const up = Float64Array.from(f(x));
    x[j] = x0 - h;
    const down = Float64Array.from(f(x));
    x[j] = x0;
    for (let i = 0; i < m; i++) J[i * n + j] = (up[i]! - down[i]!) / (2 * h);
  }
  return J;
}

/** Central-difference directional derivative in float64: `(f(x + h t) - f(x - h t)) / 2h`. */
export function fdDirectional(f: (x: Float64Array) => ArrayLike<number>, at: ArrayLike<number>, t: ArrayLike<number>, h = 1e-4): Float64Array {
  const up = Float64Array.from(f(Float64Array.from(at, (v, i) => v + h * t[i]!)));
  const down = Float64Array.from(f(Float64Array.from(at, (v, i) => v - h * t[i]!)));
  return up.map((u, i) => (u - down[i]!) / (2 * h));
}

/** `y = A x` for row-major A `[m, n]` in float64. */
export function matVec(A: ArrayLike<number>, x: ArrayLike<number>, m: number, n: number): Float64Array {
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i] += A[i * n + j]! * x[j]!;
  return y;
}

/** A tensor's values (sync read is fine in a test, never inside a transform). */
export function read(t: unknown): Float32Array {
  if (!(t instanceof tf.Tensor)) throw new TypeError(`expected a tf.Tensor, got ${String(t)}`);
  return t.dataSync() as Float32Array;
}

/** Disposes every tensor in a tree of arrays and plain objects. */
export function disposeTree(tree: unknown): void {
  if (tree instanceof tf.Tensor) tree.dispose();
  else if (Array.isArray(tree)) tree.forEach(disposeTree);
  else if (tree && typeof tree === 'object') Object.values(tree).forEach(disposeTree);
}
