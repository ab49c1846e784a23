// Add on wasm, wrapped in src/shared/kernels (a bias over channels, [..., C] + [C] with C a multiple of
// 4, as a SIMD kernel): the same bits as wasm's own kernel on the same sums, and cpu's values; other
// shapes pass through to wasm's kernel.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, F, runOn } from './helpers.js';

const CASES: [number[], number[]][] = [
  [[3, 5, 8], [8]], // SIMD
  [[2, 4, 4, 16], [1, 1, 16]], // SIMD, a bias with leading ones
  [[7, 4], [4]], // SIMD, rank 2
  [[3, 5, 6], [6]], // C not a multiple of 4: wasm's own kernel
  [[3, 5, 8], [5, 8]], // not a bias: wasm's own kernel
  [[8], [3, 5, 8]], // the mirrored form: wasm's own kernel
];

describe('wasm kernel Add (wrapped: SIMD bias add over channels)', () => {
  withBackend('wasm');

  it("same bits as wasm's own kernel, and cpu's values, incl. NaN, Infinity and -0", async () => {
    for (const [as, bs] of CASES) {
      const label = `[${as}] + [${bs}]`;
      await assertMatchesCpu(label, (a, b) => tf.add(a!, b!), [F(1, as), F(2, bs)]);
      // wasm's own kernel on the same sums: the bias tiled to x's shape is no longer a bias.
      const own = (a: tf.Tensor, b: tf.Tensor) => {
        const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
        return tf.add(tf.broadcastTo(a, shape), tf.broadcastTo(b, shape));
      };
      const special = { shape: as, values: Array.from(F(1, as).values, (v, i) => [NaN, Infinity, -0, -Infinity, v][i % 5]!), dtype: 'float32' as const };
      const negZero = { shape: bs, values: Array.from(F(2, bs).values, (v, i) => (i % 2 ? -0 : v)), dtype: 'float32' as const };
      for (const ins of [[F(1, as), F(2, bs)], [special, negZero]]) {
        const [got] = await runOn('wasm', (a, b) => tf.add(a!, b!), ins);
        const [want] = await runOn('wasm', own, ins);
        const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
        assert.deepEqual(bits(got!.values), bits(want!.values), label);
      }
    }
  });

  it('leaks nothing', async () => {
    await assertNoLeak((a, b) => tf.add(a!, b!), [F(1, [2, 7, 8]), F(2, [8])]);
  });
});
