// No leaks: worker tensor counts and shared-memory allocations are flat across 1,000 calls.
import assert from 'node:assert/strict';
import { GradPool } from '../../src/index.js';
import { randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';

describe('pool leaks', function () {
  it('keeps worker tensor counts and shared buffers constant from call 10 to call 1000', async function () {
    const pool = await GradPool.create({ model: fixture('seed'), threads: 2, chunkSize: 4 });
    try {
      const x = randn(8 * 6, 1);
      const y = randn(8, 2);
      const calls = [() => pool.gradient(x, y), () => pool.perSampleGrads(x, y), () => pool.predict(x)];
      for (let i = 0; i < 10; i++) await calls[i % 3]!();
      const at10 = pool.stats();
      for (let i = 10; i < 1000; i++) await calls[i % 3]!();
      const at1000 = pool.stats();
      assert.equal(at10.workers.length, 2);
      assert.deepEqual(at1000.workers.map((w) => [w.threadId, w.numTensors]), at10.workers.map((w) => [w.threadId, w.numTensors]));
      // Only the parameter tensors stay alive in a worker between calls.
      for (const w of at1000.workers) assert.equal(w.numTensors, 2, `worker ${w.threadId} holds ${w.numTensors} tensors`);
      assert.equal(at1000.sharedAllocations, at10.sharedAllocations, 'shared buffers were reallocated');
      // Nor does a worker's wasm heap grow (it never shrinks: growth would be a leak of wasm buffers).
      for (const w of at10.workers) assert.ok((w.wasmHeapBytes ?? 0) > 0, `worker ${w.threadId} reports its wasm heap`);
      assert.deepEqual(at1000.workers.map((w) => w.wasmHeapBytes), at10.workers.map((w) => w.wasmHeapBytes));
    } finally {
      await pool.close();
    }
  });
});
