/**
 * `dy * step(x)` in one pass: relu's gradient (tfjs's is `mul(dy, step(x))`), fused by the trace
 * (workers/executors/vectorized/fuse.ts) where the step is used by that product only. On a conv
 * net's [32, 26, 26, 16] activation the two wasm kernels write and re-read a full-size mask; this
 * reads x and dy once and writes once. The same float32 products as wasm's Step then Multiply —
 * step is 1 where x > 0, NaN where x is NaN, else 0 — so the same bits (tested).
 */
import type * as tf from '@tensorflow/tfjs';
import { WASM, heapKernel } from './compose.js';
import { simdKernels } from './simd.js';

/** gradpool's kernel name: inputs `x` and `dy`, one shape, float32. */
export const STEP_MULTIPLY = 'GradpoolStepMultiply';

/** tfjs-backend-wasm's Step with alpha 0, for one value. */
const step = (v: number) => (v > 0 ? 1 : v !== v ? NaN : 0);

export const stepMultiplyConfig: tf.KernelConfig = {
  kernelName: STEP_MULTIPLY,
  backendName: WASM,
  kernelFunc: ({ inputs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    if (x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.join() !== dy.shape.join())
      throw new Error(`${STEP_MULTIPLY}: expected float32 x and dy of one shape, got ${x.dtype}[${x.shape}] and ${dy.dtype}[${dy.shape}]`);
    const be = backend as tf.KernelBackend;
    const simd = simdKernels(be);
    return heapKernel(be, x.shape.slice(), (c, out) => {
      const n = c.heapView(x).length;
      const whole = simd ? n - (n % 4) : 0;
      if (simd && whole > 0) simd.stepMultiply(c.heapOffset(x), c.heapOffset(dy), out, whole);
      // The tail (and everything, without SIMD) in JavaScript, on views taken after the output exists.
      const [xv, gv] = [c.heapView(x), c.heapView(dy)];
      const ov = new Float32Array(xv.buffer, out, n);
      for (let i = whole; i < n; i++) ov[i] = gv[i]! * step(xv[i]!);
    });
  },
};
