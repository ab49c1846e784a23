/**
 * The tfjs formula details the kernels rely on or deliberately depart from: Adam's float32 running
 * product for bias correction, the centered-RMSProp epsilon sign, and AdamW's decoupled decay.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { biasCorrection } from '../../src/optim/adam.js';
import { adamw, applyUpdate, rmsprop, stateSlots } from '../../src/optim/index.js';
import { Rng } from '../../src/rng.js';
import { withBackend } from '../helpers/env.js';

const f = Math.fround;

/** Private state of tf.train.adam that the test reads to see what tfjs divides by. */
interface AdamInternals {
  accBeta1: tf.Variable;
}

/** The tfjs recurrence written out naively: acc_1 = f(b), acc_t = f(acc_{t-1} * f(b)). */
function naiveCorrection(beta: number, step: number): number {
  let acc = f(beta);
  for (let t = 1; t < step; t++) acc = f(acc * f(beta));
  return f(1 - acc);
}

function maxRelDiff(actual: Float32Array, expected: Float32Array, floor = 1e-3): number {
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

describe('optim: tfjs formula details', () => {
  withBackend('cpu');

  describe('Adam bias correction', () => {
    for (const beta of [0.9, 0.99, 0.999, 0.5]) {
      it(`beta=${beta}: equals float32(1 - accBeta) of tf.train.adam at each of 300 steps; Math.pow does not`, () => {
        const name = `optim_accbeta_${beta}`;
        const v = tf.variable(tf.zeros([1]), true, name);
        const opt: tf.Optimizer = tf.train.adam(0.001, beta, beta);
        let powMismatches = 0;
        for (let step = 1; step <= 300; step++) {
          const tfCorrection = f(1 - (opt as unknown as AdamInternals).accBeta1.dataSync()[0]!);
          assert.equal(biasCorrection(beta, step), tfCorrection, `step ${step}`);
          if (f(1 - Math.pow(beta, step)) !== tfCorrection) powMismatches++;
          tf.tidy(() => opt.applyGradients({ [name]: tf.tensor1d([1]) }));
        }
        // Why the running product: Math.pow disagrees in the last bit at many steps (e.g. almost
        // every step for 0.999, since float32(0.999) != 0.999), which would break bit-equality.
        if (beta !== 0.5) assert.ok(powMismatches > 10, `Math.pow mismatched only ${powMismatches} times`);
        opt.dispose();
        v.dispose();
      });
    }

    it('gives the same value whatever order steps are asked in (memo restarts, saturation)', () => {
      const rng = new Rng(7);
      for (let k = 0; k < 200; k++) {
        const step = 1 + rng.int(3000);
        const beta = [0.9, 0.999, 0.95][k % 3]!;
        assert.equal(biasCorrection(beta, step), naiveCorrection(beta, step), `beta ${beta} step ${step}`);
      }
      assert.equal(biasCorrection(0.999, 5_000_000), 1);
      assert.equal(biasCorrection(0.999, 3), naiveCorrection(0.999, 3));
      assert.equal(biasCorrection(0, 1), 1);
      assert.equal(biasCorrection(0, 9), 1);
    });
  });

  describe('centered RMSProp', () => {
    it("tf.train.rmsprop's centered variant turns small and zero gradients into NaN; ours stays finite", () => {
      const name = 'optim_centered_nan';
      const v = tf.variable(tf.tensor1d([1, 1, 1, 1]), true, name);
      const opt: tf.Optimizer = tf.train.rmsprop(0.01, 0.9, 0, undefined, true);
      const g = new Float32Array([0, 1e-4, 1e-3, 1]);
      tf.tidy(() => opt.applyGradients({ [name]: tf.tensor1d(g) }));
      const tfValues = Array.from(v.dataSync());
      assert.deepEqual(tfValues.slice(0, 3).map(Number.isNaN), [true, true, true]);

      const spec = rmsprop({ learningRate: 0.01, centered: true });
      const params = new Float32Array([1, 1, 1, 1]);
      applyUpdate(spec, { lr: 0.01, step: 1 }, params, g, stateSlots(spec).map(() => new Float32Array(4)), 0, 4);
      assert.ok(params.every(Number.isFinite), `got ${params}`);
      assert.equal(params[0], 1, 'a zero gradient leaves the parameter alone');
      opt.dispose();
      v.dispose();
    });

    it("matches TensorFlow's formula sqrt(ms - mg^2 + eps), written with tfjs ops, for 30 steps (default eps, momentum 0.9)", () => {
      const n = 257;
      const [lr, decay, mu, eps] = [0.01, 0.9, 0.9, 1e-7];
      const spec = rmsprop({ learningRate: lr, decay, momentum: mu, centered: true });
      const rng = new Rng(11);
      const params = new Float32Array(n).map(() => rng.normal());
      const slots = stateSlots(spec).map(() => new Float32Array(n));
      const p = tf.variable(tf.tensor1d(params));
      const [ms, mg, mom] = [0, 1, 2].map(() => tf.variable(tf.zeros([n])));
      for (let step = 1; step <= 30; step++) {
        const gv = new Float32Array(n).map(() => rng.normal() * 10 ** (rng.uniform() * 5 - 4));
        tf.tidy(() => {
          const g = tf.tensor1d(gv);
          const newMs = ms!.mul(decay).add(g.square().mul(1 - decay));
          const newMg = mg!.mul(decay).add(g.mul(1 - decay));
          const denom = newMs.sub(newMg.square()).add(eps).sqrt();
          const newMom = mom!.mul(mu).add(g.mul(lr).div(denom));
          ms!.assign(newMs);
          mg!.assign(newMg);
          mom!.assign(newMom);
          p.assign(p.sub(newMom));
        });
        applyUpdate(spec, { lr, step }, params, gv, slots, 0, n);
        const worst = maxRelDiff(params, p.dataSync() as Float32Array);
        assert.ok(worst <= 1e-6, `step ${step}: max relative difference ${worst}`);
      }
      assert.ok(maxRelDiff(slots[0]!, ms!.dataSync() as Float32Array) <= 1e-6);
      assert.ok(maxRelDiff(slots[1]!, mom!.dataSync() as Float32Array) <= 1e-6);
      assert.ok(maxRelDiff(slots[2]!, mg!.dataSync() as Float32Array) <= 1e-6);
      tf.dispose([p, ms!, mg!, mom!]);
    });

    it('clamps a variance made negative by rounding at 0, but never hides a NaN', () => {
      const spec = rmsprop({ learningRate: 0.1, centered: true, decay: 0 });
      // decay 0: ms = g^2, mg = g, so ms - mg^2 is exactly 0 -> denominator sqrt(eps).
      const params = new Float32Array([0, 0]);
      const slots = stateSlots(spec).map(() => new Float32Array(2));
      // Forge a state whose next variance is negative: impossible in exact arithmetic.
      const forged = rmsprop({ learningRate: 0.1, centered: true, decay: 0.5 });
      const fs = stateSlots(forged).map(() => new Float32Array(2));
      fs[0]!.set([0, 0]); // ms
      fs[2]!.set([10, 10]); // mg: next ms = 0.5 g^2, next mg = 5 + 0.5 g, so ms - mg^2 < 0
      applyUpdate(forged, { lr: 0.1, step: 1 }, params, new Float32Array([1, NaN]), fs, 0, 2);
      assert.ok(Number.isFinite(params[0]!), `clamped element: got ${params[0]}`);
      assert.ok(Number.isNaN(params[1]!), 'a NaN gradient must stay visible');
      params.fill(0);
      applyUpdate(spec, { lr: 0.1, step: 1 }, params, new Float32Array([2, -3]), slots, 0, 2);
      assert.deepEqual(Array.from(params), [f(-f(f(2 * f(0.1)) / f(Math.sqrt(f(1e-7))))), f(-f(f(-3 * f(0.1)) / f(Math.sqrt(f(1e-7)))))]);
    });
  });

  describe('AdamW', () => {
    it('with a zero gradient and fresh state only shrinks: p * float32(1 - lr*wd)', () => {
      const spec = adamw({ learningRate: 0.1, weightDecay: 0.5 });
      const params = new Float32Array([1, -2, 0.3]);
      const expected = params.map((p) => f(p * f(1 - 0.1 * 0.5)));
      applyUpdate(spec, { lr: 0.1, step: 1 }, params, new Float32Array(3), [new Float32Array(3), new Float32Array(3)], 0, 3);
      assert.deepEqual(params, expected);
    });

    it("decays with the scheduled lr of the step (torch's lr*wd coupling)", () => {
      const spec = adamw({ learningRate: (s) => (s === 1 ? 0 : 0.2), weightDecay: 0.5 });
      const params = new Float32Array([4]);
      const slots = [new Float32Array(1), new Float32Array(1)];
      applyUpdate(spec, { lr: 0, step: 1 }, params, new Float32Array(1), slots, 0, 1);
      assert.equal(params[0], 4, 'lr 0: no decay');
      applyUpdate(spec, { lr: 0.2, step: 2 }, params, new Float32Array(1), slots, 0, 1);
      assert.equal(params[0], f(4 * f(1 - 0.2 * 0.5)));
    });
  });
});
