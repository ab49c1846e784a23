/**
 * A gradpool-only wasm kernel for the vectorized executor's per-sample conv2d filter gradient
 * (rules/conv.ts): x [n, b, H, W, C] and dy [n, b, OH, OW, CO] give dW [n, KH, KW, C, CO], each sample
 * summed over its own b images and output positions. The general route folds the samples into
 * channels for one XNNPACK depthwise convolution with dy as a 26x26 "filter" that XNNPACK repacks on
 * every call, after transposing dy (~6 ms for the conv bench's 128-sample chunk); this reads x and dy
 * in place with filterGradSample (simd.ts), four accumulators of 4 output channels per tap (~2 ms).
 * It sums in another order than the depthwise route, so the bits differ (within 1e-5 of the loop).
 * Only for what it handles without bounds checks: no padding, NHWC, CO a multiple of 16.
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';
import { simdKernels } from './simd.js';

export const PER_SAMPLE_FILTER_GRAD = 'GradpoolConv2DBackpropFilterPerSample';

function convInfo(xShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const [n, b, H, W, C] = xShape as [number, number, number, number, number];
  const { strides, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  return tf.backend_util.computeConv2DInfo([n * b, H, W, C], filterShape, strides, 1, pad, dimRoundingMode);
}

/** Whether the kernel takes a per-sample filter gradient of these shapes and Conv2DBackpropFilter attrs. */
export function perSampleFilterGradFits(backend: tf.KernelBackend, xShape: number[], dyShape: number[], attrs: tf.NamedAttrMap): boolean {
  if (xShape.length !== 5 || dyShape.length !== 5 || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return false;
  const info = convInfo(xShape, attrs);
  const { top, bottom, left, right } = info.padInfo;
  return top + bottom + left + right === 0 && info.outChannels % 16 === 0 && dyShape[2] === info.outHeight && dyShape[3] === info.outWidth && simdKernels(backend) !== null;
}

export const perSampleFilterGradConfig = composite(PER_SAMPLE_FILTER_GRAD, (c, { x, dy }, attrs) => {
  if (!perSampleFilterGradFits(c.backend, x!.shape, dy!.shape, attrs)) throw new Error(`${PER_SAMPLE_FILTER_GRAD}: x [${x!.shape}] and dy [${dy!.shape}] are not a case this kernel takes (see perSampleFilterGradFits)`);
  const [n, b, H, W, C] = x!.shape as [number, number, number, number, number];
  const { outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = convInfo(x!.shape, attrs);
  const out = c.heapOutput([n, KH, KW, C, CO], false); // every value written below
  const simd = simdKernels(c.backend)!;
  const [xo, dyo, oo] = [c.heapOffset(x!), c.heapOffset(dy!), c.heapOffset(out.info)];
  for (let i = 0; i < n; i++)
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++)
        simd.filterGradSample(
          xo + ((i * b * H + kh) * W + kw) * C * 4, dyo + i * b * OH * OW * CO * 4, oo + ((i * KH + kh) * KW + kw) * C * CO * 4,
          b, OH, OW, C, CO, sh * W * C * 4, sw * C * 4, H * W * C * 4,
        );
  return out.info;
});
