// UnsortedSegmentSum on wasm (built in src/shared/kernels on ScatterNd) against tfjs-backend-cpu's own
// kernel, and against sums written out here.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { assertClose } from '../../helpers/assert.js';
import { useBackend, withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, F, I, kernel, runOn, type Input } from './helpers.js';

const segmentSum = (numSegments: number) => (x: tf.Tensor, segmentIds: tf.Tensor) => kernel('UnsortedSegmentSum', { x, segmentIds }, { numSegments });

/** The sums by definition: row i of x (rows of `row` values) added into segment ids[i], if in range. */
function bySegments(x: Input, ids: number[], numSegments: number): Float32Array {
  const row = x.values.length / ids.length;
  const out = new Float64Array(numSegments * row);
  ids.forEach((s, i) => {
    if (s >= 0 && s < numSegments) for (let j = 0; j < row; j++) out[s * row + j] += x.values[i * row + j]!;
  });
  return Float32Array.from(out);
}

describe('wasm kernel UnsortedSegmentSum (vs cpu)', () => {
  withBackend('wasm');

  it('rows of any shape, duplicate ids and empty segments', async () => {
    const cases: [number[], number[], number][] = [
      [[5], [1, 0, 1, 3, 1], 4],
      [[6, 3], [4, 4, 0, 2, 4, 0], 6],
      [[4, 2, 3], [2, 2, 0, 1], 3],
      [[7, 5], [0, 0, 0, 0, 0, 0, 0], 1],
      [[3, 4], [0, 1, 2], 3],
    ];
    for (const [shape, ids, n] of cases) {
      const x = F(3, shape);
      await assertMatchesCpu(`x [${shape}] ids [${ids}] numSegments ${n}`, segmentSum(n), [x, I(ids)]);
      const [got] = await runOn('wasm', segmentSum(n), [x, I(ids)]);
      assert.deepEqual(got!.shape, [n, ...shape.slice(1)]);
      assertClose(got!.values, bySegments(x, ids, n), { rtol: 1e-6, atol: 1e-6 }, `ids [${ids}]: duplicates accumulate`);
    }
  });

  it('drops out-of-range ids, as cpu does (and writes nothing outside its output)', async () => {
    for (const ids of [[-1, 0, 5, 2, 1000000, -1000000], [3, 3, -2, 7, 9, 4], [2, 0, 1, 1, 0, -1]]) {
      const x = F(4, [6, 3]);
      await assertMatchesCpu(`ids [${ids}]`, segmentSum(3), [x, I(ids)]);
      const [got] = await runOn('wasm', segmentSum(3), [x, I(ids)]);
      assertClose(got!.values, bySegments(x, ids, 3), { rtol: 1e-6, atol: 1e-6 }, `ids [${ids}] by definition`);
    }
    // A tensor made before and used after is untouched by the dropped ids.
    const guard = tf.tensor(Array.from({ length: 64 }, (_, i) => i));
    tf.tidy(() => segmentSum(2)(tf.ones([4, 16]), tf.tensor1d([2, -1, 3, 64], 'int32')).dataSync());
    assert.deepEqual(Array.from(guard.dataSync()), Array.from({ length: 64 }, (_, i) => i));
    guard.dispose();
  });

  it('no rows at all, int32 rows, and ids of rank 2 (indexing the leading axes of x, as in TensorFlow)', async () => {
    await assertMatchesCpu('no rows', segmentSum(2), [F(1, [0, 3]), I([])]);
    const ints: Input = { shape: [5, 2], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], dtype: 'int32' };
    // cpu's sum is float32 even for int32 rows; wasm keeps int32, with the same values.
    await assertMatchesCpu('int32 rows', (x, ids) => tf.cast(segmentSum(3)(x!, ids!), 'float32'), [ints, I([2, 0, 2, 1, 2])]);
    // cpu handles only 1-D ids, so the oracle is cpu on the flattened ids and rows.
    const x = F(5, [2, 3, 4]);
    const ids = I([0, 1, 0, 2, 2, 1], [2, 3]);
    await assertMatchesCpu('rank-2 ids', segmentSum(3), [x, ids], { oracle: (x, ids) => segmentSum(3)(tf.reshape(x!, [6, 4]), tf.reshape(ids!, [6])) });
  });

  it('gives a clear error for ids that do not match the leading axes of x', async () => {
    await useBackend('wasm');
    assert.throws(() => tf.tidy(() => segmentSum(2)(tf.ones([4, 3]), tf.tensor1d([0, 1, 1], 'int32'))), /UnsortedSegmentSum: segmentIds of shape \[3\] must match the leading axes of x of shape \[4,3\]/);
  });

  it('leaks no tensor or wasm buffer, with and without dropped ids', async () => {
    for (const ids of [[0, 1, 1, 0], [0, -1, 9, 1]])
      await assertNoLeak(segmentSum(2), [F(1, [4, 3]), I(ids)]);
  });
});
