// BatchMatMul on wasm, wrapped in src/shared/kernels/batch-matmul.ts (a matrix times a vector as a
// WebAssembly loop): the same bits as wasm's own kernel (XNNPACK) and cpu's values, NaN, ±Infinity,
// -0 and wide exponents included (a NaN's sign and payload aside), for row counts with and without a remainder of the four-row groups;
// other shapes pass through to wasm's kernel.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, bits, F, runOn, wide } from './helpers.js';

describe('wasm kernel BatchMatMul (wrapped: matrix times vector)', () => {
  withBackend('wasm');

  it("same bits as wasm's own kernel (a [1, K] row times b, each row alone), and cpu's values", async () => {
    for (const [n, K] of [[1, 1], [3, 6], [4, 6], [8195, 6], [37, 1], [9, 17], [6, 48], [5, 49], [130, 784]] as const) {
      for (const specials of [false, true]) {
        const ins = [wide(n * K, [n, K], specials), wide(K + 1, [K, 1], false)];
        const [got] = await runOn('wasm', (a, b) => tf.matMul(a!, b!), ins);
        // wasm's own kernel on the same rows: a [n, K] x [K, 2] product (b's column twice) is not a
        // matrix-vector product, so XNNPACK computes it; its first column is the same sums.
        const [own] = await runOn('wasm', (a, b) => tf.slice(tf.matMul(a!, tf.concat([b!, b!], 1)), [0, 0], [n, 1]), ins);
        assert.deepEqual(bits(got!.values), bits(own!.values), `[${n}, ${K}] x [${K}, 1]${specials ? ' with specials' : ''}`);
      }
      if (n * K < 5000) await assertMatchesCpu(`[${n}, ${K}] x [${K}, 1]`, (a, b) => tf.matMul(a!, b!), [F(1, [n, K]), F(2, [K, 1])]);
    }
  });

  it('leaves batched, transposed and many-column products to wasm, with the same results as cpu', async () => {
    await assertMatchesCpu('[2, 5, 3] x [2, 3, 1]', (a, b) => tf.matMul(a!, b!), [F(1, [2, 5, 3]), F(2, [2, 3, 1])]);
    await assertMatchesCpu('[3, 5]ᵀ x [3, 1]', (a, b) => tf.matMul(a!, b!, true), [F(1, [3, 5]), F(2, [3, 1])]);
    await assertMatchesCpu('[5, 3] x [1, 3]ᵀ', (a, b) => tf.matMul(a!, b!, false, true), [F(1, [5, 3]), F(2, [1, 3])]);
    await assertMatchesCpu('[1, 5, 3] x [1, 3, 1]', (a, b) => tf.matMul(a!, b!), [F(1, [1, 5, 3]), F(2, [1, 3, 1])]);
  });

  it('leaks nothing over 1,000 calls', async () => {
    await assertNoLeak((a, b) => tf.matMul(a!, b!), [F(1, [9, 6]), F(2, [6, 1])], 1000);
  });
});
