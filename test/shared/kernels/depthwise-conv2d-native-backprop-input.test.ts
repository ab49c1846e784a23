// DepthwiseConv2dNativeBackpropInput on wasm (built in src/shared/kernels) against tfjs-backend-cpu's own kernel.
import * as tf from '@tensorflow/tfjs';
import { describeDepthwiseBackprop, pair, spreadFilter, type DepthwiseCase } from './depthwise-cases.js';
import { convOutShape, F, kernel } from './helpers.js';

function inputGrad([xShape, filterShape, strides, dilations, pad, rounding]: DepthwiseCase, extraRow = 0) {
  const [N, OH, OW, CM] = convOutShape(xShape, filterShape, strides, dilations, pad, true, rounding);
  const attrs = { strides, dilations, pad, dimRoundingMode: rounding, inputShape: xShape };
  return {
    f: (dy: tf.Tensor, filter: tf.Tensor) => kernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs),
    // Dilated: the undilated kernel with the zero-spread filter (see spreadFilter).
    oracle: (dy: tf.Tensor, filter: tf.Tensor) =>
      kernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: spreadFilter(filter, pair(dilations)) }, { ...attrs, dilations: 1 }),
    inputs: [F(1, [N, OH + extraRow, OW + extraRow, CM]), F(2, filterShape)],
  };
}

describeDepthwiseBackprop('DepthwiseConv2dNativeBackpropInput', 'depthwise input grad', inputGrad, [[2, 7, 6, 3], [3, 3, 3, 2], 2, 1, 'same']);
