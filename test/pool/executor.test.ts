// Executor selection: 'auto' picks the vectorized executor and falls back to the loop (once, saying
// why) for a model that fails under the batching rules; both executors give the same per-sample
// gradients (1e-5 relative) on the seed model, the MLP and a conv net.
import assert from 'node:assert/strict';
import { GradPool } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
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

  it("'auto' falls back to the loop for a model that reads tensor values, warning once with the reason", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 2; i++) {
        const pool = await GradPool.create({ model: fixture('faulty'), threads: 1, backend: 'cpu' });
        assert.equal(pool.executor, 'loop');
        await pool.close();
      }
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      const mine = warnings.filter((m) => m.startsWith("executor 'auto': the model cannot run vectorized ("));
      assert.equal(mine.length, 1, warnings.join('\n'));
      assert.match(mine[0]!, /using the per-sample loop$/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("'vectorized' refuses such a model at creation, naming the option", async () => {
    await assert.rejects(GradPool.create({ model: fixture('faulty'), threads: 1, backend: 'cpu', executor: 'vectorized' }), {
      code: 'ERR_INVALID_OPTION',
      message: /^executor: expected a model that runs under the batching rules \('auto' falls back to the loop\), got 'vectorized', but it fails: /,
    });
  });
});
