// A failed step leaves parameters and optimizer state bit-identical: non-finite gradients (with the
// 'throw' and 'skip-step' policies), a worker crash mid-step, and invalid options.
import assert from 'node:assert/strict';
import { adam, GradPool, sgd } from '../../src/index.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';
import { seedBatch } from '../helpers/data.js';

describe('train: failures lose nothing', function () {
  let pool: GradPool;
  const B = 12;
  const clean = () => seedBatch(B, Math.cos);
  const y = new Float32Array(B).fill(0.3);
  const opt = adam({ learningRate: 0.05 });
  const snapshot = () => ({
    params: Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data))),
    state: pool.getOptimizerState(opt),
  });
  const assertUnchanged = (a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>) => {
    assert.ok(sameBytes(a.params, b.params), 'parameters changed');
    assert.equal(a.state.step, b.state.step);
    for (const k of Object.keys(a.state.slots)) assert.ok(sameBytes(a.state.slots[k]!, b.state.slots[k]!), `optimizer slot ${k} changed`);
  };

  before(async function () {
    pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' });
    for (let s = 0; s < 3; s++) await pool.step(clean(), y, { optimizer: opt }); // non-trivial optimizer state
  });
  after(() => pool?.close());

  it("'throw' (the default) names the sample with a non-finite gradient and changes nothing", async () => {
    const before = snapshot();
    const x = clean();
    x[7 * 6] = 555;
    await assert.rejects(pool.step(x, y, { optimizer: opt }), {
      code: 'ERR_NON_FINITE_GRADIENT',
      message: 'step: sample 7 has a non-finite loss or gradient; parameters and optimizer state are unchanged',
    });
    assertUnchanged(before, snapshot());
  });

  it("'skip-step' skips the update and reports it", async () => {
    const before = snapshot();
    const x = clean();
    x[2 * 6] = 555;
    const r = await pool.step(x, y, { optimizer: opt, nonFinite: 'skip-step' });
    assert.equal(r.skipped, true);
    assert.equal(r.step, before.state.step);
    assertUnchanged(before, snapshot());
  });

  it('a worker crash mid-step rejects the step and changes nothing; the next step works', async () => {
    const before = snapshot();
    const x = clean();
    x[5 * 6] = 777;
    await assert.rejects(pool.step(x, y, { optimizer: opt }), { code: 'ERR_WORKER_CRASHED', message: /^step: a worker crashed \(worker exited with code: 3\)/ });
    assertUnchanged(before, snapshot());
    const r = await pool.step(clean(), y, { optimizer: opt });
    assert.equal(r.step, before.state.step + 1);
  });

  it('a learning-rate schedule that fails rejects the step before anything changes', async () => {
    const before = snapshot();
    const bad = sgd({ learningRate: (s: number) => (s > 0 ? NaN : 1) });
    await assert.rejects(pool.step(clean(), y, { optimizer: bad }), { message: 'optimizer.learningRate: schedule returned NaN at step 1, expected a finite number >= 0' });
    assertUnchanged(before, snapshot());
  });

  it('validates step options, naming each field', async () => {
    const x = clean();
    await assert.rejects(pool.step(x, y, {} as never), { message: 'optimizer: expected an optimizer such as sgd({ learningRate: 0.1 }), got undefined' });
    await assert.rejects(pool.step(x, y, { optimizer: opt, dp: { maxGradNorm: 0, noiseMultiplier: 1 } }), { message: 'dp.maxGradNorm: expected a positive number, got 0' });
    await assert.rejects(pool.step(x, y, { optimizer: opt, dp: { maxGradNorm: 1, noiseMultiplier: -1 } }), { message: 'dp.noiseMultiplier: expected a number >= 0, got -1' });
    await assert.rejects(pool.step(x, y, { optimizer: opt, nonFinite: 'ignore' as never }), { message: 'nonFinite: expected \'throw\' or \'skip-step\', got "ignore"' });
    await assert.rejects(pool.step(x, y, { optimizer: opt, lr: 1 } as never), { message: 'options.lr: unknown field (expected one of: optimizer, dp, nonFinite, update, signal)' });
    await assert.rejects(pool.step(new Float32Array(0), new Float32Array(0), { optimizer: opt }), { message: 'x: expected at least one sample (an empty batch is only meaningful with dp), got an empty batch' });
  });

  it('names the non-finite sample under the vectorized executor too (its fast sum path falls back to find it)', async () => {
    const mlp = await GradPool.create({ model: fixture('mlp'), threads: 2, chunkSize: 4 });
    try {
      assert.equal(mlp.executor, 'vectorized');
      const before = Float32Array.from(Object.values(mlp.getParams()).flatMap((p) => Array.from(p.data)));
      const x = Float32Array.from({ length: 12 * 5 }, (_, i) => Math.sin(i));
      const y = new Float32Array(12 * 3).map((_, i) => (i % 3 === 0 ? 1 : 0));
      x[9 * 5 + 2] = NaN;
      await assert.rejects(mlp.step(x, y, { optimizer: sgd({ learningRate: 0.1 }) }), { message: 'step: sample 9 has a non-finite loss or gradient; parameters and optimizer state are unchanged' });
      await assert.rejects(mlp.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1 } }), { message: /^step: sample 9 / });
      assert.ok(sameBytes(before, Float32Array.from(Object.values(mlp.getParams()).flatMap((p) => Array.from(p.data)))));
    } finally {
      await mlp.close();
    }
  });

  it('takes a DP step on an empty (Poisson) batch: noise only', async () => {
    const before = snapshot();
    const r = await pool.step(new Float32Array(0), new Float32Array(0), { optimizer: opt, dp: { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 8 } });
    assert.equal(r.batch, 0);
    assert.ok(Number.isNaN(r.loss));
    assert.ok(r.gradNorm > 0, 'noise was applied');
    assert.ok(!sameBytes(before.params, snapshot().params));
  });
});
