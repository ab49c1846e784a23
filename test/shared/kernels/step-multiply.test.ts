// gradpool's fused relu gradient on wasm, GradpoolStepMultiply(x, dy) = dy * step(x): the same bits
// as wasm's own Step then Multiply (what the unfused trace runs), NaN, ±Infinity, ±0 and subnormals
// included, for lengths with and without a SIMD tail; cpu's values; and no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { STEP_MULTIPLY } from '../../../src/shared/kernels/step-multiply.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, F, kernel, runOn, type Input } from './helpers.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38, -2.5];
/** Seeded values with every special value mixed into x and into dy (at other positions). */
const withSpecials = (seed: number, shape: number[], shift: number): Input => {
  const base = F(seed, shape);
  return { ...base, values: Array.from(base.values, (v, i) => (i % 3 === shift ? SPECIAL[(i / 3) % SPECIAL.length | 0]! : v)) };
};
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('wasm kernel GradpoolStepMultiply (relu gradient, fused)', () => {
  withBackend('wasm');

  it("same bits as wasm's Step then Multiply, and cpu's values, for SIMD-whole and tailed lengths", async () => {
    for (const shape of [[1], [3], [4], [2, 9], [4, 6, 6, 4], [1027]]) {
      const ins = [withSpecials(1, shape, 0), withSpecials(2, shape, 1)];
      const [got] = await runOn('wasm', (x, dy) => kernel(STEP_MULTIPLY, { x: x!, dy: dy! }, {}), ins);
      const [want] = await runOn('wasm', (x, dy) => tf.mul(dy!, tf.step(x!)), ins);
      assert.deepEqual(bits(got!.values), bits(want!.values), `[${shape}]`);
      const [cpu] = await runOn('cpu', (x, dy) => tf.mul(dy!, tf.step(x!)), ins);
      assert.deepEqual(Array.from(got!.values), Array.from(cpu!.values), `[${shape}] vs cpu`);
    }
  });

  it('refuses mismatched shapes or dtypes, naming both', async () => {
    await runOn('wasm', () => tf.scalar(0), []);
    assert.throws(() => kernel(STEP_MULTIPLY, { x: tf.zeros([4]), dy: tf.zeros([5]) }, {}), /GradpoolStepMultiply: expected float32 x and dy of one shape, got float32\[4\] and float32\[5\]/);
  });

  it('leaks nothing', async () => {
    await assertNoLeak((x, dy) => kernel(STEP_MULTIPLY, { x: x!, dy: dy! }, {}), [F(1, [2, 7]), F(2, [2, 7])]);
  });
});
