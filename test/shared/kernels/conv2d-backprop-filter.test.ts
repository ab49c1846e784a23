// Conv2DBackpropFilter on wasm (built in src/shared/kernels) against tfjs-backend-cpu's own kernel.
import * as tf from '@tensorflow/tfjs';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, convOutShape, F, kernel } from './helpers.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
const EXPLICIT: Pad = [[0, 0], [2, 1], [0, 3], [0, 0]];

/** x [N, H, W, C], filter [KH, KW, C, CO]. */
const SHAPES: [number[], number[]][] = [
  [[1, 6, 6, 1], [3, 3, 1, 1]],
  [[2, 7, 5, 3], [3, 3, 3, 4]],
  [[3, 8, 9, 2], [2, 3, 2, 5]],
  [[2, 5, 6, 4], [1, 1, 4, 3]],
  [[1, 9, 9, 3], [5, 4, 3, 2]],
];
const STRIDES: (number | [number, number])[] = [1, 2, [1, 2], [3, 2]];
const PADS: Pad[] = ['valid', 'same', EXPLICIT, 1];

function filterGrad(xShape: number[], filterShape: number[], strides: number | [number, number], pad: Pad, rounding?: 'floor' | 'round' | 'ceil', extraRow = 0) {
  const [N, OH, OW, CO] = convOutShape(xShape, filterShape, strides, 1, pad, false, rounding);
  const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: rounding, filterShape };
  return {
    f: (x: tf.Tensor, dy: tf.Tensor) => kernel('Conv2DBackpropFilter', { x, dy }, attrs),
    inputs: [F(1, xShape), F(2, [N, OH + extraRow, OW + extraRow, CO])],
  };
}

describe('wasm kernel Conv2DBackpropFilter (vs cpu)', () => {
  withBackend('wasm');

  it('every shape, stride and padding (same, valid, explicit, numeric)', async () => {
    for (const [xs, fs] of SHAPES)
      for (const s of STRIDES)
        for (const p of PADS) {
          const { f, inputs } = filterGrad(xs, fs, s, p);
          await assertMatchesCpu(`x [${xs}] filter [${fs}] strides ${s} pad ${JSON.stringify(p)}`, f, inputs);
        }
  });

  it('a large explicit padding (more than the filter) and a pad that drops input rows', async () => {
    for (const [p, s] of [[[[0, 0], [4, 0], [1, 5], [0, 0]], 1], ['valid', 3], [[[0, 0], [0, 0], [3, 3], [0, 0]], [2, 3]]] as [Pad, number | [number, number]][]) {
      const { f, inputs } = filterGrad([2, 7, 8, 2], [3, 2, 2, 3], s, p);
      await assertMatchesCpu(`pad ${JSON.stringify(p)} strides ${s}`, f, inputs);
    }
  });

  it('rounding modes, and a dy larger than the forward output (only its first rows count, as on cpu)', async () => {
    for (const rounding of ['floor', 'round', 'ceil'] as const)
      for (const extra of [0, 1]) {
        const { f, inputs } = filterGrad([2, 6, 7, 2], [3, 3, 2, 3], 2, 1, rounding, extra);
        await assertMatchesCpu(`rounding ${rounding}, dy +${extra}`, f, inputs);
      }
  });

  it('NCHW data', async () => {
    for (const [s, p] of [[1, 'valid'], [2, 'same'], [[1, 2], EXPLICIT]] as [number | [number, number], Pad][]) {
      const [N, OH, OW, CO] = convOutShape([2, 6, 7, 3], [3, 2, 3, 4], s, 1, p, false);
      const attrs = { strides: s, pad: p, dataFormat: 'NCHW', filterShape: [3, 2, 3, 4] };
      // The same data as NHWC, so both layouts can be checked against cpu alike.
      const f = (x: tf.Tensor, dy: tf.Tensor) => kernel('Conv2DBackpropFilter', { x: tf.transpose(x, [0, 3, 1, 2]), dy: tf.transpose(dy, [0, 3, 1, 2]) }, attrs);
      await assertMatchesCpu(`NCHW strides ${s} pad ${JSON.stringify(p)}`, f, [F(1, [2, 6, 7, 3]), F(2, [N, OH, OW, CO])]);
    }
  });

  it('leaks no tensor or wasm buffer', async () => {
    const { f, inputs } = filterGrad([2, 7, 8, 2], [3, 3, 2, 3], 2, 'same', undefined, 1);
    await assertNoLeak(f, inputs);
  });
});
