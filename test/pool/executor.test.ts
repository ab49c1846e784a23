// Executor selection: 'auto' picks the vectorized executor and falls back to the loop (once, saying
// why) for a model that fails under the batching rules; both executors give the same per-sample
// gradients (1e-5 relative) on the seed model, the MLP and a conv net.
import assert from 'node:assert/strict';
import { GradPool, sgd } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture, warningsDuring } from '../helpers/env.js';
import { assertClose } from '../helpers/assert.js';

describe('pool executors', function () {
  const cases = [
    { name: 'seed', B: 40, x: randn(40 * 6, 71), y: randn(40, 72) },
    { name: 'mlp', B: 40, x: randn(40 * 5, 73), y: oneHot(40, 3, 74) },
    { name: 'conv', B: 20, x: randn(20 * 64, 75), y: oneHot(20, 3, 76) },
  ];
  for (const c of cases) {
    it(`${c.name}: 'auto' runs vectorized and matches the loop executor (per-sample grads, predict)`, async () => {
      const results = [];
      for (const executor of ['auto', 'loop'] as const) {
        const pool = await GradPool.create({ model: fixture(c.name), threads: 2, backend: 'cpu', seed: 3, executor, chunkSize: 8 });
        try {
          assert.equal(pool.executor, executor === 'auto' ? 'vectorized' : 'loop');
          results.push({ psg: await pool.perSampleGrads(c.x, c.y), pred: await pool.predict(c.x), mean: await pool.gradient(c.x, c.y) });
        } finally {
          await pool.close();
        }
      }
      const [v, l] = results;
      assertClose(v!.pred.data, l!.pred.data, { rtol: 1e-5, atol: 1e-6 }, 'predict');
      assertClose(v!.psg.losses.data, l!.psg.losses.data, { rtol: 1e-5, atol: 1e-6 }, 'losses');
      for (const k of Object.keys(l!.psg.grads)) {
        assertClose(v!.psg.grads[k]!.data, l!.psg.grads[k]!.data, { rtol: 1e-5, atol: 1e-6 }, `grads.${k}`);
        assertClose(v!.mean.grads[k]!.data, l!.mean.grads[k]!.data, { rtol: 1e-5, atol: 1e-6 }, `mean grads.${k}`);
      }
    });
  }

  it('chooses the chunk size from the batch and the model, never the threads: 32 for the loop; B/8 vectorized, memory-capped', async () => {
    const pool = await GradPool.create({ model: fixture('seed'), threads: 1 });
    const mnist = await GradPool.create({ model: fixture('../../../examples/mnist/model'), threads: 2 });
    const loop = await GradPool.create({ model: fixture('seed'), threads: 1, executor: 'loop' });
    try {
      assert.equal(pool.executor, 'vectorized');
      assert.deepEqual([10, 4096, 65536].map((b) => pool.chunkSizeFor(b)), [32, 512, 8192]);
      assert.deepEqual([10, 4096].map((b) => mnist.chunkSizeFor(b)), [32, 64]); // 64 × 101,770 floats ≈ 26 MB
      assert.equal(loop.chunkSizeFor(4096), 32);
    } finally {
      await Promise.all([pool.close(), mnist.close(), loop.close()]);
    }
  });

  it("'auto' falls back to the loop for a model that reads tensor values, warning once per pool with the reason", async () => {
    const x = randn(8 * 6, 3);
    const { warnings } = await warningsDuring(async () => {
      for (let i = 0; i < 2; i++) {
        const pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu' });
        assert.equal(pool.executor, 'loop');
        await pool.predict(x);
        await pool.perSampleGrads(x, randn(8, 4));
        await pool.close();
      }
    });
    const mine = warnings.filter((m) => m.startsWith("executor 'auto': the model cannot run vectorized ("));
    assert.equal(mine.length, 2, warnings.join('\n'));
    for (const m of mine) assert.match(m, /^executor 'auto': the model cannot run vectorized \(vectorized: the model read the values of a per-sample tensor.*\); using the per-sample loop$/);
  });

  it('a model tfjs cannot differentiate is not blamed on vectorization: gradient calls name the op, predict works', async () => {
    const x = randn(4 * 3, 5);
    const y = randn(4, 6);
    const expected =
      "model: tfjs has no gradient for 'Greater' (tf.greater, used by tf.where's condition), so the loss cannot be differentiated " +
      'with respect to the parameters; plain tf.grads fails the same way. Compute it from values that do not depend on the ' +
      'parameters, or use ops that have gradients (e.g. tf.relu, tf.maximum, tf.step); predict and evaluate still work';
    for (const executor of ['auto', 'loop'] as const) {
      const { warnings } = await warningsDuring(async () => {
        const pool = await GradPool.create({ model: fixture('thresholded'), threads: 2, executor });
        try {
          assert.equal(pool.executor, executor === 'auto' ? 'vectorized' : 'loop');
          const before = pool.getParams();
          await assert.rejects(pool.perSampleGrads(x, y), { code: 'ERR_MODEL_INVALID', message: `perSampleGrads: ${expected}` });
          await assert.rejects(pool.gradient(x, y), { code: 'ERR_MODEL_INVALID', message: `gradient: ${expected}` });
          await assert.rejects(pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }) }), { code: 'ERR_MODEL_INVALID', message: `step: ${expected}` });
          assert.deepEqual(pool.getParams(), before);
          const pred = await pool.predict(x);
          const W = before.W!.data;
          const b = before.b!.data[0]!;
          const want = [0, 1, 2, 3].map((i) => {
            const a = x[i * 3]! * W[0]! + x[i * 3 + 1]! * W[1]! + x[i * 3 + 2]! * W[2]! + b;
            return a > 0 ? a : a * 0.1;
          });
          assertClose(pred.data, want, { rtol: 1e-5, atol: 1e-6 }, 'predict');
        } finally {
          await pool.close();
        }
      });
      assert.deepEqual(warnings.filter((m) => /vectoriz/.test(m)), [], `${executor}: ${warnings.join('\n')}`);
    }
  });

  it("'vectorized' refuses such a model at creation, naming the option", async () => {
    await assert.rejects(GradPool.create({ model: fixture('faulty'), threads: 1, backend: 'cpu', executor: 'vectorized' }), {
      code: 'ERR_INVALID_OPTION',
      message: /^executor: expected a model that runs under the batching rules \('auto' falls back to the loop\), got 'vectorized', but it fails: /,
    });
  });
});
