/**
 * Conv2DBackpropFilter (the filter gradient of tf.conv2d; tfjs-backend-wasm has none):
 *   dW[kh, kw, c, co] = sum over n, oh, ow of x[n, oh*sh + kh - top, ow*sw + kw - left, c] * dy[n, oh, ow, co],
 * which is a Conv2D of x with channels as its batch and samples as its input channels,
 * [C, H, W, N], by dy as the filter, [OH, OW, N, CO]: one XNNPACK convolution summing over the
 * samples and output positions at once, giving [C, KH, KW, CO]. The kernel has no dilations (tfjs's
 * conv2d gradient refuses dilated convolutions); NCHW data only changes the two transpositions.
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';
import { filterGradConv } from './conv-geometry.js';

export const conv2DBackpropFilterConfig = composite(tf.Conv2DBackpropFilter, (c, { x, dy }, attrs) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
  const info = tf.backend_util.computeConv2DInfo(x!.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
  const nchw = format === 'channelsFirst';
  const xt = c.transpose(x!, nchw ? [1, 2, 3, 0] : [3, 1, 2, 0]);
  const dyt = c.transpose(dy!, nchw ? [2, 3, 0, 1] : [1, 2, 0, 3]);
  return c.transpose(filterGradConv(c, 'Conv2D', xt, dyt, info), [1, 2, 0, 3]);
});
