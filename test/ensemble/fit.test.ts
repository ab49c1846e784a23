// fit on an ensemble: every member trains on the same batches, as a single pool seeded seed + k would
// on those batches; a run stopped part-way resumes bit-exactly from state() + getParams() +
// getOptimizerState(). Oracle: single pools' own fit.
import assert from 'node:assert/strict';
import { adam, GradPool, type StepLogs } from '../../src/index.js';
import type { EnsembleStepSummary } from '../../src/ensemble/fit.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';
import { assertParams, twins, type Twin } from './helpers.js';

describe('ensemble: fit', function () {
  const N = 48;
  const x = randn(N * 5, 7);
  const y = oneHot(N, 3, 8);
  let t: Twin;
  before(async () => (t = await twins({ model: fixture('mlp'), ensemble: 2, seed: 3, threads: 2 })));
  after(async () => t?.close());

  it('shuffle: false trains each member exactly as its single pool fit; shuffle: true shares member 0 pool’s batches', async () => {
    const o = { optimizer: adam({ learningRate: 0.01 }), epochs: 2, batchSize: 16, shuffle: false, validation: { x, y } };
    const start = t.ens.getParams();
    const logs: StepLogs[] = [];
    const h = await t.ens.fit({ x, y }, { ...o, onStep: (l) => void logs.push(l) });
    const singles = [];
    for (const p of t.singles) singles.push(await p.fit({ x, y }, { ...o, optimizer: adam({ learningRate: 0.01 }) }));
    assertParams(t, 'fit, no shuffle');
    assert.equal(h.steps, 6);
    const per = (logs[5] as unknown as EnsembleStepSummary).members;
    assert.equal(per.loss.length, 2);
    // The history is the members' mean.
    const meanVal = (singles[0]!.history.val_loss![1]! + singles[1]!.history.val_loss![1]!) / 2;
    assert.ok(Math.abs(h.history.val_loss![1]! - meanVal) <= 1e-6 * Math.abs(meanVal));
    // Member 0 with shuffling is the seed pool's own fit (its shuffle is the ensemble's).
    t.ens.setParams(start);
    t.singles[0]!.setParams(Object.fromEntries(Object.entries(start).map(([n, v]) => [n, { shape: v.shape.slice(1), data: v.data.subarray(0, v.data.length / 2) }])));
    await t.ens.fit({ x, y }, { ...o, shuffle: true, optimizer: adam({ learningRate: 0.02 }) });
    await t.singles[0]!.fit({ x, y }, { ...o, shuffle: true, optimizer: adam({ learningRate: 0.02 }) });
    const W = t.ens.getParams().W1!;
    assert.ok(sameBytes(W.data.subarray(0, 20), t.singles[0]!.getParams().W1!.data));
  });

  it('resumes bit-exactly from a checkpoint taken in onStep', async () => {
    const start = t.ens.getParams();
    const opt = adam({ learningRate: 0.01 });
    const o = { epochs: 3, batchSize: 16, shuffle: true };
    let saved: { state: ReturnType<StepLogs['state']>; params: ReturnType<typeof t.ens.getParams>; opt: ReturnType<typeof t.ens.getOptimizerState> } | null = null;
    await t.ens.fit({ x, y }, { ...o, optimizer: opt, onStep: (l) => void (l.globalStep === 4 && (saved = { state: l.state(), params: t.ens.getParams(), opt: t.ens.getOptimizerState(opt) })) });
    const straight = t.ens.getParams();
    t.ens.setParams(saved!.params);
    const resumed = adam({ learningRate: 0.01 });
    t.ens.setOptimizerState(resumed, saved!.opt);
    await t.ens.fit({ x, y }, { ...o, optimizer: resumed, initialState: saved!.state });
    for (const [n, v] of Object.entries(t.ens.getParams())) assert.ok(sameBytes(v.data, straight[n]!.data), `params.${n}`);
    assert.ok(!sameBytes(start.W1!.data, straight.W1!.data));
  });
});
