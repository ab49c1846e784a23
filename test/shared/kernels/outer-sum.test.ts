// gradpool's batch sum of outer products on wasm, GradpoolOuterSum(a [n, M], b [n, P]) = aᵀ·b
// (src/shared/kernels/outer-sum.ts, what the vectorized executor's summed dense weight gradient runs):
// the same bits as wasm's Transpose then product (the route it replaces) and as the float32 sums in
// order written out in JavaScript, NaN, ±Infinity, -0 and wide exponents included (a NaN's sign and
// payload aside), for every block width; cpu's values; the cases it refuses; and no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { OUTER_SUM, OUTER_SUM_MAX_P, outerSumFits } from '../../../src/shared/kernels/outer-sum.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, bits, F, inOrderProduct, kernel, runOn, wide } from './helpers.js';

describe('wasm kernel GradpoolOuterSum (a batch sum of outer products)', () => {
  withBackend('wasm');

  it("same bits as wasm's transpose and product and as the in-order float32 sums, for every block width", async () => {
    // P = 10 is a conv net's dense layer (blocks of 8 and 2); 16, 14, 6, 4, 2 cover the other widths.
    const shapes = [[32, 2704, 10], [1, 4, 2], [3, 8, 16], [17, 12, 14], [40, 4, 6], [64, 20, 4], [2, 36, 8]] as const;
    for (const [n, M, P] of shapes) {
      for (const specials of [false, true]) {
        const ins = [wide(n * M + 3, [n, M], specials), wide(n * P + 5, [n, P], specials)];
        const [got] = await runOn('wasm', (a, b) => kernel(OUTER_SUM, { a: a!, b: b! }, {}), ins);
        const [own] = await runOn('wasm', (a, b) => tf.matMul(tf.transpose(a!), b!), ins);
        const label = `[${n}, ${M}]ᵀ x [${n}, ${P}]${specials ? ' with specials' : ''}`;
        assert.deepEqual(bits(got!.values), bits(own!.values), `${label}: against wasm's transpose and product`);
        assert.deepEqual(bits(got!.values), bits(inOrderProduct(ins[0]!.values, ins[1]!.values, M, n, P, true)), `${label}: against the in-order sums`);
      }
      const ins = [F(1, [n, M]), F(2, [n, P])];
      const [got] = await runOn('wasm', (a, b) => kernel(OUTER_SUM, { a: a!, b: b! }, {}), ins);
      const [cpu] = await runOn('cpu', (a, b) => tf.matMul(a!, b!, true, false), ins);
      got!.values.forEach((v, i) => assert.ok(Math.abs(v - cpu!.values[i]!) <= 1e-5 * (1 + Math.abs(cpu!.values[i]!)), `[${n}, ${M}]ᵀ x [${n}, ${P}] vs cpu at ${i}: ${v} vs ${cpu!.values[i]}`));
    }
  });

  it('takes M a multiple of 4 and an even P up to the limit, float32 only; refuses the rest naming both inputs', async () => {
    await runOn('wasm', () => tf.scalar(0), []);
    const be = tf.backend();
    const fits = (a: number[], b: number[], dtype: tf.DataType = 'float32') => outerSumFits(be, { dataId: {}, shape: a, dtype }, { dataId: {}, shape: b, dtype });
    assert.ok(fits([32, 2704], [32, 10]));
    assert.ok(fits([1, 4], [1, OUTER_SUM_MAX_P]));
    for (const [a, b] of [[[32, 2703], [32, 10]], [[32, 8], [32, 9]], [[32, 8], [32, 1]], [[32, 8], [32, OUTER_SUM_MAX_P + 2]], [[32, 8], [31, 10]], [[0, 8], [0, 10]], [[2, 8, 1], [2, 10]]])
      assert.ok(!fits(a!, b!), `[${a}] x [${b}]`);
    assert.ok(!fits([4, 8], [4, 10], 'int32'));
    assert.throws(() => kernel(OUTER_SUM, { a: tf.zeros([4, 6]), b: tf.zeros([4, 10]) }, {}), /GradpoolOuterSum: expected float32 a \[n, M\] and b \[n, P\] with M a multiple of 4 and P even, 2 ≤ P ≤ 16, got float32\[4,6\] and float32\[4,10\]/);
  });

  it('leaks nothing over 1,000 calls', async () => {
    await assertNoLeak((a, b) => kernel(OUTER_SUM, { a: a!, b: b! }, {}), [F(1, [5, 8]), F(2, [5, 10])], 1000);
  });
});
