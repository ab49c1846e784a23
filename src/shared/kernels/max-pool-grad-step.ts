/**
 * A conv net's max-pool gradient and relu's gradient in one pass: StepMultiply(z, MaxPoolGrad(dy,
 * input, output)) with z relu's input, fused by the trace (workers/executors/vectorized/fuse.ts) where
 * the pool's gradient feeds that product only. On the [32, 26, 26, 16] activation of the benchmark's
 * conv net the two kernels write and re-read a full-size gradient (0.27 + 0.18 ms a chunk); this
 * reads the pool's input and z once and writes once.
 *
 * Same bits: each value is MaxPoolGrad's (dy at the window's first maximum, else 0, plus +0) times
 * step(z) as its own float32 product, as the two kernels compute it (pool-window.ts builds both).
 * Only for whole 2x2, stride-2 windows that tile the input (a window that covers none of it would
 * leave positions MaxPoolGrad zero-fills), over a multiple of 4 channels.
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';
import { poolInfo, wholeWindows } from './max-pool-grad.js';
import { poolWindowsBody } from './pool-window.js';
import { wasmMemory } from './simd.js';
import { I32T, importedMemoryKernel, oneKernelModule, V128T } from '../wasm-encode.js';

/** gradpool's kernel name: MaxPoolGrad's inputs `dy`, `input`, `output` and attrs, plus `z` (relu's input, the shape of `input`). */
export const MAX_POOL_GRAD_STEP = 'GradpoolMaxPoolGradStep';

// poolStepRow(x, g, dx, windows, channels, rowBytes, z); locals: i32 7 cb, 8 k; v128 9 best, 10 idx, 11 gt, 12 v, 13 zv.
const MODULE = oneKernelModule('poolStepRow', 7, [[2, I32T], [5, V128T]], poolWindowsBody({
  X: 0, G: 1, D: 2, WIN: 3, CH: 4, ROW: 5, CB: 7, K: 8, BEST: 9, IDX: 10, GT: 11, V: 12, step: { Z: 6, ZV: 13 },
}));
const kernelFor = importedMemoryKernel<{ poolStepRow(x: number, g: number, dx: number, windows: number, channels: number, rowBytes: number, z: number): void }>(MODULE);

/** Whether {@link MAX_POOL_GRAD_STEP} takes MaxPoolGrad `attrs` on an input of `inputShape` and relu's input of `zShape` (all float32). */
export function maxPoolGradStepFits(inputShape: number[], zShape: number[], attrs: tf.NamedAttrMap): boolean {
  return inputShape.length === 4 && tf.util.arraysEqual(inputShape, zShape) && wholeWindows(poolInfo(inputShape, attrs), true);
}

export const maxPoolGradStepConfig = composite(MAX_POOL_GRAD_STEP, (c, { dy, input, z }, attrs) => {
  const k = kernelFor(wasmMemory(c.backend));
  const info = poolInfo(input!.shape, attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const float32 = [dy, input, z].every((t) => t!.dtype === 'float32');
  if (!k || !float32 || !maxPoolGradStepFits(input!.shape, z!.shape, attrs) || !tf.util.arraysEqual(dy!.shape, [N, OH, OW, C]))
    throw new Error(`${MAX_POOL_GRAD_STEP}: expected float32 dy [${[N, OH, OW, C]}], z of input's shape [${input!.shape}] and whole 2x2 stride-2 windows tiling it over a multiple of 4 channels${k ? '' : ' (and WebAssembly SIMD)'}, got dy ${dy!.dtype}[${dy!.shape}], z ${z!.dtype}[${z!.shape}]`);
  const out = c.heapOutput(input!.shape, false); // the windows tile the input: every value is written
  const [xo, go, dxo, zo] = [c.heapOffset(input!), c.heapOffset(dy!), c.heapOffset(out.info), c.heapOffset(z!)];
  for (let b = 0; b < N; b++)
    for (let oh = 0; oh < OH; oh++) {
      const row = ((b * H + 2 * oh) * W) * C * 4;
      k.poolStepRow(xo + row, go + ((b * OH + oh) * OW) * C * 4, dxo + row, OW, C, W * C * 4, zo + row);
    }
  return out.info;
});
