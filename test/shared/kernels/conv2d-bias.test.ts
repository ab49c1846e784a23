// gradpool's fused first conv layer on wasm, GradpoolConv2DBias(x, filter, bias) with or without relu
// (src/shared/kernels/conv2d-bias.ts, what a traced conv net's forward replays): the same bits as wasm's
// Conv2D, Add and Relu run one after the other, NaN, ±Infinity, -0 and wide exponents included (relu of
// a NaN with its sign bit set is +0 there, and here); the cases it takes and refuses; no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { CONV2D_BIAS, conv2dBiasFits } from '../../../src/shared/kernels/conv2d-bias.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, bits, F, kernel, runOn, wide } from './helpers.js';

const ATTRS = { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] };
const SHAPES: [number[], number[], number[], 'valid' | 'same'][] = [
  [[32, 28, 28, 1], [3, 3, 1, 16], [16], 'valid'], // the benchmark's conv net
  [[3, 7, 9, 1], [2, 3, 1, 12], [1, 12], 'valid'], // a bias with a leading one
  [[2, 5, 5, 1], [3, 3, 1, 4], [4], 'same'],
];

describe('wasm kernel GradpoolConv2DBias (one-channel Conv2D, bias and relu, fused)', () => {
  withBackend('wasm');

  it("same bits as wasm's Conv2D, Add and Relu one after the other", async () => {
    for (const [xs, fs, bs, pad] of SHAPES)
      for (const specials of ['none', 'inputs', 'made'] as const) {
        const ins = [wide(3, xs, specials === 'inputs'), wide(5, fs, false), wide(7, bs, specials === 'inputs')];
        // ∞·0 makes a NaN with its sign bit set (x86's default NaN), which wasm's Relu turns into +0.
        if (specials === 'made') {
          ins[0] = { ...ins[0]!, values: Array.from(ins[0]!.values, (v, i) => (i % 7 === 0 ? Infinity : v)) };
          ins[1] = { ...ins[1]!, values: Array.from(ins[1]!.values, (v, i) => (i % 3 === 0 ? 0 : v)) };
        }
        const label = `[${xs}] * [${fs}] (${pad}) + [${bs}], specials: ${specials}`;
        const [z, r] = await runOn('wasm', (x, f, b) => kernel(CONV2D_BIAS, { x: x!, filter: f!, bias: b! }, { ...ATTRS, pad, relu: true }) as unknown as tf.Tensor[], ins);
        const [zOnly] = await runOn('wasm', (x, f, b) => kernel(CONV2D_BIAS, { x: x!, filter: f!, bias: b! }, { ...ATTRS, pad, relu: false }), ins);
        const [wantZ, wantR] = await runOn('wasm', (x, f, b) => {
          const s = tf.add(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, pad), b!);
          return [s, tf.relu(s)];
        }, ins);
        assert.deepEqual(bits(z!.values), bits(wantZ!.values), `${label}: the sum`);
        assert.deepEqual(bits(zOnly!.values), bits(wantZ!.values), `${label}: the sum, without relu`);
        assert.deepEqual(bits(r!.values), bits(wantR!.values), `${label}: relu`);
        assert.deepEqual(z!.shape, wantZ!.shape, label);
      }
  });

  it('takes what the direct Conv2D takes with a float32 bias over its channels; refuses the rest naming the inputs', async () => {
    const m = (shape: number[], dtype: tf.DataType = 'float32') => ({ shape, dtype });
    assert.ok(conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([8]), ATTRS));
    assert.ok(conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([1, 1, 1, 8]), ATTRS));
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([4]), ATTRS), 'a bias of other channels');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([2, 8]), ATTRS), 'not a bias');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([8], 'int32'), ATTRS), 'an int32 bias');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 2]), m([3, 3, 2, 8]), m([8]), ATTRS), 'two input channels');
    assert.ok(conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([8]), { ...ATTRS, pad: 'same' }), 'padding');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([9, 9, 1, 8]), m([8]), ATTRS), 'too many taps');
    await runOn('wasm', () => tf.scalar(0), []);
    assert.throws(() => kernel(CONV2D_BIAS, { x: tf.zeros([1, 5, 5, 2]), filter: tf.zeros([3, 3, 2, 4]), bias: tf.zeros([4]) }, ATTRS), /GradpoolConv2DBias: expected a Conv2D .* got x float32\[1,5,5,2\], filter float32\[3,3,2,4\], bias float32\[4\]/);
  });

  it('leaks nothing over 1,000 calls, with and without relu', async () => {
    for (const relu of [true, false])
      await assertNoLeak((x, f, b) => kernel(CONV2D_BIAS, { x: x!, filter: f!, bias: b! }, { ...ATTRS, relu }) as unknown as tf.Tensor, [F(1, [2, 6, 6, 1]), F(2, [3, 3, 1, 8]), F(3, [8])], 1000);
  });
});
