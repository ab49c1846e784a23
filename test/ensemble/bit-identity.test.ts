// An ensemble's member k equals a single pool seeded seed + k, bit for bit, after a sequence of
// predict / perSampleGrads / step (with dropout in the model too) (SGD, Adam, DP on and off) / setParams calls: parameters,
// optimizer state and every result. The oracle is the single pool itself (K of them, same options).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { adam, sgd } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';
import { assertMember, assertParams, member, twins, type Twin } from './helpers.js';

const MNIST = fileURLToPath(new URL('../../examples/mnist/model.js', import.meta.url));

interface Case {
  name: string;
  model: string;
  inputSize: number;
  classes: number;
  backend: 'wasm' | 'cpu';
  threads: number;
}

const CASES: Case[] = [
  { name: 'test MLP', model: fixture('mlp'), inputSize: 5, classes: 3, backend: 'wasm', threads: 1 },
  { name: 'test MLP', model: fixture('mlp'), inputSize: 5, classes: 3, backend: 'wasm', threads: 3 },
  { name: 'test MLP', model: fixture('mlp'), inputSize: 5, classes: 3, backend: 'cpu', threads: 2 },
  { name: 'MNIST MLP', model: MNIST, inputSize: 784, classes: 10, backend: 'wasm', threads: 2 },
  { name: 'MNIST MLP', model: MNIST, inputSize: 784, classes: 10, backend: 'cpu', threads: 1 },
  { name: 'conv', model: fixture('conv'), inputSize: 64, classes: 3, backend: 'wasm', threads: 2 },
  { name: 'conv', model: fixture('conv'), inputSize: 64, classes: 3, backend: 'cpu', threads: 3 },
  // Dropout in the model: member k draws with its own pool's seed.
  { name: 'dropout MLP', model: fixture('random'), inputSize: 4, classes: 2, backend: 'wasm', threads: 2 },
];

const K = 2;
const B = 40; // two chunks of the default 32: work for more than one thread

async function compareSteps(t: Twin, x: Float32Array, y: Float32Array, options: Parameters<Twin['ens']['step']>[2], what: string): Promise<void> {
  const r = await t.ens.step(x, y, options);
  for (const [k, p] of t.singles.entries()) {
    const s = await p.step(x, y, options);
    assert.equal(r.loss[k], s.loss, `${what}: member ${k} loss`);
    assert.equal(r.gradNorm[k], s.gradNorm, `${what}: member ${k} gradNorm`);
    assert.equal(r.clippedFraction?.[k], s.clippedFraction, `${what}: member ${k} clippedFraction`);
    assert.equal(r.step, s.step);
  }
  assertParams(t, what);
}

function compareOptimizer(t: Twin, opt: Parameters<Twin['ens']['getOptimizerState']>[0], what: string): void {
  const st = t.ens.getOptimizerState(opt);
  const P = t.ens.model.layout.total;
  for (const [k, p] of t.singles.entries()) {
    const s = p.getOptimizerState(opt);
    assert.equal(st.step, s.step);
    for (const [slot, v] of Object.entries(s.slots)) assert.ok(sameBytes(st.slots[slot]!.subarray(k * P, (k + 1) * P), v), `${what}: member ${k} slot ${slot}`);
  }
}

async function comparePredictAndGrads(t: Twin, x: Float32Array, y: Float32Array, what: string): Promise<void> {
  const pred = await t.ens.predict(x);
  const psg = await t.ens.perSampleGrads(x, y);
  assert.deepEqual(psg.losses.shape, [K, B]);
  for (const [k, p] of t.singles.entries()) {
    assertMember(pred, k, await p.predict(x), `${what}: predict`);
    const s = await p.perSampleGrads(x, y);
    assertMember(psg.losses, k, s.losses, `${what}: losses`);
    for (const [name, g] of Object.entries(s.grads)) assertMember(psg.grads[name]!, k, g, `${what}: grads.${name}`);
  }
}

describe('ensemble: member k is bit-identical to a single pool with seed + k', function () {
  for (const c of CASES) {
    describe(`${c.name}, ${c.backend}, ${c.threads} thread(s)`, function () {
      let t: Twin;
      const x = randn(B * c.inputSize, 3);
      const y = oneHot(B, c.classes, 4);
      before(async () => (t = await twins({ model: c.model, ensemble: K, seed: 11, threads: c.threads, backend: c.backend })));
      after(async () => t?.close());

      it('initial parameters, predict and per-sample gradients', async () => {
        assertParams(t, 'init');
        // Members differ from each other: the comparison is between distinct models.
        const W = Object.values(t.ens.getParams())[0]!;
        assert.ok(!sameBytes(member(W, 0).data, member(W, 1).data));
        await comparePredictAndGrads(t, x, y, 'before training');
      });

      it('steps: SGD, Adam with DP, setParams then Adam; optimizer state; results after training', async () => {
        const plain = sgd({ learningRate: 0.1 });
        await compareSteps(t, x, y, { optimizer: plain }, 'sgd');
        const dpOpt = adam({ learningRate: 0.01 });
        const dp = { maxGradNorm: 0.5, noiseMultiplier: 1.1 };
        await compareSteps(t, x, y, { optimizer: dpOpt, dp }, 'adam dp 1');
        await compareSteps(t, x.subarray(0, 17 * c.inputSize), y.subarray(0, 17 * c.classes), { optimizer: dpOpt, dp }, 'adam dp 2');
        compareOptimizer(t, dpOpt, 'adam dp');
        // setParams on the ensemble ([K, ...shape]) and on each single pool (its member's slice).
        const name = t.ens.model.layout.names[0]!;
        const v = t.ens.getParams()[name]!;
        const scaled = { shape: v.shape, data: v.data.map((a, i) => a * 0.5 + (i % 7) * 1e-3) };
        t.ens.setParams({ [name]: scaled });
        t.singles.forEach((p, k) => p.setParams({ [name]: member(scaled, k) }));
        assertParams(t, 'setParams');
        const opt = adam({ learningRate: 0.005 });
        for (let s = 0; s < 3; s++) await compareSteps(t, x, y, { optimizer: opt }, `adam ${s}`);
        compareOptimizer(t, opt, 'adam');
        await comparePredictAndGrads(t, x, y, 'after training');
      });
    });
  }
});
