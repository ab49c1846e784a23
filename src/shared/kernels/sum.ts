/**
 * Sum on wasm over a block of axes that stops before the last one — a conv bias gradient, [n, H, W, C]
 * summed over H and W. tfjs-wasm first transposes the summed axes last (a full copy: about half its
 * ~2 ms for a [128, 26, 26, 16] chunk); here float32 data whose trailing block is a multiple of 4
 * values is summed in place by sumRows (simd.ts), which adds each output's values in wasm's own order
 * (row by row from +0), so the bits are wasm's. Anything else runs wasm's kernel, which this wraps.
 * (An empty sum here gives zeros; wasm's kernel leaves its output unwritten then.)
 */
import * as tf from '@tensorflow/tfjs';
import { heapKernel, reducedShape, wrapKernel } from './compose.js';
import { simdKernels } from './simd.js';

/** [outer, rows, inner] when `axes` are one contiguous block of x's axes not including the last. */
function middleBlock(shape: number[], axes: number[]): [number, number, number] | null {
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  if (sorted.length === 0 || last - first + 1 !== sorted.length || last >= shape.length - 1) return null;
  const size = (from: number, to: number) => tf.util.sizeFromShape(shape.slice(from, to));
  return [size(0, first), size(first, last + 1), size(last + 1, shape.length)];
}

/** The config that sums such blocks with SIMD and leaves every other Sum to `original` (wasm's). */
export function wrapSum(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const block = x.dtype === 'float32' ? middleBlock(x.shape, axes) : null;
    const simd = block && block[2] % 4 === 0 ? simdKernels(backend as tf.KernelBackend) : null;
    if (!block || !simd) return null;
    const [outer, rows, inner] = block;
    const shape = reducedShape(x.shape, axes, keepDims);
    return heapKernel(backend as tf.KernelBackend, shape, (c, out) => simd.sumRows(c.heapOffset(x), out, outer, rows, inner));
  });
}
