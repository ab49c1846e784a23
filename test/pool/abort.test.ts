// Every call takes { signal }: aborting a call that is really running (a model stuck in a loop, held
// by the fixture's gate rather than timed) terminates and replaces the workers running it, rejects
// with ERR_ABORTED, and leaves parameters and optimizer state bit-identical; the pool works on.
import assert from 'node:assert/strict';
import { adam, GradPool } from '../../src/index.js';
import { HOLD, SPIN } from '../fixtures/models/stuck.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';
import { fixture } from '../helpers/env.js';
import { openGate, type Gate } from '../helpers/gate.js';
import { assertSameState, poolState } from '../helpers/state.js';
import { seedBatch } from '../helpers/data.js';

const B = 8;
const y = new Float32Array(B).fill(0.5);
const clean = () => seedBatch(B, Math.sin);
/** A batch whose sample 0 (in chunk 0) spins forever, or blocks until the gate is released. */
const stuck = (sentinel: number) => seedBatch(B, Math.sin, sentinel);
const aborted = (op: string) => `${op}: aborted by its signal; the workers running it were terminated and replaced, and parameters and optimizer state are unchanged`;

describe('pool: { signal } aborts a call', function () {
  let pool: GradPool;
  let gate: Gate;
  const optimizer = adam({ learningRate: 0.05 });
  let reference: Float32Array;

  before(async function () {
    pool = await GradPool.create({ model: fixture('stuck'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' });
    for (let s = 0; s < 2; s++) await pool.step(clean(), y, { optimizer }); // non-trivial optimizer state
    reference = (await pool.gradient(clean(), y)).grads.W!.data;
  });
  after(() => pool?.close({ force: true, graceMs: 0 }));
  beforeEach(() => (gate = openGate()));
  afterEach(() => {
    gate.release(); // never leave a worker blocked on the gate
    gate.close();
  });

  /** After a failed call: nothing changed, and the pool (both workers) gives the same answer as before. */
  async function assertRecovered(before: ReturnType<typeof poolState>): Promise<void> {
    assertSameState(poolState(pool, optimizer), before);
    const again = await pool.gradient(clean(), y);
    assert.ok(sameBytes(again.grads.W!.data, reference), 'the next call differs from before the abort');
    assert.equal(pool.stats().workers.length, 2, 'the pool is back to 2 live workers');
  }

  const calls: { op: string; run: (signal: AbortSignal) => Promise<unknown> }[] = [
    { op: 'predict', run: (signal) => pool.predict(stuck(SPIN), { signal }) },
    { op: 'evaluate', run: (signal) => pool.evaluate(stuck(SPIN), y, { signal }) },
    { op: 'perSampleGrads', run: (signal) => pool.perSampleGrads(stuck(SPIN), y, { signal }) },
    { op: 'gradient', run: (signal) => pool.gradient(stuck(SPIN), y, { signal }) },
    { op: 'step', run: (signal) => pool.step(stuck(SPIN), y, { optimizer, signal }) },
    // fit's first batch (no shuffle) holds the stuck sample: the step it is running is aborted.
    { op: 'fit', run: (signal) => pool.fit({ x: stuck(SPIN), y }, { optimizer, batchSize: B, shuffle: false, signal }) },
  ];
  for (const c of calls) {
    it(`${c.op}: aborting it while its model spins forever terminates the workers, rejects with ERR_ABORTED and changes nothing`, async () => {
      const before = poolState(pool, optimizer);
      const ac = new AbortController();
      const call = c.run(ac.signal);
      await gate.started(1);
      ac.abort();
      const fitStep = 'fit: step 1 (epoch 0, batch 0): aborted by its signal; the workers running it were terminated and replaced; that step was not applied; no earlier step of this fit was applied: parameters and optimizer state are as before this fit';
      await rejectsExactly(call, c.op === 'fit' ? fitStep : aborted(c.op), 'ERR_ABORTED');
      await assertRecovered(before);
    });
  }

  it("fit aborted in its second step says the first was applied (not \"unchanged\")", async () => {
    const before = poolState(pool, optimizer);
    const x = new Float32Array(2 * B * 6);
    x.set(clean());
    x.set(stuck(SPIN), B * 6); // batch 1 holds the stuck sample
    const ac = new AbortController();
    const call = pool.fit({ x, y: new Float32Array(2 * B).fill(0.5) }, { optimizer, batchSize: B, shuffle: false, signal: ac.signal });
    await gate.started(1);
    ac.abort();
    await rejectsExactly(call, 'fit: step 2 (epoch 0, batch 1): aborted by its signal; the workers running it were terminated and replaced; that step was not applied; 1 earlier step of this fit was applied: parameters and optimizer state are as after step 1', 'ERR_ABORTED');
    assert.equal(poolState(pool, optimizer).step, before.step + 1, 'exactly the first step was applied');
    pool.setParams(before.params); // the later tests compare gradients with the reference taken at these parameters
  });

  it('a signal that has already fired rejects at once, and the model never runs', async () => {
    const before = poolState(pool, optimizer);
    const ac = new AbortController();
    ac.abort();
    await rejectsExactly(pool.step(stuck(SPIN), y, { optimizer, signal: ac.signal }), 'step: aborted by its signal before it started; nothing ran', 'ERR_ABORTED');
    await assertRecovered(before);
    assert.equal(gate.count, 0, 'the model was run');
  });

  it('aborting a queued call drops it from the queue; the call running before it is unaffected', async () => {
    const before = poolState(pool, optimizer);
    const held = pool.gradient(stuck(HOLD), y);
    await gate.started(1);
    const ac = new AbortController();
    const queued = pool.step(stuck(SPIN), y, { optimizer, signal: ac.signal });
    ac.abort();
    // It rejects while the held call is still blocked on the gate: it was never started.
    await rejectsExactly(queued, 'step: aborted by its signal before it started; nothing ran', 'ERR_ABORTED');
    assert.equal(gate.count, 1, 'the dropped call ran its model');
    gate.release();
    const done = await held;
    assert.equal(done.batch, B);
    await assertRecovered(before);
  });

  it('a signal that fires after the call finished changes nothing', async () => {
    const ac = new AbortController();
    const r = await pool.gradient(clean(), y, { signal: ac.signal });
    ac.abort();
    assert.ok(sameBytes(r.grads.W!.data, reference));
    assert.ok(sameBytes((await pool.gradient(clean(), y, { signal: new AbortController().signal })).grads.W!.data, reference));
  });

  it('refuses a signal that is not an AbortSignal, naming it', async () => {
    const notASignal = { aborted: false } as unknown as AbortSignal;
    await rejectsExactly(() => pool.predict(clean(), { signal: notASignal }), 'options.signal: expected an AbortSignal (e.g. new AbortController().signal), got {"aborted":false}', 'ERR_INVALID_ARG_TYPE');
    await rejectsExactly(() => pool.step(clean(), y, { optimizer, signal: notASignal }), 'options.signal: expected an AbortSignal (e.g. new AbortController().signal), got {"aborted":false}', 'ERR_INVALID_ARG_TYPE');
  });
});
