// Mean on wasm, wrapped in src/shared/kernels/mean.ts (a mean over length-1 axes written as 0 + x):
// the same bits as wasm's own arithmetic for it, (0 + x) / 1, and cpu's values, with NaN, ±Infinity,
// ±0 and subnormals, keepDims or not, any axes; other means pass through to wasm's kernel.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, F, runOn, type Input } from './helpers.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38];
const withSpecials = (shape: number[]): Input => {
  const base = F(5, shape);
  return { ...base, values: Array.from(base.values, (v, i) => (i % 2 ? SPECIAL[(i >> 1) % SPECIAL.length]! : v)) };
};
/** Bits per value, every NaN as one (WebAssembly leaves a NaN's payload unspecified). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (b, i) => (Number.isNaN(a[i]) ? 'NaN' : b));

describe('wasm kernel Mean (wrapped: means over length-1 axes)', () => {
  withBackend('wasm');

  it("same bits as wasm's (0 + x) / 1 and cpu's values, for any length-1 axes, keepDims or not", async () => {
    const cases: [number[], number[]][] = [[[17, 1], [1]], [[1, 9], [0]], [[4, 1, 3, 1], [1, 3]], [[2, 1, 1], [-1]], [[1], [0]]];
    for (const [shape, axis] of cases) {
      for (const keepDims of [false, true]) {
        const label = `mean([${shape}], axis [${axis}], keepDims ${keepDims})`;
        const ins = [withSpecials(shape)];
        const [got] = await runOn('wasm', (x) => tf.mean(x!, axis, keepDims), ins);
        // wasm's own arithmetic for a one-value mean: 0 + x (its Add with a scalar), then / 1.
        const [want] = await runOn('wasm', (x) => tf.reshape(tf.div(tf.add(tf.scalar(0), x!), tf.scalar(1)), got!.shape), ins);
        assert.deepEqual(got!.shape, tf.mean(tf.zeros(shape), axis, keepDims).shape, label);
        assert.deepEqual(bits(got!.values), bits(want!.values), label);
        await assertMatchesCpu(label, (x) => tf.mean(x!, axis, keepDims), ins);
      }
    }
  });

  it('leaves means over longer axes to wasm, with cpu\'s values', async () => {
    await assertMatchesCpu('mean([6, 5], 1)', (x) => tf.mean(x!, 1), [F(1, [6, 5])]);
    await assertMatchesCpu('mean([6, 1, 5], [1, 2])', (x) => tf.mean(x!, [1, 2]), [F(1, [6, 1, 5])]);
  });

  it('leaks nothing over 1,000 calls', async () => {
    await assertNoLeak((x) => tf.mean(x!, 1), [F(1, [9, 1])], 1000);
  });
});
