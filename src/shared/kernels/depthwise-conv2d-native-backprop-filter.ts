/**
 * DepthwiseConv2dNativeBackpropFilter (the filter gradient of tf.depthwiseConv2d and of
 * tf.separableConv2d's depthwise step; tfjs-backend-wasm has none):
 *   dW[kh, kw, c, m] = sum over n, oh, ow of x[n, oh*sh + kh*dh - top, ow*sw + kw*dw - left, c] * dy[n, oh, ow, c*M + m].
 * Channel c must meet only its own M output channels, so unlike Conv2DBackpropFilter the samples
 * cannot become the summed input channels; they are folded into the channels instead: x as one image
 * [1, H, W, N*C], dy as a depthwise filter [OH, OW, N*C, M] (channel order (n, c, m) keeps the
 * depthwise layout), one XNNPACK depthwise convolution gives [KH, KW, N*C*M], and a sum over the N
 * samples gives [KH, KW, C, M].
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';
import { filterGradConv } from './conv-geometry.js';

export const depthwiseConv2dNativeBackpropFilterConfig = composite(tf.DepthwiseConv2dNativeBackpropFilter, (c, { x, dy }, attrs) => {
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const [N, H, W, C] = x!.shape as [number, number, number, number];
  const [KH, KW, , M] = filterShape;
  const info = tf.backend_util.computeConv2DInfo([N, H, W, C], filterShape, strides, dilations, pad, dimRoundingMode, true);
  const [, OH, OW] = dy!.shape as [number, number, number, number];
  const xt = c.reshape(c.transpose(x!, [1, 2, 0, 3]), [1, H, W, N * C]);
  const dyt = c.reshape(c.transpose(dy!, [1, 2, 0, 3]), [OH, OW, N * C, M]);
  const g = filterGradConv(c, 'DepthwiseConv2dNative', xt, dyt, info);
  return c.reshape(c.sumAxis(c.reshape(g, [KH, KW, N, C * M]), 2), [KH, KW, C, M]);
});
