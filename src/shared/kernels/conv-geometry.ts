/**
 * The one construction behind all three convolution backprops here: a gradient of a convolution is
 * itself a convolution (of x with dy for the filter, of dy with the flipped filter for the input), run
 * by wasm's own Conv2D / DepthwiseConv2dNative (XNNPACK). What differs per backprop is only which
 * tensor slides over which, with which stride and dilation, and where the first tap lands; this module
 * turns that into explicit padding plus a crop of the result, so that no case needs negative padding.
 */
import * as tf from '@tensorflow/tfjs';
import type { Composer } from './compose.js';

/** One spatial axis of a convolution: pad the input by `before`/`after`, keep outputs from `start`. */
export interface AxisPlan {
  before: number;
  after: number;
  start: number;
}

/**
 * The padding and crop making a convolution along one axis produce `outLen` outputs where output `o`
 * reads input positions `first + o * stride + k * dilation` for taps `k < taps` (zeros outside
 * `[0, inLen)`). A `first` below 0 becomes padding; one above 0 (only ever with stride 1) and any
 * padding the far end does not need become outputs to crop, since the kernels take no negative padding.
 */
export function planAxis(inLen: number, outLen: number, stride: number, taps: number, dilation: number, first: number): AxisPlan {
  const before = Math.max(0, -first);
  const skipped = first + before;
  if (skipped % stride !== 0) throw new Error(`wasm gradient kernels: internal error, first tap ${first} is not on the stride ${stride}`);
  const last = first + (outLen - 1) * stride + (taps - 1) * dilation;
  return { before, after: Math.max(0, last - (inLen - 1)), start: skipped / stride };
}

export type ConvKernel = 'Conv2D' | 'DepthwiseConv2dNative';

/** A 2-D convolution of the step {@link planAxis} described, per axis. */
export interface SpatialConv {
  kernel: ConvKernel;
  strides: [number, number];
  dilations: [number, number];
  plans: [AxisPlan, AxisPlan];
  /** The output's spatial size, after the crop. */
  outSize: [number, number];
}

/**
 * Runs `conv` on NHWC `x` with filter `filter` and crops its output to `conv.outSize` at the plans'
 * starts, so the result is [batch, outSize..., channels].
 */
export function runSpatialConv(c: Composer, x: tf.TensorInfo, filter: tf.TensorInfo, conv: SpatialConv): tf.TensorInfo {
  const [h, w] = conv.plans;
  const pad = [[0, 0], [h.before, h.after], [w.before, w.after], [0, 0]] as tf.backend_util.ExplicitPadding;
  const attrs = { strides: conv.strides, dilations: conv.dilations, pad, dataFormat: 'NHWC' };
  const y = c.run(conv.kernel, { x, filter }, attrs);
  const [b, , , ch] = y.shape as [number, number, number, number];
  return c.slice(y, [0, h.start, w.start, 0], [b, conv.outSize[0], conv.outSize[1], ch]);
}

/**
 * The convolution giving a filter gradient: `xt` (the input, samples moved out of the batch axis by
 * the caller) slides under `dyt` ([OH', OW', ...], the output gradient as the filter). Filter tap
 * (kh, kw) is an output position of this convolution, so the forward's dilation is its stride and the
 * forward's stride its dilation; output position (oh, ow) is a tap. Only the forward's first
 * `info.outHeight` x `info.outWidth` positions of dy count, as in tfjs-backend-cpu: tfjs's gradients
 * drop the forward's rounding mode, so with 'ceil' dy can be a row or column larger.
 */
export function filterGradConv(c: Composer, kernel: ConvKernel, xt: tf.TensorInfo, dyt: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info;
  const dyk = c.slice(dyt, [0, 0, 0, 0], [OH, OW, dyt.shape[2]!, dyt.shape[3]!]);
  return runSpatialConv(c, xt, dyk, {
    kernel,
    strides: [info.dilationHeight, info.dilationWidth],
    dilations: [info.strideHeight, info.strideWidth],
    plans: [
      planAxis(xt.shape[1]!, KH, info.dilationHeight, OH, info.strideHeight, -info.padInfo.top),
      planAxis(xt.shape[2]!, KW, info.dilationWidth, OW, info.strideWidth, -info.padInfo.left),
    ],
    outSize: [KH, KW],
  });
}
