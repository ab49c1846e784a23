/**
 * MaxPool, replacing tfjs-backend-wasm 4.22's, which hides a NaN: a window whose first value is NaN
 * comes out as -Infinity whatever the rest of it holds (as if a pseudo-max, a < b ? b : a, kept the
 * NaN it started from and an output clamp to [-Infinity, Infinity] made -Infinity of it; a later NaN
 * is skipped), where tfjs-backend-cpu gives the maximum of the other values.
 *
 * This is cpu's definition, with cpu's bits: each window's maximum over its positions inside the
 * input (padding never counts), a value winning when it is strictly greater than every earlier one,
 * from -Infinity, so NaN never wins and an all -Infinity/NaN window gives -Infinity; -0 before +0
 * stays -0, as both backends keep; a 1x1 pool that keeps the shape is the identity. Whole 2x2
 * stride-2 windows over a multiple of 4 channels (a conv net's pool) run as WebAssembly SIMD, four
 * channels an instruction (0.17 → 0.077 ms for a [32, 26, 26, 16] chunk, against wasm's kernel);
 * everything else in JavaScript on the heap.
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';
import { poolInfo, wholeWindows } from './max-pool-grad.js';
import { wasmMemory } from './simd.js';
import { windowRows } from './pool-window.js';
import { ADD, BITSELECT, F32_GT, get, I32T, importedMemoryKernel, oneKernelModule, set, simd, splatF, V128T } from '../wasm-encode.js';

const LOAD = simd(0x00, 0, 0);
const STORE = simd(0x0b, 0, 0);
// maxPoolRow(x, y, windows, channels, rowBytes): for `windows` adjacent whole 2x2 windows from byte
// offset x (NHWC), each window's maximum into y (one row of the output). Locals: i32 5 cb, 6 k; v128 7 best, 8 v.
const [X, Y, K, BEST, V] = [0, 1, 6, 7, 8];
const body = windowRows({ WIN: 2, CH: 3, ROW: 4, CB: 5, K }, [X], [Y], (at) => [
  ...splatF(-Infinity), ...set(BEST),
  ...[0, 1, 2, 3].flatMap((t) => [...at(X, t), ...LOAD, ...set(V), ...get(V), ...get(BEST), ...get(V), ...get(BEST), ...F32_GT, ...BITSELECT, ...set(BEST)]),
  ...get(Y), ...get(K), ADD, ...get(BEST), ...STORE,
]);
const kernelFor = importedMemoryKernel<{ maxPoolRow(x: number, y: number, windows: number, channels: number, rowBytes: number): void }>(oneKernelModule('maxPoolRow', 5, [[2, I32T], [2, V128T]], body));

export const maxPoolConfig = composite(tf.MaxPool, (c, { x }, attrs) => {
  // wasm's own check, kept (and the same message): cpu pools other dtypes, wasm never did.
  tf.util.assert(x!.dtype === 'float32', () => `Error in MaxPool: only float32 input is supported. Got ${x!.dtype}.`);
  const info = poolInfo(x!.shape, attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const out = c.heapOutput(info.outShape, false); // every output value is written below
  // A 1x1 pool that keeps the shape is the identity, NaN included (cpu's shortcut).
  if (fh === 1 && fw === 1 && tf.util.arraysEqual(info.inShape, info.outShape)) {
    out.values.set(c.heapView(x!));
    return out.info;
  }
  const k = wholeWindows(info) ? kernelFor(wasmMemory(c.backend)) : null;
  if (k) {
    const [xo, yo] = [c.heapOffset(x!), c.heapOffset(out.info)];
    for (let b = 0; b < N; b++)
      for (let oh = 0; oh < OH; oh++) k.maxPoolRow(xo + ((b * H + 2 * oh) * W) * C * 4, yo + ((b * OH + oh) * OW) * C * 4, OW, C, W * C * 4);
    return out.info;
  }
  const xv = c.heapView(x!);
  const y = out.values;
  const best = new Float32Array(C);
  for (let b = 0; b < N; b++)
    for (let oh = 0; oh < OH; oh++) {
      const [r0, r1] = [Math.max(0, oh * sh - top), Math.min(H, oh * sh - top + fh)];
      for (let ow = 0; ow < OW; ow++) {
        const [c0, c1] = [Math.max(0, ow * sw - left), Math.min(W, ow * sw - left + fw)];
        best.fill(-Infinity);
        for (let r = r0; r < r1; r++)
          for (let col = c0; col < c1; col++)
            for (let ch = 0, base = ((b * H + r) * W + col) * C; ch < C; ch++) if (xv[base + ch]! > best[ch]!) best[ch] = xv[base + ch]!;
        y.set(best, ((b * OH + oh) * OW + ow) * C);
      }
    }
  return out.info;
});
