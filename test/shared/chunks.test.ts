import assert from 'node:assert/strict';
import { ChunkPlan, defaultChunkSize, LOOP_CHUNK_SIZE } from '../../src/shared/chunks.js';

describe('shared: ChunkPlan', () => {
  it('covers every sample exactly once, in order, in chunks of chunkSize (the last may be shorter)', () => {
    for (const [B, size] of [[1, 1], [7, 3], [64, 32], [65, 32], [100, 1000], [0, 5]] as const) {
      const plan = new ChunkPlan(B, size);
      assert.equal(plan.count, Math.ceil(B / size));
      let next = 0;
      for (let c = 0; c < plan.count; c++) {
        const [s, e] = plan.range(c);
        assert.equal(s, next, `B=${B} size=${size} chunk ${c} starts where the previous ended`);
        assert.ok(e > s && e - s <= size);
        if (c < plan.count - 1) assert.equal(e - s, size);
        next = e;
      }
      assert.equal(next, B);
    }
  });

  it('survives the thread boundary: a structured clone revives to the same plan', () => {
    const plan = new ChunkPlan(1000, 96);
    const revived = ChunkPlan.from(structuredClone({ batch: plan.batch, chunkSize: plan.chunkSize, count: plan.count }));
    assert.deepEqual(Array.from({ length: plan.count }, (_, c) => revived.range(c)), Array.from({ length: plan.count }, (_, c) => plan.range(c)));
  });

  it('default chunk size: 32 for the loop; for vectorized an eighth of B, at least 32, capped at 32 MB of per-sample gradients', () => {
    assert.equal(defaultChunkSize('loop', 10, 100000), LOOP_CHUNK_SIZE);
    assert.equal(defaultChunkSize('vectorized', 10, 100), 32);
    assert.equal(defaultChunkSize('vectorized', 10, 1000), 125);
    // P = 101,770 (the MNIST MLP): 32 MB / (4 B × P) = 82 samples -> the power of two below, 64.
    assert.equal(defaultChunkSize('vectorized', 101770, 65536), 64);
    // A model so large one sample exceeds the budget still gets 32-sample chunks.
    assert.equal(defaultChunkSize('vectorized', 10 ** 8, 65536), 32);
  });
});
