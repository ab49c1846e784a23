// No tensor leaks and no shared-memory growth over 1,000 ensemble calls (workers' tf.memory().numTensors
// as pool.stats() reports them, and the arena's allocations).
import assert from 'node:assert/strict';
import { GradPool, sgd, type EnsemblePool } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';

describe('ensemble: no leaks over 1,000 calls', function () {
  let ens: EnsemblePool;
  before(async () => (ens = await GradPool.create({ model: fixture('mlp'), ensemble: 3, threads: 2 })));
  after(async () => ens?.close());

  it('predict, perSampleGrads and step keep worker tensors and shared allocations flat', async () => {
    const x = randn(8 * 5, 1);
    const y = oneHot(8, 3, 2);
    const opt = sgd({ learningRate: 0.01 });
    const round = async () => {
      await ens.predict(x, { copy: false });
      await ens.perSampleGrads(x, y, { copy: false });
      await ens.step(x, y, { optimizer: opt });
    };
    for (let i = 0; i < 10; i++) await round();
    const tensors = () => ens.stats().workers.map((w) => w.numTensors);
    const [t0, a0] = [tensors(), ens.stats().sharedAllocations];
    for (let i = 0; i < 334; i++) await round();
    assert.deepEqual(tensors(), t0);
    assert.equal(ens.stats().sharedAllocations, a0);
  });
});
