// DepthwiseConv2dNativeBackpropFilter on wasm (built in src/shared/kernels) against tfjs-backend-cpu's own kernel.
import * as tf from '@tensorflow/tfjs';
import { describeDepthwiseBackprop, DEPTHWISE_SHAPES, pair, type DepthwiseCase } from './depthwise-cases.js';
import { convOutShape, F, kernel } from './helpers.js';

function filterGrad([xShape, filterShape, strides, dilations, pad, rounding]: DepthwiseCase, extraRow = 0) {
  const [N, OH, OW, CM] = convOutShape(xShape, filterShape, strides, dilations, pad, true, rounding);
  const attrs = { strides, dilations, pad, dimRoundingMode: rounding, filterShape };
  const [dh, dw] = pair(dilations);
  const [KH, KW, C, M] = filterShape as [number, number, number, number];
  const spread = [(KH - 1) * dh + 1, (KW - 1) * dw + 1, C, M];
  return {
    f: (x: tf.Tensor, dy: tf.Tensor) => kernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs),
    // Dilated: the gradient of the zero-spread filter, at its nonzero taps (see spreadFilter).
    oracle: (x: tf.Tensor, dy: tf.Tensor) => {
      const g = kernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, dilations: 1, filterShape: spread });
      return tf.stridedSlice(g, [0, 0, 0, 0], spread, [dh, dw, 1, 1]);
    },
    inputs: [F(1, xShape), F(2, [N, OH + extraRow, OW + extraRow, CM])],
  };
}

describeDepthwiseBackprop('DepthwiseConv2dNativeBackpropFilter', 'depthwise filter grad', filterGrad, [DEPTHWISE_SHAPES[1]![0], DEPTHWISE_SHAPES[1]![1], 2, 1, 'same']);
