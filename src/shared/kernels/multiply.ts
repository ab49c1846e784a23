/**
 * Multiply on wasm, wrapped for the batched outer product [..., M, 1] x [..., 1, P] (equal leading
 * dims): the per-sample weight gradient of every dense layer under the vectorized executor (rules/
 * linalg.ts, and its lazy form in backend.ts). tfjs-wasm's broadcasting Multiply takes ~5 ms for the
 * conv bench's [128, 2704, 1] x [128, 1, 10]; outerRows (simd.ts) writes each row as splat(a) * b.
 * With one column (P = 1: a per-sample scale, the seed model's [8192, 6, 1] x [8192, 1, 1] weight
 * gradient, ~3 ns a value in wasm's broadcasting loop) scaleRows writes each sample's M values as
 * a * splat(b). One float32 product per value either way, in wasm's operand order, so the bits are
 * the same. Anything else runs wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { heapKernel, wrapKernel } from './compose.js';
import { simdKernels } from './simd.js';

/** [lead, M, P] when `a` is [...L, M, 1] and `b` is [...L, 1, P], float32, P of at least 4 values or P = 1 and M at least 4. */
function outerShape(a: tf.TensorInfo, b: tf.TensorInfo): [number, number, number] | null {
  const r = a.shape.length;
  if (r < 2 || b.shape.length !== r || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (a.shape[r - 1] !== 1 || b.shape[r - 2] !== 1 || !tf.util.arraysEqual(a.shape.slice(0, -2), b.shape.slice(0, -2))) return null;
  const P = b.shape[r - 1]!;
  const M = a.shape[r - 2]!;
  return P >= 4 || (P === 1 && M >= 4) ? [tf.util.sizeFromShape(a.shape.slice(0, -2)), M, P] : null;
}

/** The config that runs batched outer products with SIMD and every other Multiply as `original` (wasm's). */
export function wrapMultiply(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const dims = outerShape(a, b);
    const simd = dims ? simdKernels(args.backend as tf.KernelBackend) : null;
    if (!dims || !simd) return null;
    const [lead, M, P] = dims;
    return heapKernel(args.backend as tf.KernelBackend, [...a.shape.slice(0, -1), P], (c, out) => {
      const [ao, bo] = [c.heapOffset(a), c.heapOffset(b)];
      if (P === 1) return simd.scaleRows(ao, bo, out, lead, M);
      for (let i = 0; i < lead; i++) simd.outerRows(ao + i * M * 4, bo + i * P * 4, out + i * M * P * 4, M, P);
    });
  });
}
