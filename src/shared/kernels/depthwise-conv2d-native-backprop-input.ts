/**
 * DepthwiseConv2dNativeBackpropInput (the input gradient of tf.depthwiseConv2d; tfjs-backend-wasm
 * has none, so even a depthwise layer's input gradient fails there):
 *   dx[n, h, w, c] = sum over kh, kw, m, oh, ow with oh*sh + kh*dh - top = h, ow*sw + kw*dw - left = w
 *                    of dy[n, oh, ow, c*M + m] * W[kh, kw, c, m],
 * a transposed depthwise convolution. It is run as a plain one: dy with (stride - 1) zeros spread
 * between its rows and columns (a reshape, a pad and a reshape), convolved at stride 1 with the
 * spatially flipped filter as C*M channels of multiplier 1, then summed over the M multipliers of
 * each channel. The zeros cost sh*sw times the work of the nonzero taps, but it stays one XNNPACK
 * depthwise pass rather than a dense Conv2D over all C x C channel pairs (a block-diagonal filter).
 */
import * as tf from '@tensorflow/tfjs';
import { composite, type Composer } from './compose.js';
import { planAxis, runSpatialConv } from './conv-geometry.js';

/** [N, OH, OW, X] with (s - 1) zeros after every row and column: row oh lands on row oh*sh. */
function spread(c: Composer, dy: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [N, OH, OW, X] = dy.shape as [number, number, number, number];
  const padded = c.run('PadV2', { x: c.reshape(dy, [N, OH, 1, OW, 1, X]) }, {
    paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
    constantValue: 0,
  });
  return c.reshape(padded, [N, OH * sh, OW * sw, X]);
}

export const depthwiseConv2dNativeBackpropInputConfig = composite(tf.DepthwiseConv2dNativeBackpropInput, (c, { dy, filter }, attrs) => {
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const [N, H, W, C] = inputShape;
  const [KH, KW, , M] = filter!.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter!.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true);
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  // Only the forward's OH x OW positions of dy count (with 'ceil' rounding dy can be larger; see conv-geometry).
  const dys = spread(c, c.slice(dy!, [0, 0, 0, 0], [N, OH, OW, C * M]), sh, sw);
  const flipped = c.reshape(c.run('Reverse', { x: filter! }, { dims: [0, 1] }), [KH, KW, C * M, 1]);
  // Output h reads spread rows h + top - kh*dh; with the taps flipped, tap k sits at h + top - (KH-1)*dh + k*dh.
  const g = runSpatialConv(c, dys, flipped, {
    kernel: 'DepthwiseConv2dNative',
    strides: [1, 1],
    dilations: [dh, dw],
    plans: [
      planAxis(OH * sh, H, 1, KH, dh, info.padInfo.top - (KH - 1) * dh),
      planAxis(OW * sw, W, 1, KW, dw, info.padInfo.left - (KW - 1) * dw),
    ],
    outSize: [H, W],
  });
  return c.reshape(c.sumAxis(c.reshape(g, [N, H, W, C, M]), 4), [N, H, W, C]);
});
