// callTimeoutMs: a call that never returns (a model stuck in a loop) rejects with ERR_TIMEOUT; its
// workers are terminated and replaced, state is unchanged, and the pool works on. The stuck call never
// ends, so the assertion does not depend on how long anything takes.
import assert from 'node:assert/strict';
import { adam, GradPool } from '../../src/index.js';
import { SPIN } from '../fixtures/models/stuck.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';
import { fixture } from '../helpers/env.js';
import { openGate } from '../helpers/gate.js';
import { assertSameState, poolState } from '../helpers/state.js';
import { seedBatch } from '../helpers/data.js';

const B = 8;
const y = new Float32Array(B).fill(0.5);
const clean = () => seedBatch(B, (i) => Math.sin(2 * i));
const options = { model: fixture('stuck'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' } as const;

describe('pool: callTimeoutMs', function () {
  let pool: GradPool;
  const optimizer = adam({ learningRate: 0.05 });
  // Far above what these calls take (tens of ms), so only the stuck call reaches it.
  const callTimeoutMs = 1500;

  before(async () => {
    pool = await GradPool.create({ ...options, callTimeoutMs });
    await pool.step(clean(), y, { optimizer });
  });
  after(() => pool?.close({ force: true, graceMs: 0 }));

  it('a call that never returns rejects with ERR_TIMEOUT; its workers are replaced; nothing changes; the pool works on', async () => {
    const gate = openGate();
    try {
      const before = poolState(pool, optimizer);
      const reference = (await pool.gradient(clean(), y)).grads.W!.data;
      const x = clean();
      x[0] = SPIN;
      await rejectsExactly(
        pool.step(x, y, { optimizer }),
        `step: did not finish within callTimeoutMs (${callTimeoutMs} ms); the workers running it were terminated and replaced, and parameters and optimizer state are unchanged`,
        'ERR_TIMEOUT',
      );
      assert.equal(gate.count, 1, 'the stuck model never ran');
      assertSameState(poolState(pool, optimizer), before);
      assert.ok(sameBytes((await pool.gradient(clean(), y)).grads.W!.data, reference), 'the next call differs');
      assert.equal((await pool.step(clean(), y, { optimizer })).step, before.step + 1);
      assert.equal(pool.stats().workers.length, 2, 'the pool is back to 2 live workers');
    } finally {
      gate.close();
    }
  });

  it('refuses a callTimeoutMs that is not a positive number of milliseconds, before starting workers', async () => {
    for (const bad of [0, -5, NaN, Infinity, 2 ** 31, '100'])
      await rejectsExactly(
        GradPool.create({ ...options, callTimeoutMs: bad as number }),
        `callTimeoutMs: expected a number of milliseconds > 0 and at most 2147483647 (omit it for no limit), got ${typeof bad === 'string' ? `"${bad}"` : bad}`,
        'ERR_INVALID_OPTION',
      );
  });
});
