// fit's privacy accounting: the accountant choice (PRV default), a target ε that picks σ, the
// accountant's history in the fit state (exact and heterogeneous resume), and the bad inputs.
import assert from 'node:assert/strict';
import { GradPool, prvEpsilon, rdpEpsilon, sgd, type FitState } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';

describe('train: fit with DP accounting', function () {
  const N = 120;
  const x = randn(N * 5, 61);
  const y = oneHot(N, 3, 62);
  const q = 12 / N; // batchSize 12: 10 Poisson steps per epoch
  let pool: GradPool;
  let start: ReturnType<GradPool['getParams']>;
  const flat = () => Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data)));

  before(async function () {
    pool = await GradPool.create({ model: fixture('mlp'), threads: 2, seed: 9, chunkSize: 8 });
    start = pool.getParams();
  });
  beforeEach(() => pool.setParams(start));
  after(() => pool?.close());

  it('reports ε under the PRV accountant by default, and under RDP on request, each equal to its accountant recomputed', async () => {
    const dp = { maxGradNorm: 1, noiseMultiplier: 1.3, delta: 1e-3 };
    const h = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 2, batchSize: 12, dp });
    assert.equal(h.steps, 20);
    assert.equal(h.noiseMultiplier, 1.3);
    assert.equal(h.epsilon, prvEpsilon({ sampleRate: q, noiseMultiplier: 1.3, steps: 20, delta: 1e-3 }));
    pool.setParams(start);
    const seen: number[] = [];
    const r = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 2, batchSize: 12, dp: { ...dp, accountant: 'rdp' }, onStep: (l) => void seen.push(l.epsilon!) });
    assert.equal(r.epsilon, rdpEpsilon({ sampleRate: q, noiseMultiplier: 1.3, steps: 20, delta: 1e-3 }));
    assert.equal(seen[6], rdpEpsilon({ sampleRate: q, noiseMultiplier: 1.3, steps: 7, delta: 1e-3 }));
    assert.ok(h.epsilon! < r.epsilon!, `PRV ${h.epsilon} should be tighter than RDP ${r.epsilon}`);
  });

  it("a step's logged ε is that step's, even when read after later steps", async () => {
    const kept: { epsilon?: number }[] = [];
    await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 12, dp: { maxGradNorm: 1, noiseMultiplier: 1.3, delta: 1e-3 }, onStep: (l) => void kept.push(l) });
    assert.equal(kept[2]!.epsilon, prvEpsilon({ sampleRate: q, noiseMultiplier: 1.3, steps: 3, delta: 1e-3 }));
  });

  for (const accountant of ['prv', 'rdp'] as const) {
    it(`targetEpsilon picks σ so the whole run ends within 1% below the target (${accountant})`, async () => {
      const target = 3;
      const states: FitState[] = [];
      const h = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 3, batchSize: 12, dp: { maxGradNorm: 1, targetEpsilon: target, delta: 1e-3, accountant }, onStep: (l) => void states.push(l.state()) });
      const sigma = h.noiseMultiplier!;
      const recomputed = (accountant === 'prv' ? prvEpsilon : rdpEpsilon)({ sampleRate: q, noiseMultiplier: sigma, steps: 30, delta: 1e-3 });
      assert.equal(h.steps, 30);
      assert.equal(h.epsilon, recomputed);
      assert.ok(recomputed <= target && recomputed >= 0.99 * target, `ε ${recomputed} not in [${0.99 * target}, ${target}]`);
      // The chosen σ is what the steps used and what the state (and so a checkpoint) keeps.
      assert.equal(states.at(-1)!.dp!.noiseMultiplier, sigma);
      assert.deepEqual(states.at(-1)!.dp!.phases, [{ sampleRate: q, noiseMultiplier: sigma, steps: 30 }]);
    });
  }

  it('resumes with ε continuing exactly, and composes heterogeneously when σ changes on resume', async () => {
    const dp = { maxGradNorm: 1, noiseMultiplier: 1.1, delta: 1e-3 };
    // A fresh optimizer per fit: its update count is the DP noise counter, so it must be restored on resume.
    const opts = () => ({ optimizer: sgd({ learningRate: 0.1 }), epochs: 2, batchSize: 12 });
    const full = await pool.fit({ x, y }, { ...opts(), dp });
    const fullParams = flat();
    pool.setParams(start);
    let saved: { state: FitState; params: ReturnType<GradPool['getParams']>; opt: ReturnType<GradPool['getOptimizerState']> } | null = null;
    const o1 = opts();
    await pool.fit({ x, y }, { ...o1, dp, onStep: (l) => (l.globalStep === 7 ? ((saved = { state: l.state(), params: pool.getParams(), opt: pool.getOptimizerState(o1.optimizer) }), false) : undefined) });
    const resume = () => {
      const o = opts();
      pool.setParams(saved!.params);
      pool.setOptimizerState(o.optimizer, saved!.opt);
      return o;
    };
    const resumed = await pool.fit({ x, y }, { ...resume(), dp, initialState: saved!.state });
    assert.equal(resumed.epsilon, full.epsilon);
    assert.ok(sameBytes(flat(), fullParams), 'resumed parameters differ from the uninterrupted run');
    // Same checkpoint, resumed with σ = 2: 7 steps at 1.1, then 13 at 2.
    let last: FitState | null = null;
    const hetero = await pool.fit({ x, y }, { ...resume(), dp: { ...dp, noiseMultiplier: 2 }, initialState: saved!.state, onStep: (l) => void (last = l.state()) });
    const phases = [{ sampleRate: q, noiseMultiplier: 1.1, steps: 7 }, { sampleRate: q, noiseMultiplier: 2, steps: 13 }];
    assert.deepEqual(last!.dp!.phases, phases);
    assert.equal(hetero.epsilon, prvEpsilon({ phases, delta: 1e-3 }));
    assert.ok(hetero.epsilon! < full.epsilon!);
  });

  it('a resumed targetEpsilon run keeps the σ chosen when it began', async () => {
    const dp = { maxGradNorm: 1, targetEpsilon: 4, delta: 1e-3, accountant: 'rdp' as const };
    let saved: FitState | null = null;
    const first = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 2, batchSize: 12, dp, onStep: (l) => (l.globalStep === 5 ? ((saved = l.state()), false) : undefined) });
    const chosen = saved!.dp!.noiseMultiplier;
    assert.equal(first.noiseMultiplier, chosen);
    // A different target on resume does not re-pick σ mid-run.
    const resumed = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 2, batchSize: 12, dp: { ...dp, targetEpsilon: 1 }, initialState: saved! });
    assert.equal(resumed.noiseMultiplier, chosen);
    assert.equal(resumed.epsilon, rdpEpsilon({ sampleRate: q, noiseMultiplier: chosen, steps: 20, delta: 1e-3 }));
  });

  it('counts the DP steps of a state saved before the accountant history existed', async () => {
    let saved: FitState | null = null;
    const dp = { maxGradNorm: 1, noiseMultiplier: 1.2, delta: 1e-3 };
    await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 12, dp, onStep: (l) => (l.globalStep === 4 ? ((saved = l.state()), false) : undefined) });
    const { dp: _history, ...legacy } = saved!;
    const h = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 12, dp, initialState: legacy });
    assert.equal(h.epsilon, prvEpsilon({ sampleRate: q, noiseMultiplier: 1.2, steps: 10, delta: 1e-3 }));
  });

  it('refuses bad DP input naming the field, with parameters unchanged', async () => {
    const before = flat();
    const fit = (dp: object) => pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 3, batchSize: 12, dp: dp as never });
    await assert.rejects(fit({ maxGradNorm: 1, noiseMultiplier: 1, targetEpsilon: 2 }), {
      message: 'dp.noiseMultiplier|dp.targetEpsilon: expected one of dp.noiseMultiplier and dp.targetEpsilon, not both, got {"noiseMultiplier":1,"targetEpsilon":2}',
    });
    await assert.rejects(fit({ maxGradNorm: 1 }), { message: 'dp.noiseMultiplier|dp.targetEpsilon: expected one of dp.noiseMultiplier and dp.targetEpsilon, got undefined' });
    await assert.rejects(fit({ maxGradNorm: 1, targetEpsilon: 0.005, delta: 1e-3 }), {
      message: "dp.targetEpsilon: expected a number > 0.0100000 (the PRV accountant's epsError, which its upper bound adds even for infinite noise), got 0.005",
    });
    await assert.rejects(fit({ maxGradNorm: 1, targetEpsilon: 0.02, delta: 1e-3, accountant: 'rdp' }), /^GradPoolError: dp\.targetEpsilon: expected a number > 0\.\d+ \(the epsilon of infinite noise at this delta under the RDP accountant\), got 0\.02$/);
    await assert.rejects(fit({ maxGradNorm: 1, targetEpsilon: -1 }), { message: 'dp.targetEpsilon: expected a finite number > 0, got -1' });
    await assert.rejects(fit({ maxGradNorm: 1, noiseMultiplier: 1, accountant: 'gdp' }), { message: "dp.accountant: expected 'prv' or 'rdp', got \"gdp\"" });
    await assert.rejects(fit({ maxGradNorm: 1, noiseMultiplier: 1, secureRng: 'yes' }), { message: 'dp.secureRng: expected a boolean, got "yes"' });
    assert.ok(sameBytes(flat(), before));
  });

  it("refuses a wrong initialState.dp by its field", async () => {
    let saved: FitState | null = null;
    const dp = { maxGradNorm: 1, noiseMultiplier: 1.2, delta: 1e-3 };
    await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 12, dp, onStep: (l) => (l.globalStep === 2 ? ((saved = l.state()), false) : undefined) });
    const bad = (d: unknown) => pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 12, dp, initialState: { ...saved!, dp: d } as never });
    await assert.rejects(bad({ noiseMultiplier: 1.2, phases: [{ sampleRate: 0.1, noiseMultiplier: 1.2, steps: 0 }] }), { message: 'initialState.dp.phases[0].steps: expected a positive integer, got 0' });
    await assert.rejects(bad({ noiseMultiplier: -1, phases: [] }), { message: 'initialState.dp.noiseMultiplier: expected a finite number >= 0, got -1' });
    await assert.rejects(bad({ noiseMultiplier: 1, phases: [], sigma: 2 }), /^GradPoolError: initialState\.dp\.sigma: unknown field/);
  });

  it('warns once when delta >= 1/N, as Opacus advises', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 2; i++) await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 12, dp: { maxGradNorm: 1, noiseMultiplier: 1, delta: 0.01 } });
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    const mine = warnings.filter((w) => w.startsWith('dp.delta'));
    assert.equal(mine.length, 1, warnings.join('\n'));
    assert.match(mine[0]!, /^dp\.delta: 0\.01 is >= 1\/N = 1\/120 \(N = 120 training samples\); set delta below the inverse of the training set size/);
  });
});
