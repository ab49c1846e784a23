/**
 * Mean on wasm over axes of total length 1: a per-sample loss that is the mean of one value (a
 * one-output regression's `tf.mean(tf.squaredDifference(pred, y))`, [8192, 1] over axis 1 in the seed
 * model's chunk). wasm's kernel sums each output's values from +0 and divides by their count, ~3 ns a
 * value; with one value per output that is (0 + x) / 1, which is 0 + x exactly (−0 becomes +0, all
 * else is kept). This computes x + 0 in SIMD, four values at a time (addRows of simd.ts with a zero
 * bias; IEEE addition is commutative): the same bits, a NaN's payload aside. Anything else runs wasm's
 * kernel, which this wraps.
 */
import * as tf from '@tensorflow/tfjs';
import { heapKernel, reducedShape, wrapKernel } from './compose.js';
import { simdKernels } from './simd.js';

/** The config that takes means over length-1 axes and leaves every other Mean to `original` (wasm's). */
export function wrapMean(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as tf.MeanAttrs;
    if (x.dtype !== 'float32') return null;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const simd = simdKernels(args.backend as tf.KernelBackend);
    if (!simd || axes.some((a) => x.shape[a] !== 1)) return null;
    const shape = reducedShape(x.shape, axes, keepDims);
    return heapKernel(args.backend as tf.KernelBackend, shape, (c, out) => {
      const n = tf.util.sizeFromShape(x.shape);
      const whole = n - (n % 4);
      if (whole > 0) simd.addRows(c.heapOffset(x), c.heapOffset(c.constant(new Float32Array(4), [4], 'float32')), out, whole / 4, 4);
      // The tail in JavaScript, on views taken after every allocation.
      const xv = c.heapView(x);
      const ov = new Float32Array(xv.buffer, out, n);
      for (let i = whole; i < n; i++) ov[i] = 0 + xv[i]!;
    });
  });
}
