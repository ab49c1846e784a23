/**
 * MaxPoolGrad, replacing tfjs-backend-wasm 4.22's, which is both wrong and slow: it drops the gradient
 * of a 'same'-padded window whose max is negative (it counts the padding as zeros), and it takes
 * ~28 ms for the [128, 26, 26, 16] input of a small conv net's 2x2 pool — 45% of that model's whole
 * vectorized gradient step. Whole 2x2 stride-2 windows over a multiple of 4 channels run as WebAssembly
 * SIMD in wasm's memory (simd.ts: ~1 ms there); everything else in JavaScript on the wasm heap (~7 ms),
 * both as tfjs-backend-cpu defines it:
 * each window's gradient goes to the FIRST position holding its maximum (strictly greater than
 * everything before it, from -Infinity, so an all-NaN window passes nothing), padding never counts,
 * and overlapping windows add up in float64 in window order (row-major over the output), which is
 * how cpu's per-input loop adds them too — so the bits equal cpu's.
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';
import { simdKernels } from './simd.js';

/** The pool's geometry for MaxPool's (and MaxPoolGrad's) attrs and its input's shape. */
export function poolInfo(inputShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  return tf.backend_util.computePool2DInfo(inputShape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/**
 * Whether every window of the pool is a whole 2x2, stride-2 window over a multiple of 4 channels (the
 * SIMD route); with `tiled`, also that the windows cover the whole input.
 */
export function wholeWindows(info: tf.backend_util.Conv2DInfo, tiled = false): boolean {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const fits = fh === 2 && fw === 2 && sh === 2 && sw === 2 && info.padInfo.top === 0 && info.padInfo.left === 0 && C % 4 === 0;
  return fits && (tiled ? 2 * OH === H && 2 * OW === W : 2 * OH <= H && 2 * OW <= W);
}

export const maxPoolGradConfig = composite(tf.MaxPoolGrad, (c, { dy, input }, attrs) => {
  const info = poolInfo(input!.shape, attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  if (!tf.util.arraysEqual(dy!.shape, [N, OH, OW, C])) throw new Error(`MaxPoolGrad: dy of shape [${dy!.shape}] must have the pool's output shape [${[N, OH, OW, C]}]`);
  const simd = wholeWindows(info) ? simdKernels(c.backend) : null;
  // The SIMD route writes every position its windows cover: no zero fill when they tile the input.
  const out = c.heapOutput(input!.shape, !(simd && 2 * OH === H && 2 * OW === W));
  if (simd) {
    // Every window is whole (checked above: a write outside the tensor would corrupt wasm's heap).
    // Rows and columns no window covers keep their zeros.
    const [xo, go, dxo] = [c.heapOffset(input!), c.heapOffset(dy!), c.heapOffset(out.info)];
    for (let b = 0; b < N; b++)
      for (let oh = 0; oh < OH; oh++) {
        const row = ((b * H + 2 * oh) * W) * C * 4;
        simd.pool2x2Row(xo + row, go + ((b * OH + oh) * OW) * C * 4, dxo + row, OW, C, W * C * 4);
      }
    return out.info;
  }
  // Overlapping windows add up: in float64, rounded once, as cpu does.
  const overlapping = sh < fh || sw < fw;
  const dx = overlapping ? new Float64Array(out.values.length) : out.values;
  const x = c.heapView(input!);
  const g = c.heapView(dy!);
  // Window positions outer, channels inner: every read is contiguous. The running maxima live in
  // two small typed arrays (measured ~10% faster than a channel-outer loop with locals).
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < N; b++)
    for (let oh = 0; oh < OH; oh++) {
      const r0 = Math.max(0, oh * sh - top);
      const r1 = Math.min(H, oh * sh - top + fh);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = Math.max(0, ow * sw - left);
        const c1 = Math.min(W, ow * sw - left + fw);
        const gBase = ((b * OH + oh) * OW + ow) * C;
        if (r1 - r0 === 2 && c1 - c0 === 2) {
          pool2x2(x, g, dx, ((b * H + r0) * W + c0) * C, W * C, gBase, C);
          continue;
        }
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = r0; r < r1; r++)
          for (let col = c0; col < c1; col++) {
            const base = ((b * H + r) * W + col) * C;
            for (let ch = 0; ch < C; ch++) {
              const v = x[base + ch]!;
              if (v > best[ch]!) {
                best[ch] = v;
                at[ch] = base + ch;
              }
            }
          }
        for (let ch = 0; ch < C; ch++) if (at[ch]! >= 0) dx[at[ch]!] += g[gBase + ch]!;
      }
    }
  if (overlapping) out.values.set(dx);
  return out.info;
});

/**
 * One whole 2x2 window (the common pool), unrolled: ~25% faster than the general loop. `p` is the
 * offset of its top-left input, `row` the offset of the next image row. Same first-maximum rule.
 */
function pool2x2(x: Float32Array, g: Float32Array, dx: Float32Array | Float64Array, p: number, row: number, gBase: number, C: number): void {
  for (let ch = 0; ch < C; ch++) {
    const k0 = p + ch;
    const k1 = k0 + C;
    const k2 = k0 + row;
    const k3 = k2 + C;
    let best = -Infinity;
    let at = -1;
    let v = x[k0]!;
    if (v > best) {
      best = v;
      at = k0;
    }
    v = x[k1]!;
    if (v > best) {
      best = v;
      at = k1;
    }
    v = x[k2]!;
    if (v > best) {
      best = v;
      at = k2;
    }
    if (x[k3]! > best) at = k3;
    if (at >= 0) dx[at] += g[gBase + ch]!;
  }
}
