// fit: a tfjs-style training loop — history, validation, callbacks that stop, async iterables,
// seeded shuffling, and a resume from a mid-run state that ends bit-identical to an uninterrupted run.
import assert from 'node:assert/strict';
import { GradPool, momentum, sgd, type FitState } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';

describe('train: fit', function () {
  const N = 90;
  const x = randn(N * 5, 51);
  const y = oneHot(N, 3, 52);
  let pool: GradPool;
  let start: ReturnType<GradPool['getParams']>;
  const flat = () => Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data)));

  before(async function () {
    pool = await GradPool.create({ model: fixture('mlp'), threads: 2, seed: 4, chunkSize: 8 });
    start = pool.getParams();
  });
  beforeEach(() => pool.setParams(start));
  after(() => pool?.close());

  it('returns a tfjs-style history whose training loss falls, with validation metrics', async () => {
    const h = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.5 }), epochs: 4, batchSize: 10, validation: { x, y }, metrics: ['accuracy'] });
    assert.deepEqual(h.epoch, [0, 1, 2, 3]);
    assert.equal(h.steps, 36);
    assert.equal(h.history.loss!.length, 4);
    assert.equal(h.history.val_acc!.length, 4);
    assert.ok(h.history.loss![3]! < h.history.loss![0]!, `loss ${h.history.loss}`);
    const ev = await pool.evaluate(x, y, { metrics: ['accuracy'] });
    assert.equal(ev.loss, h.history.val_loss![3]);
    assert.ok(ev.accuracy! >= 0 && ev.accuracy! <= 1);
  });

  it('stops when onStep or onEpochEnd returns false', async () => {
    const seen: number[] = [];
    const h = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 5, batchSize: 30, onStep: (l) => (seen.push(l.globalStep), l.globalStep < 4) });
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.equal(h.stopped, true);
    assert.equal(h.steps, 4);
    const h2 = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 5, batchSize: 30, onEpochEnd: async (l) => l.epoch < 1 });
    assert.deepEqual(h2.epoch, [0, 1]);
  });

  it('trains from an async iterable of batches the same as from the arrays in order', async () => {
    const opt = () => momentum({ learningRate: 0.2, momentum: 0.9 });
    await pool.fit({ x, y }, { optimizer: opt(), epochs: 2, batchSize: 20, shuffle: false });
    const fromArrays = flat();
    pool.setParams(start);
    const batches = {
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < N; i += 20) yield { x: x.subarray(i * 5, Math.min(N, i + 20) * 5), y: y.subarray(i * 3, Math.min(N, i + 20) * 3) };
      },
    };
    const h = await pool.fit(batches, { optimizer: opt(), epochs: 2 });
    assert.equal(h.steps, 10);
    assert.ok(sameBytes(flat(), fromArrays));
  });

  it('shuffles reproducibly from the pool seed', async () => {
    await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.3 }), epochs: 2, batchSize: 16 });
    const a = flat();
    pool.setParams(start);
    await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.3 }), epochs: 2, batchSize: 16 });
    assert.ok(sameBytes(flat(), a));
    pool.setParams(start);
    await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.3 }), epochs: 2, batchSize: 16, shuffle: false });
    assert.ok(!sameBytes(flat(), a), 'unshuffled training should differ from shuffled');
  });

  for (const dp of [undefined, { maxGradNorm: 0.5, noiseMultiplier: 1.0 }]) {
    it(`resumes from a mid-run state bit-identically${dp ? ' (DP, Poisson sampling)' : ''}`, async () => {
      const opts = { epochs: 3, batchSize: 16, ...(dp ? { dp } : {}) };
      const full = await pool.fit({ x, y }, { optimizer: momentum({ learningRate: 0.1, momentum: 0.9 }), ...opts });
      const uninterrupted = flat();
      pool.setParams(start);
      // First run: stop after step 8 and keep what a checkpoint would keep.
      let saved: { state: FitState; params: ReturnType<GradPool['getParams']>; opt: ReturnType<GradPool['getOptimizerState']> } | null = null;
      const opt1 = momentum({ learningRate: 0.1, momentum: 0.9 });
      await pool.fit({ x, y }, { optimizer: opt1, ...opts, onStep: (l) => { if (l.globalStep === 8) saved = { state: l.state(), params: pool.getParams(), opt: pool.getOptimizerState(opt1) }; return l.globalStep < 8; } });
      // "Crash", then resume into a fresh optimizer object from the saved pieces.
      pool.setParams(start);
      const opt2 = momentum({ learningRate: 0.1, momentum: 0.9 });
      pool.setParams(saved!.params);
      pool.setOptimizerState(opt2, saved!.opt);
      const resumed = await pool.fit({ x, y }, { optimizer: opt2, ...opts, initialState: saved!.state });
      assert.equal(resumed.steps, full.steps);
      assert.deepEqual(resumed.history.loss, full.history.loss);
      if (dp) assert.equal(resumed.epsilon, full.epsilon);
      assert.ok(sameBytes(flat(), uninterrupted), 'resumed parameters differ from the uninterrupted run');
    });
  }

  it('reports ε with DP and validates fit options', async () => {
    const h = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 9, dp: { maxGradNorm: 1, noiseMultiplier: 1.2, delta: 1e-4 } });
    assert.ok(h.epsilon! > 0 && Number.isFinite(h.epsilon));
    await assert.rejects(pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 0 }), { message: 'epochs: expected a positive integer, got 0' });
    await assert.rejects(pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), batchSize: 2.5 }), { message: 'batchSize: expected a positive integer, got 2.5' });
    await assert.rejects(pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), metrics: ['auc' as never] }), { message: 'metrics[0]: expected one of accuracy, got "auc"' });
    await assert.rejects(pool.fit({ x, y: y.subarray(3) }, { optimizer: sgd({ learningRate: 0.1 }) }), { message: 'data.y: expected batch size 90 (from data.x), got 89' });
    await assert.rejects(pool.fit({ async *[Symbol.asyncIterator]() {} }, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1 } }), {
      message: 'dp: expected in-memory {x, y} data (gradpool must control sampling for the privacy accounting), got an async iterable',
    });
  });
});
