// The SIMD finiteness scan on wasm's heap (heapAllFinite) against the JavaScript scan (allFinite) it
// replaces: every special value at every position of short arrays (the SIMD body, its tail, both),
// at sampled positions of long ones, at unaligned offsets, and views that are not on the heap.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { heapAllFinite, heapScanner } from '../../../src/shared/kernels/finite.js';
import { allFinite } from '../../../src/shared/reduce.js';
import { withBackend } from '../../helpers/env.js';
import { F } from './helpers.js';

const NON_FINITE = [NaN, Infinity, -Infinity];
const FINITE_EDGES = [0, -0, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38];

/** A wasm tensor holding `values` and its float32 view on the heap. */
function onHeap(values: Float32Array): { t: tf.Tensor; view: Float32Array } {
  const t = tf.tensor1d(values);
  const be = tf.backend() as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
  return { t, view: be.typedArrayFromHeap(t) };
}

describe('heapAllFinite (SIMD finiteness scan on the wasm heap)', () => {
  withBackend('wasm');

  it('runs as SIMD on this engine (else the checks below would only test the fallback)', () => {
    assert.ok(heapScanner(tf.backend()), 'no SIMD scanner for the wasm backend');
  });

  it('agrees with allFinite for every special value at every position, lengths 0-40', () => {
    for (let n = 0; n <= 40; n++) {
      const base = Float32Array.from(F(n, [n]).values, (v, i) => (i % 7 === 3 ? FINITE_EDGES[i % FINITE_EDGES.length]! : v));
      const cases = [base, ...NON_FINITE.flatMap((bad) => Array.from({ length: n }, (_, i) => Float32Array.from(base, (v, j) => (j === i ? bad : v))))];
      for (const c of cases) {
        const { t, view } = onHeap(c);
        assert.equal(heapAllFinite(tf.backend(), view), allFinite(c), `n=${n} [${c}]`);
        assert.equal(allFinite(c), c.every(Number.isFinite));
        t.dispose();
      }
    }
  });

  it('finds one bad value anywhere in 100k floats, and in unaligned subarrays', () => {
    const n = 100_003;
    const good = Float32Array.from(F(7, [n]).values);
    const { t, view } = onHeap(good);
    assert.equal(heapAllFinite(tf.backend(), view), true);
    for (const at of [0, 1, 15, 16, 63, 64, 50_000, n - 17, n - 1]) {
      for (const bad of NON_FINITE) {
        view[at] = bad;
        assert.equal(heapAllFinite(tf.backend(), view), false, `${bad} at ${at}`);
        for (const off of [1, 2, 3]) assert.equal(heapAllFinite(tf.backend(), view.subarray(off)), at < off, `${bad} at ${at}, from ${off}`);
        view[at] = good[at]!;
      }
    }
    assert.equal(heapAllFinite(tf.backend(), view), true);
    t.dispose();
  });

  it('a view that is not on the heap is scanned in JavaScript, with the same answers', () => {
    const a = Float32Array.from(F(3, [100]).values);
    assert.equal(heapAllFinite(tf.backend(), a), true);
    a[77] = -Infinity;
    assert.equal(heapAllFinite(tf.backend(), a), false);
  });
});
