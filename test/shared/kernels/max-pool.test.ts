// MaxPool on wasm, replaced in src/shared/kernels/max-pool.ts (tfjs-backend-wasm 4.22's turns a window
// whose first value is NaN into -Infinity), against tfjs-backend-cpu's kernel, bit for bit: window
// sizes, strides, paddings and rounding, the SIMD route (whole 2x2 windows over a multiple of 4
// channels), NaN, ±Infinity and ±0; wasm's dtype check; no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, bits, F, runOn, type Input } from './helpers.js';

type Pad = 'same' | 'valid' | number;
const pool = (fs: number | [number, number], s: number | [number, number], p: Pad, rounding?: 'floor' | 'round' | 'ceil') => (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, fs, s, p, rounding);

async function assertSameBits(label: string, f: (x: tf.Tensor) => tf.Tensor, x: Input): Promise<void> {
  const [want] = await runOn('cpu', f, [x]);
  const [got] = await runOn('wasm', f, [x]);
  assert.deepEqual(got!.shape, want!.shape, label);
  assert.deepEqual(bits(got!.values), bits(want!.values), label);
}

/** Seeded values with NaN, ±Infinity and ±0 at every 5th position, and ties from rounding to halves. */
const withSpecials = (seed: number, shape: number[]): Input => {
  const base = F(seed, shape);
  const special = [NaN, Infinity, -Infinity, 0, -0, NaN];
  return { ...base, values: Array.from(base.values, (v, i) => (i % 5 === 2 ? special[(i / 5) % special.length | 0]! : Math.round(v * 8 - 4) / 2)) };
};

describe('wasm kernel MaxPool (replaced; vs cpu)', () => {
  withBackend('wasm');

  it("a window whose first value is NaN gives the others' maximum, as cpu (wasm's own gave -Infinity)", async () => {
    for (const [values, want] of [[[NaN, 1, 2, 3], 3], [[1, NaN, 2, 3], 3], [[NaN, NaN, NaN, NaN], -Infinity], [[-Infinity, NaN, -Infinity, -Infinity], -Infinity]] as const)
      for (const C of [1, 4]) {
        const x: Input = { shape: [1, 2, 2, C], values: values.flatMap((v) => new Array<number>(C).fill(v)), dtype: 'float32' };
        const [got] = await runOn('wasm', pool(2, 2, 'valid'), [x]);
        assert.deepEqual(Array.from(got!.values), new Array<number>(C).fill(want), `[${values}] over ${C} channel(s)`);
      }
    // -0 before +0 stays -0; +0 before -0 stays +0 (the first of equal maxima).
    for (const [values, negative] of [[[-1, -0, 0, -2], true], [[-1, 0, -0, -2], false]] as const) {
      const [got] = await runOn('wasm', pool(2, 2, 'valid'), [{ shape: [1, 2, 2, 4], values: values.flatMap((v) => [v, v, v, v]), dtype: 'float32' }]);
      assert.ok(Array.from(got!.values).every((v) => v === 0 && Object.is(v, -0) === negative), `[${values}]: ${Array.from(got!.values)}`);
    }
  });

  it('window sizes, strides (overlapping too), same/valid/numeric padding, rounding, specials: same bits as cpu', async () => {
    const windows: [number | [number, number], number | [number, number]][] = [[2, 2], [3, 1], [3, 2], [[2, 3], [1, 2]], [1, 1]];
    for (const xs of [[1, 6, 6, 1], [2, 7, 5, 3], [3, 8, 9, 16]])
      for (const [fs, s] of windows)
        for (const p of ['valid', 'same', 1] as Pad[]) {
          await assertSameBits(`x [${xs}] filter ${fs} strides ${s} pad ${p}`, pool(fs, s, p), F(3, xs));
          await assertSameBits(`x [${xs}] filter ${fs} strides ${s} pad ${p}, specials`, pool(fs, s, p), withSpecials(4, xs));
        }
    await assertSameBits("'ceil' rounding", pool(3, 2, 1, 'ceil'), withSpecials(5, [2, 8, 8, 3]));
  });

  it('the SIMD route: whole 2x2 windows over a multiple of 4 channels, odd sizes leaving a row and a column out, specials', async () => {
    for (const xs of [[1, 2, 2, 4], [3, 26, 26, 16], [2, 7, 9, 8], [1, 4, 6, 12]]) await assertSameBits(`x [${xs}]`, pool(2, 2, 'valid'), withSpecials(6, xs));
  });

  it("keeps wasm's float32-only check and message", async () => {
    await runOn('wasm', () => tf.scalar(0), []);
    assert.throws(() => tf.maxPool(tf.zeros([1, 2, 2, 1], 'int32') as tf.Tensor4D, 2, 2, 'valid'), /Error in MaxPool: only float32 input is supported\. Got int32\./);
  });

  it('leaks nothing', async () => {
    await assertNoLeak(pool(2, 2, 'valid'), [F(1, [2, 4, 4, 4])]);
    await assertNoLeak(pool(3, 1, 'same'), [F(1, [1, 5, 5, 3])]);
  });
});
