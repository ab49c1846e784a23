// BatchMatMul on wasm, wrapped in src/shared/kernels/batch-matmul.ts for a short inner dimension
// (K ≤ 16, N a multiple of 4: short-matmul.ts): the same bits as wasm's own kernel (XNNPACK) and as
// the float32 sums in order written out in JavaScript, NaN, ±Infinity, -0 and wide exponents
// included (a NaN's sign and payload aside), for column counts with and without a remainder of the
// four-vector blocks; and cpu's values.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { SHORT_K } from '../../../src/shared/kernels/short-matmul.js';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, bits, F, inOrderProduct, runOn, wide } from './helpers.js';

describe('wasm kernel BatchMatMul (wrapped: short inner dimension)', () => {
  withBackend('wasm');

  it("same bits as wasm's own kernel and as the in-order float32 sums", async () => {
    const shapes = [[32, 10, 2704], [1, 1, 4], [3, 16, 4], [5, 7, 20], [2, 3, 36], [4, 16, 64], [9, 2, 68]] as const;
    for (const [M, K, N] of shapes) {
      for (const specials of [false, true]) {
        const ins = [wide(M * K + N, [M, K], specials), wide(K * N + 1, [K, N], specials)];
        const [got] = await runOn('wasm', (a, b) => tf.matMul(a!, b!), ins);
        // wasm's own kernel on the same sums: a zero column of a and zero row of b make K = 17, past the
        // short products, so XNNPACK computes it; its last product, 0·0, adds +0 to sums that are never -0.
        const pad = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(tf.pad(a, [[0, 0], [0, SHORT_K + 1 - K]]), tf.pad(b, [[0, SHORT_K + 1 - K], [0, 0]]));
        const [own] = await runOn('wasm', (a, b) => pad(a!, b!), ins);
        const label = `[${M}, ${K}] x [${K}, ${N}]${specials ? ' with specials' : ''}`;
        assert.deepEqual(bits(got!.values), bits(own!.values), `${label}: against wasm's own kernel`);
        assert.deepEqual(bits(got!.values), bits(inOrderProduct(ins[0]!.values, ins[1]!.values, M, K, N)), `${label}: against the in-order sums`);
      }
      await assertMatchesCpu(`[${M}, ${K}] x [${K}, ${N}]`, (a, b) => tf.matMul(a!, b!), [F(1, [M, K]), F(2, [K, N])]);
    }
  });

  it('leaves longer, batched, transposed and odd-width products to wasm, with the same results as cpu', async () => {
    await assertMatchesCpu('[3, 17] x [17, 8]', (a, b) => tf.matMul(a!, b!), [F(1, [3, 17]), F(2, [17, 8])]);
    await assertMatchesCpu('[3, 5] x [5, 6]', (a, b) => tf.matMul(a!, b!), [F(1, [3, 5]), F(2, [5, 6])]);
    await assertMatchesCpu('[2, 3, 5] x [2, 5, 8]', (a, b) => tf.matMul(a!, b!), [F(1, [2, 3, 5]), F(2, [2, 5, 8])]);
    await assertMatchesCpu('[5, 3]ᵀ x [5, 8]', (a, b) => tf.matMul(a!, b!, true), [F(1, [5, 3]), F(2, [5, 8])]);
    await assertMatchesCpu('[3, 5] x [8, 5]ᵀ', (a, b) => tf.matMul(a!, b!, false, true), [F(1, [3, 5]), F(2, [8, 5])]);
  });

  it('leaks nothing over 1,000 calls', async () => {
    await assertNoLeak((a, b) => tf.matMul(a!, b!), [F(1, [9, 6]), F(2, [6, 8])], 1000);
  });
});
