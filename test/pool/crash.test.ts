// A worker that dies mid-call (exit, uncaught throw, out of memory) rejects that call; the pool
// replaces the worker, parameters are untouched, and the next call gives the same answer as before.
import assert from 'node:assert/strict';
import { GradPool } from '../../src/index.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';
import { seedBatch } from '../helpers/data.js';

describe('pool worker crashes', function () {
  let pool: GradPool;
  const B = 16;
  const y = new Float32Array(B).fill(0.5);
  const clean = () => seedBatch(B, Math.sin);
  let reference: Float32Array;

  before(async function () {
    // The heap cap makes the out-of-memory case quick; loading tfjs needs well under it.
    pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop', resourceLimits: { maxOldGenerationSizeMb: 192 } });
    reference = (await pool.gradient(clean(), y)).grads.W!.data;
  });
  after(() => pool?.close());

  const cases = [
    { what: 'process.exit in the worker', sentinel: 777, cause: 'worker exited with code: 3' },
    { what: 'an uncaught exception', sentinel: 888, cause: 'async boom' },
    { what: 'an uncaught exception on the next turn of the loop', sentinel: 889, cause: 'immediate boom' },
    { what: 'running out of memory (resourceLimits)', sentinel: 999, cause: 'Worker terminated due to reaching memory limit: JS heap out of memory' },
  ];
  for (const c of cases) {
    it(`survives ${c.what}`, async function () {
      const params = pool.getParams();
      const x = clean();
      x[9 * 6] = c.sentinel;
      await assert.rejects(pool.gradient(x, y), {
        code: 'ERR_WORKER_CRASHED',
        message: `gradient: a worker crashed (${c.cause}); the call was rejected, the pool replaced the worker, and parameters are unchanged`,
      });
      assert.deepEqual(pool.getParams(), params);
      const again = await pool.gradient(clean(), y);
      assert.ok(sameBytes(again.grads.W!.data, reference), 'the next call differs from before the crash');
      assert.equal(pool.stats().workers.length, 2, 'the pool is back to 2 live workers');
    });
  }
});

describe('pool worker crashes without resourceLimits', function () {
  it('a worker that allocates without end hits the default heap limit: the call fails, the process and the pool live on', async () => {
    // No resourceLimits: the default limit (options.ts defaultHeapLimitMb) is what stops the worker,
    // not V8's own (~4 GB per worker here), which let one call take the process past 6 GB.
    const pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' });
    try {
      const params = pool.getParams();
      const x = Float32Array.from({ length: 8 * 6 }, (_, i) => Math.sin(i));
      x[0] = 999;
      await assert.rejects(pool.gradient(x, new Float32Array(8)), {
        code: 'ERR_WORKER_CRASHED',
        message: 'gradient: a worker crashed (Worker terminated due to reaching memory limit: JS heap out of memory); the call was rejected, the pool replaced the worker, and parameters are unchanged',
      });
      assert.deepEqual(pool.getParams(), params);
      assert.equal((await pool.gradient(x.fill(0.5), new Float32Array(8))).batch, 8);
    } finally {
      await pool.close();
    }
  });
});
