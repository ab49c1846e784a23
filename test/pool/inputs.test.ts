// Every accepted input form gives the same result, the zero-copy input buffer skips the copy, and
// an input that cannot be read (a disposed tensor, a value float32 cannot hold) is refused by name.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradPool, sgd, type NDArray } from '../../src/index.js';
import { randn } from '../helpers/data.js';
import { fixture, useBackend } from '../helpers/env.js';
import { rejectsExactly, sameBytes, throwsExactly } from '../helpers/assert.js';

/** Every parameter's bytes, to compare before and after a rejected call. */
const paramBytes = (p: Record<string, NDArray>) => Object.entries(p).map(([k, v]) => [k, Array.from(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength))]);

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

  it('accepts every numeric typed array, and {shape, data} with typed or plain-number data, converting them to float32', async () => {
    // Small integers are exact in every type, so each conversion must give the Float32Array's bits.
    const ints = Float32Array.from({ length: B * 6 }, (_, i) => (i * 7) % 11);
    const ref = await pool.predict(ints);
    const ctors = [Float64Array, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array];
    for (const C of ctors) assert.ok(sameBytes((await pool.predict(C.from(ints))).data, ref.data), C.name);
    for (const data of [Float64Array.from(ints), Array.from(ints), Int32Array.from(ints)]) assert.ok(sameBytes((await pool.predict({ shape: [B, 3, 2], data })).data, ref.data), data.constructor.name);
    const t = tf.tensor(Int32Array.from(ints), [B, 3, 2], 'int32');
    assert.ok(sameBytes((await pool.predict(t)).data, ref.data), 'an int32 tensor');
    t.dispose();
    // Float64 values that are float32 values convert exactly: the gradient matches bit for bit.
    const g32 = await pool.gradient(x, y);
    const g64 = await pool.gradient(Float64Array.from(x), { shape: [B, 1], data: Array.from(y) });
    assert.ok(sameBytes(g64.grads.W!.data, g32.grads.W!.data));
    assert.equal(g64.loss, g32.loss);
  });

  it('setParams accepts the same forms: a Float64Array and {shape, data: number[]}', async () => {
    const before = pool.getParams();
    pool.setParams({ b: new Float64Array([0.5]), W: { shape: [3, 2, 1], data: [1, 2, 3, 4, 5, 6] } });
    const p = pool.getParams();
    assert.deepEqual(Array.from(p.b!.data), [0.5]);
    assert.deepEqual(Array.from(p.W!.data), [1, 2, 3, 4, 5, 6]);
    pool.setParams(before);
  });

  it('refuses values float32 cannot hold, non-numbers in data, bigint arrays and bad lengths by name', async () => {
    const big = Float64Array.from(x);
    big[4] = 1e39;
    await rejectsExactly(pool.predict(big), 'x: expected values within float32 range (|v| <= 3.4028234663852886e38), got 1e+39 at flat index 4', 'ERR_INVALID_OPTION');
    await rejectsExactly(pool.predict({ shape: [1, 3, 2], data: [1, 2, 3, -4e38, 5, 6] }), 'x.data: expected values within float32 range (|v| <= 3.4028234663852886e38), got -4e+38 at flat index 3');
    await rejectsExactly(pool.predict([[[1, 2], [3, 4], [5, 1e300]]]), 'x: expected values within float32 range (|v| <= 3.4028234663852886e38), got 1e+300 at flat index 5');
    await rejectsExactly(pool.predict({ shape: [1, 3, 2], data: [1, 2, '3', 4, 5, 6] as never }), 'x.data[2]: expected a number, got "3"');
    await rejectsExactly(pool.predict({ shape: [1, 3, 2], data: 'abcdef' as never }), 'x.data: expected a typed array or an array of numbers, got "abcdef"');
    await rejectsExactly(pool.predict({ shape: [1, 3, 2.5], data: [] } as never), 'x.shape: expected an array of non-negative integers, got [1,3,2.5]');
    await rejectsExactly(pool.predict({ shape: [2, 3, 2], data: new Float64Array(6) }), 'x.data: expected 12 values for shape [2,3,2], got 6');
    await rejectsExactly(pool.predict(new BigInt64Array(6) as never), 'x: expected a typed array (Float32Array, Float64Array, Int32Array, Uint8Array, …), tf.Tensor, {shape, data} or nested number arrays, got a BigInt64Array', 'ERR_INVALID_ARG_TYPE');
    await rejectsExactly(pool.predict(new Int32Array(7)), 'x: expected a flat Int32Array whose length is a multiple of 6 (shape [B,3,2]), got length 7');
    throwsExactly(() => pool.setParams({ b: new Uint8Array(2) }), 'params.b: expected a flat Uint8Array of length 1 (shape [1]), got length 2');
  });

  it('names a disposed tensor in x, y or setParams and changes nothing', async () => {
    const opt = sgd({ learningRate: 0.1 });
    const before = paramBytes(pool.getParams());
    const dead = tf.tensor(x, [B, 3, 2]);
    dead.dispose();
    await rejectsExactly(pool.predict(dead), 'x: expected a live tf.Tensor, got a disposed one', 'ERR_INVALID_ARG_TYPE');
    const deadY = tf.tensor(y, [B, 1]);
    deadY.dispose();
    await rejectsExactly(pool.step(x, deadY, { optimizer: opt }), 'y: expected a live tf.Tensor, got a disposed one');
    const deadW = tf.zeros([3, 2, 1]);
    deadW.dispose();
    throwsExactly(() => pool.setParams({ b: [1], W: deadW }), 'params.W: expected a live tf.Tensor, got a disposed one');
    assert.deepEqual(paramBytes(pool.getParams()), before);
    assert.equal(pool.getOptimizerState(opt).step, 0);
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

  it("takes a copy: false result as the next call's input, though that call writes the same memory", async () => {
    // W's per-sample gradients are [B,3,2,1]: six values a sample, the seed model's input size. Such a
    // source is copied before the tasks are posted (src/staging.ts; its unit test checks that choice).
    const { grads } = await pool.perSampleGrads(x, y, { copy: false });
    const fed = grads.W!.data; // a view of the region perSampleGrads writes
    const copy = fed.slice();
    const a = await pool.perSampleGrads(fed, y);
    const b = await pool.perSampleGrads(copy, y);
    assert.ok(sameBytes(a.grads.W!.data, b.grads.W!.data));
    assert.ok(sameBytes(a.losses.data, b.losses.data));
  });

  it('inputs that fail to stage after posting fail the call with that error; the waiting workers are released', async () => {
    // Staging cannot fail on a readable input (it is read before posting); stand in a failing copy.
    type Run = (task: unknown, ctl: Int32Array, units: number, op: string, nonFinite?: unknown, feed?: (ctl: Int32Array) => void) => Promise<unknown>;
    const dispatcher = (pool as unknown as { core: { dispatcher: { runClaimed: Run } } }).core.dispatcher;
    const runClaimed = dispatcher.runClaimed;
    const ref = await pool.perSampleGrads(x, y);
    dispatcher.runClaimed = function (task, ctl, units, op, nonFinite, feed) {
      assert.ok(feed, 'the inputs are staged after posting');
      return runClaimed.call(this, task, ctl, units, op, nonFinite, () => {
        throw new Error('staging broke');
      });
    };
    try {
      await assert.rejects(pool.perSampleGrads(x, y), { message: 'staging broke' });
    } finally {
      dispatcher.runClaimed = runClaimed;
    }
    const again = await pool.perSampleGrads(x, y); // no worker is left waiting for inputs
    assert.ok(sameBytes(again.grads.W!.data, ref.grads.W!.data));
  });

  it('returns fresh arrays that later calls do not overwrite', async () => {
    const a = await pool.predict(x);
    const copy = a.data.slice();
    await pool.predict(randn(B * 6, 99));
    assert.ok(sameBytes(a.data, copy));
  });
});
