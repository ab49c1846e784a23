// Transpose on wasm, wrapped in src/shared/kernels (block swaps [A, B, C] -> [B, A, C] of float32 rows of
// a multiple of 4 values as a SIMD copy, and matrix transposes of multiples of 4 by 4 by 4 tiles):
// exactly cpu's values (a copy), whatever route a permutation takes; and the block-swap detection itself.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { blockSwap } from '../../../src/shared/kernels/transpose.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, F, I, runOn, type Input } from './helpers.js';

const CASES: [number[], number[]][] = [
  [[2, 3, 8], [1, 0, 2]], // SIMD
  [[3, 1, 4, 5, 16], [1, 2, 3, 0, 4]], // samples into channels, as the filter gradient does: SIMD
  [[3, 3, 4, 1, 8], [2, 0, 1, 3, 4]], // and back: SIMD
  [[2, 3, 6], [1, 0, 2]], // rows of 6: wasm's own kernel
  [[2, 3, 4], [2, 1, 0]], // not a block swap
  [[4, 5], [1, 0]], // a matrix transpose, 5 not a multiple of 4: wasm's own kernel
  [[2, 3, 4], [0, 1, 2]],
  [[32, 2704], [1, 0]], // a matrix transpose (a conv net's dense activations): tiles
  [[4, 4], [1, 0]], // one tile
  [[4, 2, 8], [2, 0, 1]], // [8, 8] as a matrix, after merging axes: tiles
  [[12, 1, 8], [1, 2, 0]], // [12, 8], a length-1 axis dropped: tiles
  [[3, 4, 8], [1, 2, 0]], // [3, 32]: wasm's own kernel
];

describe('wasm kernel Transpose (wrapped: SIMD block swaps)', () => {
  withBackend('wasm');

  it('block swaps are found after dropping length-1 axes and merging adjacent ones', () => {
    assert.deepEqual(blockSwap([3, 1, 4, 5, 16], [1, 2, 3, 0, 4]), [3, 20, 16]);
    assert.deepEqual(blockSwap([3, 3, 4, 1, 8], [2, 0, 1, 3, 4]), [9, 4, 8]);
    assert.equal(blockSwap([2, 3, 4], [2, 1, 0]), null);
    assert.deepEqual(blockSwap([4, 5], [1, 0]), [4, 5, 1]);
    assert.deepEqual(blockSwap([4, 2, 8], [2, 0, 1]), [8, 8, 1]);
    assert.deepEqual(blockSwap([12, 1, 8], [1, 2, 0]), [12, 8, 1]);
    assert.equal(blockSwap([4, 1, 5], [0, 2, 1]), null);
  });

  it("cpu's values exactly, for float32 (incl. NaN and -0) and int32", async () => {
    for (const [shape, perm] of CASES) {
      const special: Input = { shape, values: Array.from(F(3, shape).values, (v, i) => [NaN, -0, Infinity, v][i % 4]!), dtype: 'float32' };
      const ints = I(Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => i - 7), shape);
      for (const input of [F(3, shape), special, ints]) {
        const f = (x: tf.Tensor) => tf.transpose(x, perm);
        const [want] = await runOn('cpu', f, [input]);
        const [got] = await runOn('wasm', f, [input]);
        assert.deepEqual(got!.shape, want!.shape);
        assert.deepEqual(Array.from(got!.values), Array.from(want!.values), `[${shape}] perm [${perm}] ${input.dtype}`);
      }
    }
  });

  it('leaks nothing over 1,000 calls', async () => {
    await assertNoLeak((x) => tf.transpose(x, [1, 0, 2]), [F(1, [3, 5, 8])], 1000);
    await assertNoLeak((x) => tf.transpose(x, [1, 0]), [F(1, [8, 12])], 1000);
  });
});
