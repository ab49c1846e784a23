// Every accepted input form gives the same result, and the zero-copy input buffer skips the copy.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradPool } from '../../src/index.js';
import { randn } from '../helpers/data.js';
import { fixture, useBackend } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';

describe('pool inputs', function () {
  let pool: GradPool;
  const B = 10;
  const x = randn(B * 6, 61);
  const y = randn(B, 62);
  before(async () => {
    pool = await GradPool.create({ model: fixture('seed'), threads: 2, chunkSize: 3 });
    await useBackend('cpu');
  });
  after(() => pool?.close());

  it('accepts a flat Float32Array, an NDArray, a tf.Tensor and nested arrays alike', async () => {
    const ref = await pool.predict(x);
    const nested = Array.from({ length: B }, (_, i) => Array.from({ length: 3 }, (_, r) => [x[i * 6 + r * 2]!, x[i * 6 + r * 2 + 1]!]));
    const t = tf.tensor(x, [B, 3, 2]);
    for (const input of [{ shape: [B, 3, 2], data: x }, t, nested]) assert.ok(sameBytes((await pool.predict(input)).data, ref.data));
    t.dispose();
    const g1 = await pool.perSampleGrads(x, y);
    const g2 = await pool.perSampleGrads(nested, Array.from(y, (v) => [v]));
    assert.ok(sameBytes(g1.grads.W!.data, g2.grads.W!.data));
  });

  it('reads a zero-copy input buffer in place and reuses shared memory across calls', async () => {
    const ref = await pool.gradient(x, y);
    const allocs = pool.stats().sharedAllocations;
    const xb = pool.inputBuffer(B);
    const yb = pool.targetBuffer(B);
    xb.set(x);
    yb.set(y);
    const g = await pool.gradient(xb, yb);
    assert.ok(sameBytes(g.grads.W!.data, ref.grads.W!.data));
    for (let i = 0; i < 5; i++) await pool.gradient(x.subarray(0, 6 * (i + 1)), y.subarray(0, i + 1)); // smaller batches fit
    assert.equal(pool.stats().sharedAllocations, allocs, 'no new shared buffers for batches that fit');
  });

  it('returns fresh arrays that later calls do not overwrite', async () => {
    const a = await pool.predict(x);
    const copy = a.data.slice();
    await pool.predict(randn(B * 6, 99));
    assert.ok(sameBytes(a.data, copy));
  });
});
