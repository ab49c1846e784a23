// Multiply on wasm, wrapped in src/shared/kernels (batched outer products [..., M, 1] x [..., 1, P] as a
// SIMD kernel): the same bits as wasm's own kernel on the same products, and cpu's values; other
// shapes pass through to wasm's kernel.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, F, runOn } from './helpers.js';

const CASES: [number[], number[]][] = [
  [[3, 5, 1], [3, 1, 4]], // SIMD, whole 4-float stores
  [[2, 2, 7, 1], [2, 2, 1, 10]], // SIMD, the last store of each row overlapping
  [[6, 1], [1, 5]], // rank 2: one outer product
  [[4, 3, 1], [4, 1, 3]], // rows of 3: wasm's own kernel
  [[1, 5, 1], [3, 1, 4]], // broadcast leading dims: wasm's own kernel
  [[3, 1, 4], [3, 5, 1]], // the mirrored form: wasm's own kernel
  [[9, 6, 1], [9, 1, 1]], // one column, a per-sample scale: SIMD, the last store overlapping
  [[2, 3, 8, 1], [2, 3, 1, 1]], // one column, whole stores
  [[5, 3, 1], [5, 1, 1]], // one column of 3 rows: wasm's own kernel
];

describe('wasm kernel Multiply (wrapped: SIMD batched outer products)', () => {
  withBackend('wasm');

  it("same bits as wasm's own kernel, and cpu's values, incl. NaN, Infinity and -0", async () => {
    for (const [as, bs] of CASES) {
      const label = `[${as}] x [${bs}]`;
      await assertMatchesCpu(label, (a, b) => tf.mul(a!, b!), [F(1, as), F(2, bs)]);
      // wasm's own kernel on the same products: a tiled along P (or b along M, when P is 1) no longer
      // has the outer-product shape.
      const own = (a: tf.Tensor, b: tf.Tensor) =>
        b.shape[b.rank - 1] === 1
          ? tf.mul(a, tf.tile(b, b.shape.map((_, i) => (i === b.rank - 2 ? a.shape[a.rank - 2]! : 1))))
          : tf.mul(tf.tile(a, a.shape.map((_, i) => (i === a.rank - 1 ? b.shape[b.rank - 1]! : 1))), b);
      const special = { shape: as, values: Array.from(F(1, as).values, (v, i) => [NaN, Infinity, -0, v][i % 4]!), dtype: 'float32' as const };
      const specialB = { shape: bs, values: Array.from(F(2, bs).values, (v, i) => [v, -0, Infinity, NaN, 0][i % 5]!), dtype: 'float32' as const };
      for (const ins of [[F(1, as), F(2, bs)], [special, F(2, bs)], [special, specialB]]) {
        const [got] = await runOn('wasm', (a, b) => tf.mul(a!, b!), ins);
        const [want] = await runOn('wasm', own, ins);
        assert.deepEqual(Array.from(got!.values), Array.from(want!.values), label);
      }
    }
  });

  it('leaks nothing over 1,000 calls', async () => {
    await assertNoLeak((a, b) => tf.mul(a!, b!), [F(1, [2, 7, 1]), F(2, [2, 1, 10])], 1000);
    await assertNoLeak((a, b) => tf.mul(a!, b!), [F(1, [2, 7, 1]), F(2, [2, 1, 1])], 1000);
  });
});
