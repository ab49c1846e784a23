// DepthwiseConv2dNativeBackpropInput on wasm (built in workers/kernels) against tfjs-backend-cpu's own kernel.
import * as tf from '@tensorflow/tfjs';
import { withBackend } from '../../helpers/env.js';
import { DEPTHWISE_CASES, pair, spreadFilter, type DepthwiseCase } from './depthwise-cases.js';
import { assertMatchesCpu, assertNoLeak, convOutShape, F, kernel } from './helpers.js';

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

describe('wasm kernel DepthwiseConv2dNativeBackpropInput (vs cpu)', () => {
  withBackend('wasm');

  it('every shape and channel multiplier, stride, dilation and padding (same, valid, explicit, numeric)', async () => {
    for (const c of DEPTHWISE_CASES) {
      const { f, oracle, inputs } = inputGrad(c);
      await assertMatchesCpu(`depthwise input grad ${JSON.stringify(c)}`, f, inputs, { oracle });
    }
  });

  it('rounding modes, and a dy larger than the forward output (only its first rows count, as on cpu)', async () => {
    for (const rounding of ['floor', 'round', 'ceil'] as const)
      for (const extra of [0, 1]) {
        const { f, inputs } = inputGrad([[2, 6, 7, 2], [3, 3, 2, 2], 2, 1, 1, rounding], extra);
        await assertMatchesCpu(`rounding ${rounding}, dy +${extra}`, f, inputs);
      }
  });

  it('leaks no tensor or wasm buffer', async () => {
    const { f, inputs } = inputGrad([[2, 7, 6, 3], [3, 3, 3, 2], 2, 1, 'same']);
    await assertNoLeak(f, inputs);
  });
});
