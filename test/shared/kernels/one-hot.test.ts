// OneHot on wasm, replaced in src/shared/kernels (tfjs-backend-wasm 4.22's writes int32 bit patterns for
// float32), against tfjs-backend-cpu's kernel and against the definition written out here.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, I, runOn } from './helpers.js';

const oneHot = (depth: number, on: number, off: number, dtype: 'float32' | 'int32') => (i: tf.Tensor) => tf.oneHot(i, depth, on, off, dtype);

describe('wasm kernel OneHot (vs cpu)', () => {
  withBackend('wasm');

  it('float32 and int32, any on/off values, out-of-range indices, indices of any rank', async () => {
    const cases: [number[], number[], number, number, number][] = [
      [[0, 2, 1], [3], 3, 1, 0],
      [[1, 0, 4, -1], [4], 3, 0.9, 0.05], // 4 and -1 are out of range: rows of offValue
      [[0, 1, 2, 1, 0, 2], [2, 3], 3, 5, -1],
    ];
    for (const [ids, shape, depth, on, off] of cases)
      for (const dtype of ['float32', 'int32'] as const) {
        if (dtype === 'int32' && !Number.isInteger(on + off)) continue;
        await assertMatchesCpu(`ids [${ids}] depth ${depth} on ${on} off ${off} ${dtype}`, oneHot(depth, on, off, dtype), [I(ids, shape)]);
        const [got] = await runOn('wasm', oneHot(depth, on, off, dtype), [I(ids, shape)]);
        const want = ids.flatMap((v) => Array.from({ length: depth }, (_, d) => (d === v ? on : off)));
        assert.deepEqual(got!.shape, [...shape, depth]);
        assert.deepEqual(Array.from(got!.values), Array.from(dtype === 'float32' ? Float32Array.from(want) : want));
      }
  });

  it('leaks nothing', async () => {
    await assertNoLeak(oneHot(4, 1, 0, 'float32'), [I([0, 3, 1])]);
  });
});
