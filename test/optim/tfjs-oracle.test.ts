/**
 * applyUpdate against tfjs's own tf.train optimizers (the oracle), on the CPU backend.
 *
 * Each case starts from the same seeded random parameters, feeds the same 30 random gradient
 * vectors to a tf.variable through `opt.applyGradients` and to a Float32Array through applyUpdate,
 * and compares parameters after every step and the optimizer state at the end. Tolerance: relative
 * difference <= 1e-6, measured against max(|expected|, 1e-3) so that values near zero are compared
 * with an absolute floor of 1e-9 instead of blowing up the ratio. (The kernels are built to match
 * bit-for-bit; the tolerance is the contract, `bitExact` checks the stronger claim.)
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adam, adamw, applyUpdate, momentum, rmsprop, sgd, stateSlots } from '../../src/optim/index.js';
import type { OptimizerSpec } from '../../src/optim/index.js';
import { Rng } from '../../src/rng.js';
import { withBackend } from '../helpers/env.js';

const N = 301;
const STEPS = 30;
const TOL = 1e-6;
const FLOOR = 1e-3;

/** tfjs's names for our state slots (its variables are `${param}/${suffix}`). */
const TF_SLOT: Record<string, string> = { m: 'm', v: 'v', mom: 'momentum', ms: 'rms', mg: 'mg' };

function maxRelDiff(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), FLOOR);
    if (!(d <= worst)) worst = d; // NaN propagates as the worst value
  }
  return worst;
}

/** Gradients spanning five decades (|g| from ~1e-4 to ~10) so small and large updates are both exercised. */
function gradients(rng: Rng, n: number): Float32Array {
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = rng.normal() * 10 ** (rng.uniform() * 5 - 4);
  return g;
}

interface Case {
  spec: OptimizerSpec;
  oracle: () => tf.Optimizer;
  /** Extra tfjs ops run on the variable before opt.applyGradients (AdamW's decoupled decay). */
  before?: (p: tf.Variable, lr: number) => void;
  /** Learning rate per step when the spec has a schedule, pushed into the tfjs optimizer. */
  schedule?: { lrAt: (step: number) => number; set: (opt: tf.Optimizer, lr: number) => void };
}

let nextName = 0;

interface Outcome {
  worstParam: number;
  worstSlot: number;
  bitExact: boolean;
}

async function compare(c: Case, seed: number): Promise<Outcome> {
  const rng = new Rng(seed);
  const params = new Float32Array(N).map(() => rng.normal());
  const name = `optim_oracle_${nextName++}`;
  const v = tf.variable(tf.tensor1d(params), true, name);
  const opt = c.oracle();
  const names = stateSlots(c.spec);
  const slots = names.map(() => new Float32Array(N));
  let worstParam = 0;
  let bitExact = true;
  for (let step = 1; step <= STEPS; step++) {
    const g = gradients(rng, N);
    const lr = c.schedule ? c.schedule.lrAt(step) : (c.spec.learningRate as number);
    if (c.schedule) c.schedule.set(opt, lr);
    tf.tidy(() => {
      c.before?.(v, lr);
      opt.applyGradients({ [name]: tf.tensor1d(g) });
    });
    applyUpdate(c.spec, { lr, step }, params, g, slots, 0, N);
    const expected = v.dataSync() as Float32Array;
    worstParam = Math.max(worstParam, maxRelDiff(params, expected));
    bitExact &&= Buffer.compare(Buffer.from(params.buffer), Buffer.from(expected.buffer)) === 0;
  }
  const weights = await opt.getWeights();
  let worstSlot = 0;
  names.forEach((slot, k) => {
    const w = weights.find((x) => x.name === `${name}/${TF_SLOT[slot]}`);
    assert.ok(w, `tfjs has no state variable for slot ${slot}`);
    worstSlot = Math.max(worstSlot, maxRelDiff(slots[k]!, w.tensor.dataSync() as Float32Array));
  });
  opt.dispose();
  v.dispose();
  return { worstParam, worstSlot, bitExact };
}

const setProp = (opt: tf.Optimizer, lr: number) => {
  (opt as unknown as { learningRate: number }).learningRate = lr;
};
const setSgdLr = (opt: tf.Optimizer, lr: number) => (opt as tf.SGDOptimizer).setLearningRate(lr);
const decay = (wd: number) => (p: tf.Variable, lr: number) => p.assign(p.mul(1 - lr * wd));
const lrAt = (step: number) => 0.05 * 0.9 ** (step - 1) + 0.001 * (step % 3);

const CASES: Record<string, Case> = {
  'sgd lr=0.1': { spec: sgd({ learningRate: 0.1 }), oracle: () => tf.train.sgd(0.1) },
  'momentum 0.9': { spec: momentum({ learningRate: 0.05, momentum: 0.9 }), oracle: () => tf.train.momentum(0.05, 0.9) },
  'momentum 0.9 nesterov': {
    spec: momentum({ learningRate: 0.05, momentum: 0.9, useNesterov: true }),
    oracle: () => tf.train.momentum(0.05, 0.9, true),
  },
  'momentum 0.5 nesterov lr=0.3': {
    spec: momentum({ learningRate: 0.3, momentum: 0.5, useNesterov: true }),
    oracle: () => tf.train.momentum(0.3, 0.5, true),
  },
  'adam defaults': { spec: adam(), oracle: () => tf.train.adam() },
  'adam lr=0.01 b1=0.8 b2=0.99 eps=1e-4': {
    spec: adam({ learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-4 }),
    oracle: () => tf.train.adam(0.01, 0.8, 0.99, 1e-4),
  },
  'adam beta1=0': { spec: adam({ learningRate: 0.02, beta1: 0 }), oracle: () => tf.train.adam(0.02, 0) },
  'adamw defaults (wd=0.01) vs adam + hand-written decay': {
    spec: adamw(),
    oracle: () => tf.train.adam(),
    before: decay(0.01),
  },
  'adamw lr=0.05 wd=0.3 vs adam + hand-written decay': {
    spec: adamw({ learningRate: 0.05, weightDecay: 0.3, beta2: 0.99 }),
    oracle: () => tf.train.adam(0.05, 0.9, 0.99),
    before: decay(0.3),
  },
  'adamw wd=0 is adam': { spec: adamw({ learningRate: 0.01, weightDecay: 0 }), oracle: () => tf.train.adam(0.01) },
  'rmsprop defaults': { spec: rmsprop({ learningRate: 0.01 }), oracle: () => tf.train.rmsprop(0.01) },
  'rmsprop momentum 0.9 decay 0.8 eps 1e-5': {
    spec: rmsprop({ learningRate: 0.01, decay: 0.8, momentum: 0.9, epsilon: 1e-5 }),
    oracle: () => tf.train.rmsprop(0.01, 0.8, 0.9, 1e-5),
  },
  // tfjs subtracts epsilon in the centered denominator (see src/optim/rmsprop.ts); with eps = 1e-30
  // it vanishes in float32 rounding on both sides, so everything else is compared exactly.
  'rmsprop centered eps=1e-30': {
    spec: rmsprop({ learningRate: 0.01, centered: true, epsilon: 1e-30 }),
    oracle: () => tf.train.rmsprop(0.01, 0.9, 0, 1e-30, true),
  },
  'rmsprop centered momentum 0.9 eps=1e-30': {
    spec: rmsprop({ learningRate: 0.003, momentum: 0.9, centered: true, epsilon: 1e-30 }),
    oracle: () => tf.train.rmsprop(0.003, 0.9, 0.9, 1e-30, true),
  },
  'sgd with a schedule': {
    spec: sgd({ learningRate: lrAt }),
    oracle: () => tf.train.sgd(1),
    schedule: { lrAt, set: setSgdLr },
  },
  'momentum nesterov with a schedule': {
    spec: momentum({ learningRate: lrAt, momentum: 0.9, useNesterov: true }),
    oracle: () => tf.train.momentum(1, 0.9, true),
    schedule: { lrAt, set: setSgdLr },
  },
  'adam with a schedule': { spec: adam({ learningRate: lrAt }), oracle: () => tf.train.adam(1), schedule: { lrAt, set: setProp } },
  'adamw with a schedule (decay uses the scheduled lr)': {
    spec: adamw({ learningRate: lrAt, weightDecay: 0.2 }),
    oracle: () => tf.train.adam(1),
    before: decay(0.2),
    schedule: { lrAt, set: setProp },
  },
  'rmsprop momentum with a schedule': {
    spec: rmsprop({ learningRate: lrAt, momentum: 0.5 }),
    oracle: () => tf.train.rmsprop(1, 0.9, 0.5),
    schedule: { lrAt, set: setProp },
  },
};

describe('optim: applyUpdate vs tf.train', () => {
  withBackend('cpu');

  Object.entries(CASES).forEach(([title, c], k) => {
    it(`${title}: ${STEPS} steps within ${TOL} relative, bit-exact on the CPU backend`, async () => {
      const r = await compare(c, 1000 + k);
      assert.ok(r.worstParam <= TOL, `params: max relative difference ${r.worstParam}`);
      assert.ok(r.worstSlot <= TOL, `state: max relative difference ${r.worstSlot}`);
      assert.ok(r.bitExact, 'params were within tolerance but not bit-identical');
    });
  });
});
