/**
 * Workers update disjoint [lo, hi) slices of the same parameter vector in parallel, so the result
 * must not depend on how the vector is cut or in which order the pieces run: compared here bit for
 * bit (through Uint32Array views, so -0 vs 0 and NaN payloads would count as differences).
 */
import assert from 'node:assert/strict';
import { adam, adamw, applyUpdate, momentum, resolveLearningRate, rmsprop, sgd, stateSlots } from '../../src/optim/index.js';
import type { OptimizerSpec } from '../../src/optim/index.js';
import { Rng } from '../../src/rng.js';

const N = 1000;
const STEPS = 25;

const SPECS: Record<string, OptimizerSpec> = {
  sgd: sgd({ learningRate: 0.1 }),
  momentum: momentum({ learningRate: 0.05, momentum: 0.9 }),
  'momentum nesterov': momentum({ learningRate: 0.05, momentum: 0.9, useNesterov: true }),
  adam: adam({ learningRate: 0.01 }),
  'adamw with a schedule': adamw({ learningRate: (s) => 0.01 / Math.sqrt(s), weightDecay: 0.1 }),
  rmsprop: rmsprop({ learningRate: 0.01 }),
  'rmsprop momentum': rmsprop({ learningRate: 0.01, momentum: 0.9 }),
  'rmsprop centered momentum': rmsprop({ learningRate: 0.01, momentum: 0.5, centered: true }),
};

type Partition = (step: number, rng: Rng) => Array<[number, number]>;

const PARTITIONS: Record<string, Partition> = {
  'three uneven slices': () => [
    [0, 7],
    [7, 613],
    [613, N],
  ],
  'three uneven slices, last first, with empty slices': () => [
    [613, N],
    [0, 0],
    [7, 613],
    [N, N],
    [0, 7],
  ],
  'a different random cut every step': (_step, rng) => {
    const a = rng.int(N + 1);
    const b = a + rng.int(N - a + 1);
    return [
      [b, N],
      [0, a],
      [a, b],
    ];
  },
};

interface State {
  params: Float32Array;
  slots: Float32Array[];
}

function freshState(spec: OptimizerSpec, seed: number): State {
  const rng = new Rng(seed);
  return { params: new Float32Array(N).map(() => rng.normal()), slots: stateSlots(spec).map(() => new Float32Array(N)) };
}

function assertBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}[${i}]: ${a[i]} (0x${ua[i]!.toString(16)}) vs ${b[i]} (0x${ub[i]!.toString(16)})`);
  }
}

describe('optim: slicing invariance', () => {
  for (const [specName, spec] of Object.entries(SPECS)) {
    for (const [partName, partition] of Object.entries(PARTITIONS)) {
      it(`${specName}: ${partName} gives the same bits as one slice over ${STEPS} steps`, () => {
        const whole = freshState(spec, 3);
        const sliced = freshState(spec, 3);
        const gradRng = new Rng(4);
        const cutRng = new Rng(5);
        for (let step = 1; step <= STEPS; step++) {
          const grads = new Float32Array(N).map(() => gradRng.normal() * 10 ** (gradRng.uniform() * 4 - 3));
          grads[step] = 0; // exact zeros too
          const lr = resolveLearningRate(spec, step);
          applyUpdate(spec, { lr, step }, whole.params, grads, whole.slots, 0, N);
          for (const [lo, hi] of partition(step, cutRng)) applyUpdate(spec, { lr, step }, sliced.params, grads, sliced.slots, lo, hi);
          assertBitIdentical(sliced.params, whole.params, `step ${step} params`);
          sliced.slots.forEach((s, k) => assertBitIdentical(s, whole.slots[k]!, `step ${step} ${stateSlots(spec)[k]}`));
        }
      });
    }
  }

  it('works on Float32Arrays over SharedArrayBuffers and touches nothing outside [lo, hi)', () => {
    const spec = adam({ learningRate: 0.1 });
    const shared = () => new Float32Array(new SharedArrayBuffer(4 * N));
    const params = shared().fill(1);
    const grads = shared().fill(0.5);
    const slots = [shared(), shared()];
    applyUpdate(spec, { lr: 0.1, step: 1 }, params, grads, slots, 100, 200);
    for (let i = 0; i < N; i++) {
      const inside = i >= 100 && i < 200;
      assert.equal(params[i] !== 1, inside, `params[${i}]`);
      assert.equal(slots[0]![i] !== 0, inside, `m[${i}]`);
      assert.equal(slots[1]![i] !== 0, inside, `v[${i}]`);
    }
  });

  it('a spec copied by structuredClone (schedule dropped) updates identically', () => {
    const spec = adamw({ learningRate: (s) => 0.01 * s, weightDecay: 0.05 });
    const { learningRate: _dropped, ...rest } = spec;
    const clone = structuredClone(rest) as unknown as OptimizerSpec;
    const a = freshState(spec, 9);
    const b = freshState(spec, 9);
    const grads = new Float32Array(N).fill(0.25);
    for (let step = 1; step <= 3; step++) {
      const lr = resolveLearningRate(spec, step);
      applyUpdate(spec, { lr, step }, a.params, grads, a.slots, 0, N);
      applyUpdate(clone, { lr, step }, b.params, grads, b.slots, 0, N);
    }
    assertBitIdentical(b.params, a.params, 'params');
  });
});
