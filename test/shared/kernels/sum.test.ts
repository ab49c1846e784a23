// Sum on wasm, wrapped in src/shared/kernels (a SIMD sum over a block of non-trailing axes, the conv bias
// gradient's case): the same bits as wasm's own kernel summing the same values last-axis-wise, and
// cpu's values to 1e-5; other cases pass through to wasm's kernel.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, F, I, runOn } from './helpers.js';

const CASES: [number[], number[], boolean][] = [
  [[2, 3, 4, 8], [1, 2], false], // the conv bias gradient's shape: SIMD
  [[5, 6, 4], [1], true],
  [[3, 4, 5, 12], [0, 1], false],
  [[3, 4, 5, 12], [-3, -2], true],
  [[2, 7, 6], [1], false], // 6 trailing values: wasm's own kernel
  [[2, 3, 4], [1, 2], false], // includes the last axis: wasm's own kernel
  [[4, 4], [0], false],
  [[3, 2, 8], [0, 2], false], // not one block
];

describe('wasm kernel Sum (wrapped: SIMD over non-trailing axes)', () => {
  withBackend('wasm');

  it("same bits as wasm's own kernel on the transposed data, and cpu's values, keepDims or not", async () => {
    for (const [shape, axes, keepDims] of CASES) {
      const label = `[${shape}] axes [${axes}] keepDims ${keepDims}`;
      const sum = (x: tf.Tensor) => tf.sum(x, axes, keepDims);
      await assertMatchesCpu(label, sum, [F(6, shape)]);
      // wasm's own route: the summed axes moved last, then reduced as the innermost axes.
      const norm = tf.util.parseAxisParam(axes, shape);
      const rest = shape.map((_, i) => i).filter((i) => !norm.includes(i));
      const own = (x: tf.Tensor) => tf.reshape(tf.sum(tf.transpose(x, [...rest, ...norm]), norm.map((_, k) => rest.length + k)), sum(x).shape);
      const [got] = await runOn('wasm', sum, [F(6, shape)]);
      const [want] = await runOn('wasm', own, [F(6, shape)]);
      assert.deepEqual(Array.from(got!.values), Array.from(want!.values), label);
    }
  });

  it("int32 goes to wasm's kernel; an empty block sums to zeros (wasm's kernel leaves them unwritten); leaks nothing", async () => {
    const [ints] = await runOn('wasm', (x) => tf.sum(x, [1]), [I([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 4])]);
    assert.deepEqual(Array.from(ints!.values), [1, 2, 3, 4, 5, 6, 7, 8]);
    const [empty] = await runOn('wasm', () => tf.sum(tf.zeros([2, 0, 4]), [1]), []);
    assert.deepEqual(Array.from(empty!.values), [0, 0, 0, 0, 0, 0, 0, 0]);
    await assertNoLeak((x) => tf.sum(x, [1, 2]), [F(1, [2, 3, 4, 8])]);
  });
});
