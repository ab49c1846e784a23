// A non-finite sample is never zeroed silently, and when several samples fail the error names the
// lowest failing one, whichever worker got there first.
import assert from 'node:assert/strict';
import { mergeClaimed } from '../../src/dispatch.js';
import { errors } from '../../src/errors.js';
import { GradPool, sgd } from '../../src/index.js';
import type { TaskResult } from '../../src/shared/protocol.js';
import { fixture } from '../helpers/env.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';
import { seedBatch } from '../helpers/data.js';

// The faulty fixture: a sample whose first input is 555 gives a NaN loss and gradient, 666 throws, 777 kills its worker.
const B = 12;
const clean = () => seedBatch(B, Math.cos);
const y = new Float32Array(B).fill(0.3);
const withSamples = (marks: Record<number, number>) => {
  const x = clean();
  for (const [i, v] of Object.entries(marks)) x[Number(i) * 6] = v;
  return x;
};
const flatParams = (pool: GradPool) => Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data)));

describe('pool: non-finite samples in gradient()', function () {
  let pool: GradPool;
  before(async () => {
    pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' });
  });
  after(() => pool?.close());

  it("throws by default, naming the sample (it used to return finite gradients with the sample zeroed and the sum divided by B)", async () => {
    await rejectsExactly(
      pool.gradient(withSamples({ 7: 555 }), y),
      "gradient: sample 7 has a non-finite loss or gradient; pass nonFinite: 'propagate' to get the non-finite mean instead",
      'ERR_NON_FINITE_GRADIENT',
    );
  });

  it("'propagate' returns the mean over every sample, non-finite values included, as a batched framework would", async () => {
    const x = withSamples({ 7: 555 });
    const g = await pool.gradient(x, y, { nonFinite: 'propagate' });
    assert.ok(Number.isNaN(g.loss));
    // The oracle: the float64 mean of the pool's own per-sample gradients, element by element.
    const ps = await pool.perSampleGrads(x, y);
    for (const [name, grad] of Object.entries(g.grads)) {
      const per = ps.grads[name]!.data;
      const size = grad.data.length;
      assert.deepEqual(grad.shape, ps.grads[name]!.shape.slice(1));
      for (let k = 0; k < size; k++) {
        let s = 0;
        for (let i = 0; i < B; i++) s += per[i * size + k]!;
        assert.ok(Object.is(grad.data[k], Math.fround(s / B)), `${name}[${k}]: ${grad.data[k]} vs ${s / B}`);
      }
      assert.ok(grad.data.some((v) => !Number.isFinite(v)), `${name}: the NaN sample was left out`);
    }
  });

  it("'propagate' on a finite batch is the ordinary mean, bit for bit", async () => {
    const a = await pool.gradient(clean(), y);
    const b = await pool.gradient(clean(), y, { nonFinite: 'propagate' });
    assert.equal(a.loss, b.loss);
    for (const n of Object.keys(a.grads)) assert.ok(sameBytes(a.grads[n]!.data, b.grads[n]!.data), n);
  });

  it('validates the option, naming it', async () => {
    await rejectsExactly(pool.gradient(clean(), y, { nonFinite: 'skip-step' as never }), 'options.nonFinite: expected \'throw\' or \'propagate\', got "skip-step"');
  });
});

describe('pool: the lowest failing sample is reported, deterministically', function () {
  let pool: GradPool;
  before(async () => {
    pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' });
  });
  after(() => pool?.close());

  it('a non-finite sample before a throwing one is the one named (step and gradient)', async () => {
    const before = flatParams(pool);
    const x = withSamples({ 1: 555, 5: 666 });
    await rejectsExactly(pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }) }), 'step: sample 1 has a non-finite loss or gradient; parameters and optimizer state are unchanged', 'ERR_NON_FINITE_GRADIENT');
    await assert.rejects(pool.gradient(x, y), { code: 'ERR_NON_FINITE_GRADIENT', message: /^gradient: sample 1 has a non-finite loss or gradient/ });
    // A throwing sample before a non-finite one is named in turn; a thrown error is an error under any policy.
    await rejectsExactly(pool.step(withSamples({ 1: 666, 5: 555 }), y, { optimizer: sgd({ learningRate: 0.1 }) }), 'step: sample 1: bad sample', 'ERR_SAMPLE_FAILED');
    await rejectsExactly(pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), nonFinite: 'skip-step' }), 'step: sample 5: bad sample', 'ERR_SAMPLE_FAILED');
    assert.ok(sameBytes(before, flatParams(pool)));
  });

  it('a non-finite sample is named before a throw later in its own chunk, or in a later chunk of the same worker', async () => {
    const one = await GradPool.create({ model: fixture('faulty'), threads: 1, backend: 'cpu', chunkSize: 4, executor: 'loop' });
    try {
      const before = flatParams(one);
      for (const p of [pool, one]) {
        for (const samples of [{ 1: 555, 2: 666 }, { 1: 555, 6: 666 }] as Record<number, number>[]) {
          await rejectsExactly(p.step(withSamples(samples), y, { optimizer: sgd({ learningRate: 0.1 }) }), 'step: sample 1 has a non-finite loss or gradient; parameters and optimizer state are unchanged', 'ERR_NON_FINITE_GRADIENT');
          await assert.rejects(p.gradient(withSamples(samples), y), { code: 'ERR_NON_FINITE_GRADIENT', message: /^gradient: sample 1 has/ });
        }
      }
      assert.ok(sameBytes(before, flatParams(one)));
    } finally {
      await one.close();
    }
  });

  it('a throwing sample outranks a worker that crashes after it, on every run (the crash may or may not happen)', async () => {
    const before = flatParams(pool);
    for (let run = 0; run < 4; run++) await rejectsExactly(pool.step(withSamples({ 0: 666, 5: 777 }), y, { optimizer: sgd({ learningRate: 0.1 }) }), 'step: sample 0: bad sample', 'ERR_SAMPLE_FAILED');
    assert.ok(sameBytes(before, flatParams(pool)));
    await pool.step(clean(), y, { optimizer: sgd({ learningRate: 0.1 }) }); // the pool still works
  });

  it('merging: the lowest sample wins over a crash, and a non-finite sample below a thrown one wins when it is an error', () => {
    const info = { threadId: 1, numTensors: 0, backend: 'cpu' };
    const failed = (sample: number): PromiseSettledResult<TaskResult> => ({ status: 'fulfilled', value: { ok: false, error: { code: 'ERR_SAMPLE_FAILED', message: `step: sample ${sample}: bad`, sample }, ...info } });
    const ok = (chunks: number, badSample: number): PromiseSettledResult<TaskResult> => ({ status: 'fulfilled', value: { ok: true, chunks, badSample, ...info } });
    const crash: PromiseSettledResult<TaskResult> = { status: 'rejected', reason: new Error('worker exited with code: 3') };
    const nonFinite = (s: number) => errors.nonFiniteGradient('step', s);
    assert.throws(() => mergeClaimed([crash, failed(0)], 3, 'step'), { message: 'step: sample 0: bad' });
    assert.throws(() => mergeClaimed([ok(1, 2), failed(5)], 3, 'step', nonFinite), { message: /^step: sample 2 has a non-finite/ });
    assert.throws(() => mergeClaimed([ok(1, 7), failed(5)], 3, 'step', nonFinite), { message: 'step: sample 5: bad' });
    assert.throws(() => mergeClaimed([ok(1, 2), failed(5)], 3, 'step'), { message: 'step: sample 5: bad' });
    assert.throws(() => mergeClaimed([ok(1, 2), ok(2, 9)], 3, 'step', nonFinite), { message: /^step: sample 2 has a non-finite/ });
    // A failed task's own earlier non-finite sample counts too.
    const failedAfter = (sample: number, badSample: number): PromiseSettledResult<TaskResult> => ({ status: 'fulfilled', value: { ok: false, error: { code: 'ERR_SAMPLE_FAILED', message: `step: sample ${sample}: bad`, sample, badSample }, ...info } });
    assert.throws(() => mergeClaimed([failedAfter(5, 3), ok(1, -1)], 3, 'step', nonFinite), { message: /^step: sample 3 has a non-finite/ });
    assert.throws(() => mergeClaimed([failedAfter(5, 3)], 3, 'step'), { message: 'step: sample 5: bad' });
  });
});
