// Ensemble options and arguments are validated naming the field; a failing call names the member and
// the sample, and leaves every member's parameters and optimizer state bit-identical.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adam, GradPool, type EnsemblePool, type GradPoolError } from '../../src/index.js';
import type { EnsembleOptions } from '../../src/options.js';
import { oneHot, randn, seedBatch } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';

const flat = (p: EnsemblePool) => Float32Array.from(Object.values(p.getParams()).flatMap((v) => Array.from(v.data)));

describe('ensemble: validation and failures', function () {
  it('refuses an ensemble that is not an integer >= 1, naming the field', async () => {
    for (const bad of [0, -1, 1.5, '2', NaN])
      await rejectsExactly(GradPool.create({ model: fixture('mlp'), ensemble: bad as number }), `ensemble: expected an integer >= 1 (the number of members), got ${typeof bad === 'string' ? `"${bad}"` : bad}`, 'ERR_INVALID_OPTION');
  });

  it('refuses an ensemble of a tfjs-layers model, naming both', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    try {
      await rejectsExactly(
        GradPool.create({ model, loss: 'meanSquaredError', ensemble: 2 } as EnsembleOptions),
        'ensemble: expected no ensemble with model a tfjs-layers model (it starts from its own weights, so every member would be the same; use a defineModel module), got 2',
        'ERR_INVALID_OPTION',
      );
    } finally {
      model.dispose();
    }
  });

  it('refuses members whose seeds would not be safe integers', async () => {
    await rejectsExactly(GradPool.create({ model: fixture('mlp'), ensemble: 3, seed: Number.MAX_SAFE_INTEGER - 1 }), `ensemble: expected at most 2 members with seed ${Number.MAX_SAFE_INTEGER - 1} (member k is seeded seed + k), got 3`, 'ERR_INVALID_OPTION');
  });

  describe('on a pool', function () {
    let ens: EnsemblePool;
    const B = 12;
    const x = randn(B * 5, 1);
    const y = oneHot(B, 3, 2);
    before(async () => (ens = await GradPool.create({ model: fixture('mlp'), ensemble: 3, threads: 2, seed: 5 })));
    after(async () => ens?.close());

    it('setParams wants [K, ...shape] and changes nothing when any value is bad', async () => {
      const before = flat(ens);
      const good = ens.getParams().W1!;
      assert.throws(() => ens.setParams({ W1: good, b1: new Float32Array(4) }), /^GradPoolError: params\.b1: expected a flat Float32Array of length 12 \(shape \[3,4\]\), got length 4$/);
      assert.throws(() => ens.setParams({ W1: { shape: [3, 5, 4], data: good.data.map((v, i) => (i === 7 ? NaN : v)) } }), /params\.W1/);
      await ens.predict(x);
      assert.ok(sameBytes(flat(ens), before));
    });

    it('setOptimizerState wants K·P values per slot', () => {
      const opt = adam();
      const st = ens.getOptimizerState(opt);
      assert.equal(st.slots.m!.length, 3 * ens.model.layout.total);
      assert.throws(() => ens.setOptimizerState(opt, { step: 1, slots: { m: new Float32Array(39), v: new Float32Array(39) } }), /state\.slots\.m: expected a Float32Array of length 117, got length 39/);
    });

    it('a non-finite gradient in one member fails the step naming member and sample; nothing changes', async () => {
      const opt = adam({ learningRate: 0.01 });
      await ens.step(x, y, { optimizer: opt });
      const W2 = ens.getParams().W2!;
      // Member 1's output weights at the top of float32's range: its logits overflow, the others' do not.
      const huge = { shape: W2.shape, data: W2.data.map((v, i) => (i >= 12 && i < 24 ? 3e38 : v)) };
      ens.setParams({ W2: huge });
      const params = flat(ens);
      const state = ens.getOptimizerState(opt);
      const err = await ens.step(x, y, { optimizer: opt }).then(() => null, (e: GradPoolError & { member?: number }) => e);
      assert.equal(err?.code, 'ERR_NON_FINITE_GRADIENT');
      assert.match(err!.message, /^step: member 1, sample 0 has a non-finite loss or gradient; parameters and optimizer state are unchanged$/);
      assert.equal(err!.sample, 0);
      assert.equal(err!.member, 1);
      assert.ok(sameBytes(flat(ens), params));
      const after = ens.getOptimizerState(opt);
      assert.equal(after.step, state.step);
      for (const s of ['m', 'v']) assert.ok(sameBytes(after.slots[s]!, state.slots[s]!));
      const skipped = await ens.step(x, y, { optimizer: opt, nonFinite: 'skip-step' });
      assert.equal(skipped.skipped, true);
      assert.match(skipped.skipReason!, /member 1, sample 0/);
      assert.ok(sameBytes(flat(ens), params));
    });
  });

  it('a sample that throws is named with its member', async () => {
    const ens = await GradPool.create({ model: fixture('faulty'), ensemble: 2, threads: 2 });
    try {
      const x = seedBatch(40, (i) => Math.sin(i));
      x[35 * 6] = 666; // sample 35 (the second chunk) throws in every member: member 0 fails first
      const err = await ens.perSampleGrads(x, new Float32Array(40)).then(() => null, (e: GradPoolError & { member?: number }) => e);
      assert.equal(err?.code, 'ERR_SAMPLE_FAILED');
      assert.match(err!.message, /^perSampleGrads: member 0, sample 35: /);
      assert.equal(err!.sample, 35);
    } finally {
      await ens.close();
    }
  });
});
