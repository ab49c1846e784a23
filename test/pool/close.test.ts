// close() drains queued calls and close({ force: true }) rejects them; a call still running after the
// grace period (here: a model stuck in a loop, held by the fixture's gate, never timed) has its workers
// terminated and rejects with ERR_ABORTED, parameters unchanged. Neither ever hangs.
import assert from 'node:assert/strict';
import { GradPool, sgd } from '../../src/index.js';
import { HOLD, SPIN } from '../fixtures/models/stuck.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';
import { fixture } from '../helpers/env.js';
import { openGate, type Gate } from '../helpers/gate.js';
import { seedBatch } from '../helpers/data.js';

const B = 8;
const y = new Float32Array(B).fill(0.5);
const clean = () => seedBatch(B, Math.cos);
const stuck = (sentinel: number) => seedBatch(B, Math.cos, sentinel);
const abortedBy = (op: string, by: string) => `${op}: aborted by ${by}; the workers running it were terminated and replaced, and parameters and optimizer state are unchanged`;
const closedBy = (op: string, by: string) => `${op}: the pool was closed by ${by} before this call started; nothing ran`;
const flatParams = (pool: GradPool) => Float32Array.from(Object.values(pool.getParams()).flatMap((p) => [...p.data]));

describe('pool: close', function () {
  // On code where close ignores its options, the forced cases hang: fail them well before mocha's 2 minutes.
  this.timeout(30_000);
  let pool: GradPool | null = null;
  let gate: Gate;
  const create = async () => (pool = await GradPool.create({ model: fixture('stuck'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' }));
  beforeEach(() => (gate = openGate()));
  afterEach(async () => {
    gate.release();
    gate.close();
    await pool?.close({ force: true, graceMs: 0 });
    pool = null;
  });

  it('close() drains: the running call and the calls queued behind it finish; new calls are refused', async () => {
    const p = await create();
    const want = await p.predict(clean());
    const held = p.gradient(stuck(HOLD), y);
    await gate.started(1);
    const queued = p.predict(clean());
    const closing = p.close();
    await rejectsExactly(p.predict(clean()), 'predict: the pool is closed', 'ERR_POOL_CLOSED');
    gate.release();
    const [h, q] = await Promise.all([held, queued]);
    assert.equal(h.batch, B);
    assert.ok(sameBytes(q.data, want.data), 'the queued predict gave a different answer');
    await closing;
  });

  it('close({ force: true }) rejects queued calls at once and ends a call stuck in a loop after graceMs; parameters unchanged', async () => {
    const p = await create();
    const before = flatParams(p);
    const spinning = p.step(stuck(SPIN), y, { optimizer: sgd({ learningRate: 0.1 }) });
    await gate.started(1);
    const queued = p.gradient(clean(), y);
    const closing = p.close({ force: true, graceMs: 20 });
    await Promise.all([
      rejectsExactly(queued, closedBy('gradient', 'close({ force: true })'), 'ERR_POOL_CLOSED'),
      rejectsExactly(spinning, abortedBy('step', 'close({ force: true }) after its grace period of 20 ms'), 'ERR_ABORTED'),
    ]);
    await closing;
    assert.ok(sameBytes(flatParams(p), before), 'parameters changed');
  });

  it('close({ force: true }) lets a running call that ends within graceMs finish', async () => {
    const p = await create();
    const held = p.gradient(stuck(HOLD), y);
    await gate.started(1);
    const queued = p.predict(clean());
    const closing = p.close({ force: true, graceMs: Infinity });
    await rejectsExactly(queued, closedBy('predict', 'close({ force: true })'), 'ERR_POOL_CLOSED');
    gate.release();
    assert.equal((await held).batch, B);
    await closing;
  });

  it('close() bounds its drain by graceMs: a call stuck in a loop is ended, the calls queued behind it are rejected', async () => {
    const p = await create();
    const spinning = p.predict(stuck(SPIN));
    await gate.started(1);
    const queued = p.evaluate(clean(), y);
    const closing = p.close({ graceMs: 20 });
    await Promise.all([
      rejectsExactly(spinning, abortedBy('predict', 'close() after its grace period of 20 ms'), 'ERR_ABORTED'),
      rejectsExactly(queued, closedBy('evaluate', 'close() after its grace period of 20 ms'), 'ERR_POOL_CLOSED'),
    ]);
    await closing;
  });

  it('close({ force: true }) escalates a draining close(): both resolve, the stuck call is ended', async () => {
    const p = await create();
    const spinning = p.perSampleGrads(stuck(SPIN), y);
    await gate.started(1);
    const draining = p.close();
    const forced = p.close({ force: true, graceMs: 0 });
    await rejectsExactly(spinning, abortedBy('perSampleGrads', 'close({ force: true }) after its grace period of 0 ms'), 'ERR_ABORTED');
    await Promise.all([draining, forced]);
    await p.close(); // idempotent
  });

  it('refuses bad close options, naming them, and stays open', async () => {
    const p = await create();
    await rejectsExactly(p.close({ graceMs: -1 }), 'options.graceMs: expected a number of milliseconds >= 0 (or Infinity), got -1', 'ERR_INVALID_OPTION');
    await rejectsExactly(p.close({ force: 'yes' as unknown as boolean }), 'options.force: expected true or false, got "yes"', 'ERR_INVALID_OPTION');
    assert.equal((await p.predict(clean())).shape[0], B, 'the pool closed anyway');
  });
});
