// Batch sampling for fit: shuffled epochs cover every sample once; Poisson batches have the right
// expected size, vary, and can be empty; both replay exactly from a saved state.
import assert from 'node:assert/strict';
import { Sampler } from '../../src/train/sampler.js';

describe('train: sampler', function () {
  it('shuffle covers every sample exactly once per epoch, in ceil(n/b) batches', () => {
    const s = new Sampler(10, 4, 'shuffle', 3);
    s.startEpoch();
    assert.equal(s.batchesPerEpoch, 3);
    const all = [0, 1, 2].flatMap((b) => Array.from(s.batch(b)));
    assert.deepEqual(all.slice().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('poisson batches average q·n, vary in size, and include empty ones at small q', () => {
    const s = new Sampler(1000, 20, 'poisson', 5);
    assert.equal(s.batchesPerEpoch, 50);
    const sizes = Array.from({ length: 400 }, (_, b) => s.batch(b).length);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    assert.ok(Math.abs(mean - 20) < 1, `mean batch ${mean}`);
    assert.ok(new Set(sizes).size > 5);
    const tiny = new Sampler(1000, 1, 'poisson', 5);
    assert.ok(Array.from({ length: 200 }, (_, b) => tiny.batch(b).length).includes(0));
  });

  for (const mode of ['shuffle', 'poisson'] as const) {
    it(`${mode}: resumes from a saved state with the same batches`, () => {
      const a = new Sampler(50, 7, mode, 11);
      a.startEpoch();
      a.batch(0);
      a.batch(1);
      const saved = a.state();
      const rest = [2, 3, 4].map((b) => Array.from(a.batch(b)));
      const b = new Sampler(50, 7, mode, 11, JSON.parse(JSON.stringify(saved)));
      assert.deepEqual([2, 3, 4].map((k) => Array.from(b.batch(k))), rest);
    });
  }
});
