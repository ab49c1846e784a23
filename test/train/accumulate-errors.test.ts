/**
 * An accumulator's lifecycle and failures: nothing is applied before step(); a failed add (a sample
 * that throws, a non-finite one under 'throw', an abort) changes nothing, says so, and leaves the
 * accumulator open and usable; steps, fit, setParams, setOptimizerState and a second accumulator are
 * refused while one is open, naming it; calls on an ended accumulator are refused; no leaks.
 */
import assert from 'node:assert/strict';
import { adam, GradPool, sgd } from '../../src/index.js';
import { SPIN } from '../fixtures/models/stuck.js';
import { rejectsExactly, sameBytes, throwsExactly } from '../helpers/assert.js';
import { randn, seedBatch } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { openGate } from '../helpers/gate.js';
import { assertSameState, poolState } from '../helpers/state.js';

const B = 8;
const y = new Float32Array(B).fill(0.5);
const clean = (k: number) => seedBatch(B, (i) => Math.sin(i + k));
/** A clean batch whose sample `s` starts with `sentinel` (the faulty fixture: 555 → NaN, 666 → throws). */
function withSentinel(k: number, s: number, sentinel: number): Float32Array {
  const x = clean(k);
  x[s * 6] = sentinel;
  return x;
}
const cat = (...a: Float32Array[]) => Float32Array.from(a.flatMap((v) => Array.from(v)));
const UNCHANGED = '; the batch was not added: the accumulator is unchanged and still open';

describe('train: accumulate, failures and lifecycle', function () {
  let pool: GradPool;
  let twin: GradPool;
  const optimizer = adam({ learningRate: 0.05 });
  const twinOpt = adam({ learningRate: 0.05 });

  before(async () => {
    [pool, twin] = await Promise.all([0, 1].map(() => GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop', seed: 3 })));
    for (const [p, o] of [[pool, optimizer], [twin, twinOpt]] as const) await p.step(clean(9), y, { optimizer: o }); // non-trivial optimizer state
  });
  after(() => Promise.all([pool?.close(), twin?.close()]));

  it('a sample that throws, or is non-finite under throw, fails its add naming its index in the logical batch; nothing changes; the accumulator goes on to the same bits as a step on the batches that were added', async () => {
    const before = poolState(pool, optimizer);
    const acc = pool.accumulate({ optimizer });
    await acc.add(clean(1), y);
    await rejectsExactly(acc.add(withSentinel(2, 5, 666), y), `accumulator.add: sample 13: bad sample${UNCHANGED}`, 'ERR_SAMPLE_FAILED');
    await rejectsExactly(acc.add(withSentinel(2, 6, 555), y), `accumulator.add: sample 14 has a non-finite loss or gradient; parameters and optimizer state are unchanged${UNCHANGED}`, 'ERR_NON_FINITE_GRADIENT');
    assertSameState(poolState(pool, optimizer), before);
    assert.equal(acc.open, true);
    assert.deepEqual(acc.progress, { batches: 1, samples: 8 });
    await acc.add(clean(3), y);
    const got = await acc.step();
    assert.equal(acc.open, false);
    const want = await twin.step(cat(clean(1), clean(3)), cat(y, y), { optimizer: twinOpt });
    assert.deepEqual(got, want);
    assertSameState(poolState(pool, optimizer), poolState(twin, twinOpt));
  });

  it("nonFinite 'skip-step': a non-finite sample in a later physical batch skips the step, naming its logical index; nothing changes", async () => {
    const before = poolState(pool, optimizer);
    const acc = pool.accumulate({ optimizer, nonFinite: 'skip-step' });
    await acc.add(clean(1), y);
    await acc.add(withSentinel(2, 3, 555), y);
    const r = await acc.step();
    assert.equal(r.skipped, true);
    assert.equal(r.skipReason, 'accumulator.step: sample 11 has a non-finite loss or gradient; parameters and optimizer state are unchanged');
    assert.equal(r.batch, 16);
    assertSameState(poolState(pool, optimizer), before);
    assert.equal(acc.open, false, 'a skipped step ends the accumulator, as it ends the logical batch');
  });

  it('while an accumulator is open, step, fit, setParams, setOptimizerState and a second accumulator are refused naming it; after discard() they work', async () => {
    const before = poolState(pool, optimizer);
    const acc = pool.accumulate({ optimizer });
    await acc.add(clean(1), y);
    await acc.add(clean(2), y);
    const open = `expected no open accumulator on this pool (finish it with step() or discard() first), got accumulator ${acc.id} (2 physical batches, 16 samples added)`;
    await rejectsExactly(pool.step(clean(1), y, { optimizer }), `step: ${open}`, 'ERR_ACCUMULATOR_OPEN');
    await rejectsExactly(pool.fit({ x: clean(1), y }, { optimizer }), `fit: ${open}`, 'ERR_ACCUMULATOR_OPEN');
    throwsExactly(() => pool.setParams({ b: [1] }), `setParams: ${open}`, 'ERR_ACCUMULATOR_OPEN');
    throwsExactly(() => pool.setOptimizerState(optimizer, pool.getOptimizerState(optimizer)), `setOptimizerState: ${open}`, 'ERR_ACCUMULATOR_OPEN');
    throwsExactly(() => pool.accumulate({ optimizer }), `accumulate: ${open}`, 'ERR_ACCUMULATOR_OPEN');
    // Calls that apply nothing may run in between.
    assert.equal((await pool.predict(clean(1))).shape[0], B);
    acc.discard();
    acc.discard(); // ending twice is a no-op
    assertSameState(poolState(pool, optimizer), before);
    const closed = `expected an open accumulator, got accumulator ${acc.id} (2 physical batches, 16 samples added), already discarded (open a new one with pool.accumulate())`;
    await rejectsExactly(acc.add(clean(1), y), `accumulator.add: ${closed}`, 'ERR_ACCUMULATOR_CLOSED');
    await rejectsExactly(acc.step(), `accumulator.step: ${closed}`, 'ERR_ACCUMULATOR_CLOSED');
    await pool.step(clean(4), y, { optimizer: sgd({ learningRate: 0 }) });
  });

  it('add or step after step is refused naming the accumulator; an add queued behind the step is refused when it runs', async () => {
    const acc = pool.accumulate({ optimizer: sgd({ learningRate: 0 }) });
    await acc.add(clean(1), y);
    const stepping = acc.step();
    const queued = acc.add(clean(2), y); // made before the step ran: refused once it does
    await stepping;
    const closed = `expected an open accumulator, got accumulator ${acc.id} (1 physical batch, 8 samples added), already stepped (open a new one with pool.accumulate())`;
    await rejectsExactly(queued, `accumulator.add: ${closed}`, 'ERR_ACCUMULATOR_CLOSED');
    await rejectsExactly(acc.add(clean(2), y), `accumulator.add: ${closed}`, 'ERR_ACCUMULATOR_CLOSED');
    await rejectsExactly(acc.step(), `accumulator.step: ${closed}`, 'ERR_ACCUMULATOR_CLOSED');
  });

  it('bad options and an empty logical batch are refused naming the field, with nothing opened', async () => {
    throwsExactly(() => pool.accumulate({ optimizer, chunkSize: 0 }), 'chunkSize: expected a positive integer, got 0');
    throwsExactly(() => pool.accumulate({ optimizer, signal: new AbortController().signal } as never), 'options.signal: unknown field (expected one of: optimizer, dp, nonFinite, update, chunkSize)');
    throwsExactly(() => pool.accumulate({ optimizer, dp: { maxGradNorm: -1, noiseMultiplier: 1 } }), 'dp.maxGradNorm: expected a positive number, got -1');
    const acc = pool.accumulate({ optimizer });
    await rejectsExactly(acc.step(), `accumulator: expected at least one sample added before step() (an empty batch is only meaningful with dp), got accumulator ${acc.id} (0 physical batches, 0 samples added)`);
    acc.discard();
    const dpAcc = pool.accumulate({ optimizer, dp: { maxGradNorm: 1, noiseMultiplier: 1 } });
    await dpAcc.add(new Float32Array(0), new Float32Array(0));
    await rejectsExactly(dpAcc.step(), 'dp.expectedBatchSize: expected a positive number for an empty batch (the noisy gradient sum is divided by it, else by the batch size, here 0), got undefined');
    dpAcc.discard();
  });

  it('an empty DP logical batch steps exactly as pool.step on an empty batch (noise only)', async () => {
    const dp = { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 8 };
    const acc = pool.accumulate({ optimizer, dp });
    await acc.add(new Float32Array(0), new Float32Array(0));
    const got = await acc.step();
    const want = await twin.step(new Float32Array(0), new Float32Array(0), { optimizer: twinOpt, dp });
    assert.deepEqual(got, want);
    assertSameState(poolState(pool, optimizer), poolState(twin, twinOpt));
  });

  it('a multi-node pool refuses accumulate naming cluster', () => {
    const accumulate = GradPool.prototype.accumulate;
    throwsExactly(() => accumulate.call({ cluster: {} } as never, { optimizer }), 'cluster: expected a single-node pool for accumulate (virtual batches do not run across nodes), got a multi-node pool');
  });

  it('1,000 adds keep worker tensor counts and shared buffers constant', async () => {
    const p = await GradPool.create({ model: fixture('mlp'), threads: 2, seed: 1 });
    try {
      const x = randn(6 * 5, 4);
      const t = randn(6 * 3, 5);
      const o = sgd({ learningRate: 0.01 });
      const dp = { maxGradNorm: 1, noiseMultiplier: 0.5 };
      let acc = p.accumulate({ optimizer: o, dp });
      const run = async (i: number) => {
        await acc.add(x, t);
        if (i % 50 === 49) {
          await acc.step();
          acc = p.accumulate({ optimizer: o, dp });
        }
      };
      for (let i = 0; i < 50; i++) await run(i);
      const at50 = p.stats();
      for (let i = 50; i < 1000; i++) await run(i);
      const at1000 = p.stats();
      assert.deepEqual(at1000.workers.map((w) => [w.threadId, w.numTensors]), at50.workers.map((w) => [w.threadId, w.numTensors]));
      assert.equal(at1000.sharedAllocations, at50.sharedAllocations, 'shared buffers were reallocated');
      assert.equal(p.randomCalls, 20, 'one call number per logical batch');
    } finally {
      await p.close();
    }
  });
});

describe('train: accumulate, aborting an add', function () {
  it('aborting a running add terminates its workers and rejects; nothing changes; the accumulator stays open and steps to the bits of the batches added', async () => {
    const [pool, twin] = await Promise.all([0, 1].map(() => GradPool.create({ model: fixture('stuck'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' })));
    const gate = openGate();
    try {
      const [o1, o2] = [adam({ learningRate: 0.05 }), adam({ learningRate: 0.05 })];
      const before = poolState(pool, o1);
      const acc = pool.accumulate({ optimizer: o1 });
      await acc.add(clean(1), y);
      const ac = new AbortController();
      const call = acc.add(seedBatch(B, Math.sin, SPIN), y, { signal: ac.signal });
      await gate.started(1);
      ac.abort();
      await rejectsExactly(call, `accumulator.add: aborted by its signal; the workers running it were terminated and replaced, and parameters and optimizer state are unchanged${UNCHANGED}`, 'ERR_ABORTED');
      assertSameState(poolState(pool, o1), before);
      await acc.add(clean(2), y);
      const got = await acc.step();
      const want = await twin.step(cat(clean(1), clean(2)), cat(y, y), { optimizer: o2 });
      assert.deepEqual(got, want);
      assert.ok(sameBytes(pool.getParams().W!.data, twin.getParams().W!.data));
      assertSameState(poolState(pool, o1), poolState(twin, o2));
    } finally {
      gate.release();
      gate.close();
      await Promise.all([pool.close({ force: true, graceMs: 0 }), twin.close()]);
    }
  });
});
