/**
 * Add on wasm, wrapped for a bias add over channels, x [..., C] + b [C] (C a multiple of 4, float32):
 * a conv layer's `tf.add(conv, bias)` over a whole chunk, [32, 26, 26, 16] + [16] in the benchmark's
 * conv net, where wasm's broadcasting Add takes about three times what one pass over memory costs.
 * addRows (simd.ts) adds each row to the bias, one float32 sum per value as wasm's kernel computes it,
 * so the bits are the same (tested). Anything else runs wasm's kernel, which this wraps.
 */
import * as tf from '@tensorflow/tfjs';
import { heapKernel, wrapKernel } from './compose.js';
import { simdKernels } from './simd.js';

/** Whether `shape` is a bias over C channels: [C], or all ones but its last [1, ..., C]. */
export const isBiasOver = (shape: readonly number[], C: number): boolean => shape.length >= 1 && shape[shape.length - 1] === C && shape.slice(0, -1).every((d) => d === 1);

/** [rows, C] when `a` is [..., C] (rank ≥ 2), `b` is [C] or all ones but its last [1, ..., C], C % 4 = 0, both float32. */
function biasRows(a: tf.TensorInfo, b: tf.TensorInfo): [number, number] | null {
  const C = a.shape[a.shape.length - 1]!;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length > a.shape.length || C % 4 !== 0) return null;
  if (!isBiasOver(b.shape, C)) return null;
  return [tf.util.sizeFromShape(a.shape) / C, C];
}

/** The config that runs bias adds with SIMD and every other Add as `original` (wasm's). */
export function wrapAdd(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const dims = biasRows(a, b);
    const simd = dims ? simdKernels(args.backend as tf.KernelBackend) : null;
    if (!dims || !simd) return null;
    return heapKernel(args.backend as tf.KernelBackend, a.shape.slice(), (c, out) => simd.addRows(c.heapOffset(a), c.heapOffset(b), out, dims[0], dims[1]));
  });
}
