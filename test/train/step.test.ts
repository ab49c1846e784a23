// pool.step against independent oracles: the sequential tf.valueAndGrads loop for the gradient,
// tfjs's own tf.train optimizers for the update, and a hand computation for DP clipping and noise.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adam, GradPool, momentum, rmsprop, sgd } from '../../src/index.js';
import type { ModelDef } from '../../src/model/define.js';
import { noiseAt } from '../../src/privacy/gaussian.js';
import { dpNoiseSeed } from '../../src/train/step.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture, fixtureModel, useBackend } from '../helpers/env.js';
import { loopOracle } from '../helpers/oracle.js';
import { assertClose, sameBytes } from '../helpers/assert.js';

describe('train: step', function () {
  const B = 24;
  const x = randn(B * 5, 31);
  const y = oneHot(B, 3, 32);
  let pool: GradPool;
  let model: ModelDef;

  before(async function () {
    pool = await GradPool.create({ model: fixture('mlp'), threads: 2, backend: 'cpu', seed: 9, chunkSize: 5 });
    model = await fixtureModel('mlp');
    await useBackend('cpu');
  });
  after(() => pool?.close());

  const flat = (p: Record<string, { data: Float32Array }>) => model.layout.names.map((n) => Array.from(p[n]!.data));

  const cases = [
    { name: 'sgd', make: () => sgd({ learningRate: 0.2 }), tfOpt: () => tf.train.sgd(0.2) },
    { name: 'momentum (nesterov)', make: () => momentum({ learningRate: 0.1, momentum: 0.9, useNesterov: true }), tfOpt: () => tf.train.momentum(0.1, 0.9, true) },
    { name: 'adam', make: () => adam({ learningRate: 0.01 }), tfOpt: () => tf.train.adam(0.01) },
    { name: 'rmsprop', make: () => rmsprop({ learningRate: 0.01, momentum: 0.5 }), tfOpt: () => tf.train.rmsprop(0.01, 0.9, 0.5) },
  ];
  for (const c of cases) {
    it(`${c.name}: 6 steps match tf.train applied to the loop oracle's mean gradients`, async function () {
      const start = pool.getParams();
      const vars = model.layout.names.map((n) => tf.variable(tf.tensor(start[n]!.data, start[n]!.shape), true, `${c.name}-${n}`));
      const opt = c.tfOpt();
      const mine = c.make();
      for (let s = 0; s < 6; s++) {
        const current = Object.fromEntries(model.layout.names.map((n, k) => [n, { shape: start[n]!.shape, data: vars[k]!.dataSync() as Float32Array }]));
        const o = loopOracle(model, current, x, y, B);
        opt.applyGradients(Object.fromEntries(model.layout.names.map((n, k) => [vars[k]!.name, tf.tensor(o.mean[k]!, start[n]!.shape)])) as never);
        const r = await pool.step(x, y, { optimizer: mine });
        assertClose([r.loss], [o.meanLoss], { rtol: 1e-6 }, `step ${s} loss`);
        assert.equal(r.step, s + 1);
      }
      const got = flat(pool.getParams());
      vars.forEach((v, k) => assertClose(got[k]!, v.dataSync(), { rtol: 1e-5, atol: 1e-7 }, `${c.name} ${model.layout.names[k]}`));
      vars.forEach((v) => v.dispose());
      opt.dispose();
      pool.setParams(start);
    });
  }

  it('DP: clips each sample to maxGradNorm, sums, adds seeded noise and divides by the expected batch size (hand computation)', async function () {
    const start = pool.getParams();
    const sigma = 0.8;
    const expected = 20;
    const psg = await pool.perSampleGrads(x, y);
    const rows = Array.from({ length: B }, (_, i) => model.layout.names.flatMap((n, k) => Array.from(psg.grads[n]!.data.subarray(i * model.layout.sizes[k]!, (i + 1) * model.layout.sizes[k]!))));
    const sorted = rows.map((r) => Math.hypot(...r)).sort((a, b) => a - b);
    const C = (sorted[B / 2 - 1]! + sorted[B / 2]!) / 2; // between the middle norms: half the samples get clipped, none sit on the edge
    const step = await pool.step(x, y, { optimizer: sgd({ learningRate: 1 }), dp: { maxGradNorm: C, noiseMultiplier: sigma, expectedBatchSize: expected } });
    const after = pool.getParams();
    const P = model.layout.total;
    const sum = new Float64Array(P);
    let clipped = 0;
    for (const row of rows) {
      const norm = Math.hypot(...row);
      if (norm > C) clipped++;
      const f = Math.min(1, C / (norm + 1e-6));
      row.forEach((g, j) => (sum[j] += f * g));
    }
    const seed = dpNoiseSeed(pool.seed);
    const want = Array.from(sum, (s, k) => (s + sigma * C * noiseAt(seed, 1, k)) / expected);
    const applied = flat(start).flat().map((p, k) => p - flat(after).flat()[k]!); // sgd with lr 1: p - p' = g
    assertClose(applied, want, { rtol: 1e-5, atol: 1e-6 }, 'DP gradient');
    assert.equal(step.clippedFraction, clipped / B);
    assert.equal(clipped, B / 2);
    assert.ok(clipped > 0 && clipped < B, 'the data exercises both clipped and unclipped samples');
    pool.setParams(start);
  });

  it('runs the sharded (workers) and coordinator updates to the same bits', async function () {
    const start = pool.getParams();
    const results: Float32Array[] = [];
    for (const update of ['coordinator', 'workers'] as const) {
      pool.setParams(start);
      const opt = adam({ learningRate: 0.03 });
      for (let s = 0; s < 4; s++) await pool.step(x, y, { optimizer: opt, update, dp: { maxGradNorm: 1, noiseMultiplier: 0.5 } });
      results.push(Float32Array.from(flat(pool.getParams()).flat()));
      assert.equal(pool.getOptimizerState(opt).step, 4);
    }
    assert.ok(sameBytes(results[0]!, results[1]!));
    pool.setParams(start);
  });

  it('saves and restores optimizer state so a replay is bit-identical', async function () {
    const opt = adam({ learningRate: 0.02 });
    for (let s = 0; s < 3; s++) await pool.step(x, y, { optimizer: opt });
    const params = pool.getParams();
    const state = pool.getOptimizerState(opt);
    assert.deepEqual(Object.keys(state.slots), ['m', 'v']);
    for (let s = 0; s < 3; s++) await pool.step(x, y, { optimizer: opt });
    const first = flat(pool.getParams());
    pool.setParams(params);
    const fresh = adam({ learningRate: 0.02 });
    pool.setOptimizerState(fresh, state);
    for (let s = 0; s < 3; s++) await pool.step(x, y, { optimizer: fresh });
    assert.deepEqual(flat(pool.getParams()), first);
    assert.equal(pool.getOptimizerState(fresh).step, 6);
  });
});
