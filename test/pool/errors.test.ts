// Every bad input gets an error that names the argument, with expected and actual values; nothing
// is lost after a failed call.
import assert from 'node:assert/strict';
import { GradPool, GradPoolError } from '../../src/index.js';
import { modelHref } from '../../src/model/load.js';
import { randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';

describe('pool errors', function () {
  let pool: GradPool;
  before(async () => (pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' })));
  after(() => pool?.close());

  const x8 = () => new Float32Array(8 * 6).fill(0.25);
  const y8 = () => new Float32Array(8);

  it('rejects an input of the wrong shape, naming x with expected and actual shapes', async () => {
    await assert.rejects(pool.predict({ shape: [8, 3], data: new Float32Array(24) }), { code: 'ERR_SHAPE', message: 'x: expected shape [B,3,2], got [8,3]' });
    await assert.rejects(pool.predict([[1, 2, 3]]), { message: 'x: expected shape [B,3,2], got [1,3]' });
    await assert.rejects(pool.predict(new Float32Array(7)), { message: 'x: expected a flat Float32Array whose length is a multiple of 6 (shape [B,3,2]), got length 7' });
  });

  it('rejects a target of the wrong shape, naming y', async () => {
    await assert.rejects(pool.gradient(x8(), { shape: [8, 2], data: new Float32Array(16) }), { message: 'y: expected shape [B,1], got [8,2]' });
  });

  it('rejects a batch-size mismatch between x and y', async () => {
    await assert.rejects(pool.perSampleGrads(x8(), new Float32Array(6)), { code: 'ERR_BATCH_MISMATCH', message: 'y: expected batch size 8 (from x), got 6' });
  });

  it('rejects ragged nested arrays, naming the index', async () => {
    await assert.rejects(pool.predict([[[1, 2], [3, 4], [5, 6]], [[1, 2], [3], [5, 6]]]), { message: 'x[1][1]: expected length 2 (a rectangular array), got length 1' });
    await assert.rejects(pool.predict([[[1, 2], [3, 4], [5, 'a']]] as never), { message: 'x[0][2][1]: expected a number, got "a"' });
    await assert.rejects(pool.predict('abc' as never), { message: 'x: expected a typed array (Float32Array, Float64Array, Int32Array, Uint8Array, …), tf.Tensor, {shape, data} or nested number arrays, got "abc"' });
  });

  it('returns empty results for an empty batch', async () => {
    const p = await pool.predict(new Float32Array(0));
    assert.deepEqual(p.shape, [0, 1]);
    assert.equal(p.data.length, 0);
    const g = await pool.perSampleGrads([], []);
    assert.deepEqual(g.losses.shape, [0]);
    assert.deepEqual(g.grads.W!.shape, [0, 6, 1]);
    const m = await pool.gradient(new Float32Array(0), new Float32Array(0));
    assert.equal(m.batch, 0);
    assert.ok(Number.isNaN(m.loss));
    assert.deepEqual(Array.from(m.grads.W!.data), [0, 0, 0, 0, 0, 0]);
  });

  it('names the sample whose forward pass threw, and leaves parameters untouched', async () => {
    const before = pool.getParams();
    const x = x8();
    x[5 * 6] = 666; // sample 5
    await assert.rejects(pool.gradient(x, y8()), { code: 'ERR_SAMPLE_FAILED', message: 'gradient: sample 5: bad sample' });
    await assert.rejects(pool.predict(x), { message: 'predict: sample 5: bad sample' });
    assert.deepEqual(pool.getParams(), before);
    const ok = await pool.gradient(x8(), y8());
    assert.ok(Number.isFinite(ok.loss));
  });

  it('validates setParams fully before changing anything', () => {
    const before = pool.getParams();
    assert.throws(() => pool.setParams({ W: new Float32Array(6), c: [1] } as never), { message: "params.c: expected one of the model's parameters (W, b), got an unknown name" });
    assert.throws(() => pool.setParams({ W: { shape: [3, 2], data: new Float32Array(6) } }), { message: 'params.W: expected shape [6,1], got [3,2]' });
    assert.throws(() => pool.setParams({ b: [NaN] }), { code: 'ERR_NON_FINITE', message: 'params.b: expected finite numbers, got a non-finite value at flat index 0' });
    assert.deepEqual(pool.getParams(), before);
  });

  it('rejects calls after close()', async () => {
    const p = await GradPool.create({ model: fixture('seed'), threads: 1, backend: 'cpu' });
    await p.close();
    await assert.rejects(p.predict(randn(6, 1)), { code: 'ERR_POOL_CLOSED', message: 'predict: the pool is closed' });
    await assert.rejects(p.gradient(randn(6, 1), [[0]]), { message: 'gradient: the pool is closed' });
    assert.throws(() => p.setParams({}), { message: 'setParams: the pool is closed' });
  });
});

describe('pool creation errors', function () {
  it('rejects invalid threads, naming the option', async () => {
    await assert.rejects(GradPool.create({ model: fixture('seed'), threads: 0 }), { code: 'ERR_INVALID_OPTION', message: 'threads: expected a positive integer, got 0' });
    await assert.rejects(GradPool.create({ model: fixture('seed'), threads: 1.5 }), { message: 'threads: expected a positive integer, got 1.5' });
    await assert.rejects(GradPool.create({ model: fixture('seed'), threads: '2' as never }), { message: 'threads: expected a positive integer, got "2"' });
  });

  it('rejects other invalid options, naming each', async () => {
    await assert.rejects(GradPool.create({ model: fixture('seed'), chunkSize: -1 }), { message: 'chunkSize: expected a positive integer, got -1' });
    await assert.rejects(GradPool.create({ model: fixture('seed'), seed: 0.5 }), { message: 'seed: expected an integer, got 0.5' });
    await assert.rejects(GradPool.create({ model: fixture('seed'), executor: 'magic' as never }), { message: 'executor: expected one of auto, vectorized, loop, got "magic"' });
    await assert.rejects(GradPool.create({ model: fixture('seed'), thread: 2 } as never), { message: 'options.thread: unknown field (expected one of: model, threads, backend, backendModule, seed, chunkSize, executor, resourceLimits, randomness, loss, replay, callTimeoutMs, ensemble, cluster)' });
    await assert.rejects(GradPool.create({} as never), { message: 'model: expected a module path or URL, got undefined' });
  });

  it('names a missing model module and the cause', async () => {
    const href = modelHref(fixture('does-not-exist'));
    await assert.rejects(GradPool.create({ model: fixture('does-not-exist'), threads: 1 }), (e: GradPoolError) => {
      assert.equal(e.code, 'ERR_MODEL_LOAD');
      assert.ok(e.message.startsWith(`model: failed to load ${href}: Cannot find module`), e.message);
      return true;
    });
  });

  it('names a model module that throws on load, with the cause', async () => {
    const href = modelHref(fixture('throws-on-load'));
    await assert.rejects(GradPool.create({ model: fixture('throws-on-load'), threads: 1 }), { code: 'ERR_MODEL_LOAD', message: `model: failed to load ${href}: cannot initialise this model` });
  });

  it('rejects a module that does not export a defineModel result', async () => {
    const href = modelHref(fixture('not-a-model'));
    await assert.rejects(GradPool.create({ model: fixture('not-a-model'), threads: 1 }), { code: 'ERR_MODEL_INVALID', message: `model.default export: expected the result of defineModel(...) in ${href}, got {}` });
  });

  it('rejects a loss that is not a scalar', async () => {
    await assert.rejects(GradPool.create({ model: fixture('bad-loss'), threads: 1, backend: 'cpu' }), { code: 'ERR_MODEL_INVALID', message: 'model.loss: expected to return a scalar tensor, got shape [2]' });
  });

  it('names a backend that does not exist', async () => {
    await assert.rejects(GradPool.create({ model: fixture('seed'), threads: 1, backend: 'nonesuch' }), { code: 'ERR_BACKEND', message: /^backend: cannot initialise 'nonesuch': no such tfjs backend is registered \(registered: cpu\)$/ });
    await assert.rejects(GradPool.create({ model: fixture('seed'), threads: 1, backend: 'tensorflow', backendModule: '@tensorflow/not-installed' }), {
      code: 'ERR_BACKEND',
      message: /^backend: cannot import module '@tensorflow\/not-installed' for backend 'tensorflow': Cannot find package/,
    });
  });
});
