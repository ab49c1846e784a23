// Rank 0 alone runs the update and broadcasts the outcome: on 2 and 3 nodes, every node returns the
// single pool's StepResult (applied, skipped with its reason) or its error (a sample's non-finite
// gradient or throw on any node's share, an overflowing update, a failing learning-rate schedule), and
// every node's parameters stay the single pool's bits; rank 0's optimizer state is the single pool's,
// and the followers hold none. The outcome's encoding keeps NaN and -0, and refuses a wrong size.
import assert from 'node:assert/strict';
import { GradPool, adam, sgd, type GradPoolOptions, type StepOptions } from '../../src/index.js';
import { decodeOutcome, encodeOutcome } from '../../src/cluster/outcome.js';
import { fixture } from '../helpers/env.js';
import { seedBatch } from '../helpers/data.js';
import { startNats, type NatsServer } from './nats.js';

const B = 12; // chunks of 4: 3 chunks
const base: GradPoolOptions = { model: fixture('faulty'), threads: 1, backend: 'cpu', chunkSize: 4, executor: 'loop', seed: 9 };
const bits = (p: Record<string, { data: Float32Array }>) => Object.keys(p).sort().map((k) => Buffer.from(p[k]!.data.buffer, p[k]!.data.byteOffset, p[k]!.data.byteLength).toString('hex')).join('|');
const y = new Float32Array(B).fill(0.3);
const batch = (sentinel?: [sample: number, value: number]) => {
  const x = seedBatch(B, Math.cos);
  if (sentinel) x[sentinel[0] * 6] = sentinel[1];
  return x;
};

type Settled = { ok: true; value: unknown } | { ok: false; code: string; message: string };
const settle = async (p: Promise<unknown>): Promise<Settled> => {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, code: (e as { code: string }).code, message: (e as Error).message };
  }
};

describe('cluster: rank 0 runs the update and broadcasts the outcome', function () {
  let nats: NatsServer;
  let run = 0;
  before(async () => (nats = await startNats()));
  after(async () => nats?.stop());

  const nodesOf = (n: number) => {
    const runId = `o${++run}`;
    return Promise.all(Array.from({ length: n }, (_, rank) => GradPool.create({ ...base, cluster: { nodes: n, rank, nats: nats.url, runId, heartbeatMs: 200, heartbeatTimeoutMs: 4000 } })));
  };

  /** Each call: a batch and the step options for a given optimizer (one per pool, as separate processes). */
  /** Each call: what the single pool gives (applied, skipped or an error code), a batch, and the step options. */
  const calls: [string, string, () => Float32Array, (opt: StepOptions['optimizer'], big: StepOptions['optimizer'], failing: StepOptions['optimizer']) => StepOptions][] = [
    ['a clean step', 'applied', () => batch(), (opt) => ({ optimizer: opt })],
    ['a non-finite sample in the first node of the chain', 'ERR_NON_FINITE_GRADIENT', () => batch([1, 555]), (opt) => ({ optimizer: opt })],
    ["a non-finite sample in rank 0's share", 'ERR_NON_FINITE_GRADIENT', () => batch([9, 555]), (opt) => ({ optimizer: opt })],
    ["'skip-step' over a non-finite sample", 'skipped', () => batch([6, 555]), (opt) => ({ optimizer: opt, nonFinite: 'skip-step' })],
    ['a sample that throws', 'ERR_SAMPLE_FAILED', () => batch([10, 666]), (opt) => ({ optimizer: opt })],
    ['an overflowing update', 'ERR_NON_FINITE_UPDATE', () => batch(), (_, big) => ({ optimizer: big })],
    ["an overflowing update under 'skip-step'", 'skipped', () => batch(), (_, big) => ({ optimizer: big, nonFinite: 'skip-step' })],
    ['a learning-rate schedule that fails on rank 0', 'ERR_INVALID_OPTION', () => batch(), (_, __, failing) => ({ optimizer: failing })],
    ['a clean step after them', 'applied', () => batch(), (opt) => ({ optimizer: opt })],
    ['DP-SGD', 'applied', () => batch(), (opt) => ({ optimizer: opt, dp: { maxGradNorm: 0.1, noiseMultiplier: 0.7, clipping: 'per-sample' } })],
  ];
  const optimizers = () => [adam({ learningRate: 0.05 }), sgd({ learningRate: 1e300 }), sgd({ learningRate: () => NaN })] as const;

  for (const n of [2, 3]) {
    it(`${n} nodes: every node returns the single pool's result or error, and holds its parameters`, async () => {
      const single = await GradPool.create(base);
      const pools = await nodesOf(n);
      try {
        const own = optimizers();
        const theirs = pools.map(optimizers);
        for (const [what, kind, x, options] of calls) {
          const xb = x();
          const want = await settle(single.step(xb, y, options(...own)));
          const wantKind = want.ok ? ((want.value as { skipped: boolean }).skipped ? 'skipped' : 'applied') : want.code;
          assert.equal(wantKind, kind, `${what}: the single pool's outcome (${JSON.stringify(want)})`);
          const got = await Promise.all(pools.map((p, k) => settle(p.step(xb, y, options(...theirs[k]!)))));
          got.forEach((g, k) => assert.deepEqual(g, want, `${what}: rank ${k}`));
          pools.forEach((p, k) => assert.equal(bits(p.getParams()), bits(single.getParams()), `${what}: rank ${k}'s parameters`));
          assert.equal(pools[0]!.randomCalls, single.randomCalls, `${what}: random-call counter`);
          pools.forEach((p, k) => assert.equal(p.randomCalls, single.randomCalls, `${what}: rank ${k}'s random-call counter`));
        }
        const [a, b] = [single.getOptimizerState(own[0]), pools[0]!.getOptimizerState(theirs[0]![0])];
        assert.equal(b.step, a.step);
        for (const k of Object.keys(a.slots)) assert.ok(Buffer.from(a.slots[k]!.buffer).equals(Buffer.from(b.slots[k]!.buffer)), `rank 0's optimizer slot ${k}`);
        for (let k = 1; k < n; k++) assert.throws(() => pools[k]!.getOptimizerState(theirs[k]![0]), { code: 'ERR_INVALID_OPTION', message: `getOptimizerState: expected a call on rank 0 of a multi-node run (rank 0 alone holds the optimizer state), got rank ${k}` });
      } finally {
        await single.close();
        await Promise.all(pools.map((p) => p.close()));
      }
    });
  }

  it('a follower refuses setParams and optimizer state; rank 0 refuses setParams once the run has assembled', async () => {
    const pools = await nodesOf(2);
    try {
      const W = new Float32Array(6).fill(0.1);
      assert.throws(() => pools[1]!.setParams({ W }), { code: 'ERR_INVALID_OPTION', message: 'setParams: expected a call on rank 0 of a multi-node run (rank 0 alone holds the parameters and broadcasts them), got rank 1' });
      assert.throws(() => pools[1]!.setOptimizerState(adam(), { step: 0, slots: {} }), { code: 'ERR_INVALID_OPTION', message: /^setOptimizerState: expected a call on rank 0/ });
      pools[0]!.setParams({ W }); // before the start: sent to the others
      const o = pools.map(() => sgd({ learningRate: 0 }));
      await Promise.all(pools.map((p, k) => p.step(batch(), y, { optimizer: o[k]! })));
      assert.deepEqual(Array.from(pools[1]!.getParams().W!.data), Array.from(W));
      const before = bits(pools[0]!.getParams());
      assert.throws(() => pools[0]!.setParams({ W }), { code: 'ERR_INVALID_OPTION', message: 'setParams: expected a call before the multi-node run assembles (rank 0 sends its parameters to the others at the start; later ones would not reach them), got a call at step 1' });
      assert.equal(bits(pools[0]!.getParams()), before);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('the outcome travels exactly (NaN, -0, Infinity) and a wrong size is refused, naming it', () => {
    const result = { loss: NaN, gradNorm: -0, lr: Infinity, batch: 0, step: 3, skipped: true, skipReason: 'why', clippedFraction: 0.1 + 0.2 };
    const back = decodeOutcome(encodeOutcome({ status: 'skipped', result, randomCalls: 7 }), 5);
    assert.ok(typeof back !== 'string' && back.status === 'skipped');
    assert.ok(Object.is(back.result.gradNorm, -0));
    assert.deepEqual(back, { status: 'skipped', result, randomCalls: 7 });
    const params = Float32Array.from([1, -0, 3.5e-39, 4, 5]);
    const applied = decodeOutcome(encodeOutcome({ status: 'applied', result: { ...result, skipped: false }, randomCalls: 7, params }), 5);
    assert.ok(typeof applied !== 'string' && applied.status === 'applied');
    assert.ok(Buffer.from(applied.params.buffer).equals(Buffer.from(params.buffer)));
    assert.equal(decodeOutcome(encodeOutcome({ status: 'applied', result, randomCalls: 7, params }), 6), 'the applied outcome holds 20 bytes of parameters, expected 24');
    assert.equal(decodeOutcome(new Uint8Array([200, 0, 0, 0, 1]), 5), 'an outcome whose head (200 bytes) runs past its 5 bytes');
  });
});
