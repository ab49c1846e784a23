// dp.secureRng on an ensemble draws every member's noise from node:crypto (as on a single pool), not
// from the members' counter-based streams: two identical ensembles, one identical DP step, differ.
import assert from 'node:assert/strict';
import { GradPool, sgd, type EnsemblePool } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';

const flat = (p: EnsemblePool) => Float32Array.from(Object.values(p.getParams()).flatMap((v) => Array.from(v.data)));

describe('ensemble: secure DP noise', function () {
  const B = 8;
  const x = randn(B * 5, 1);
  const y = oneHot(B, 3, 2);
  const dp = { maxGradNorm: 1, noiseMultiplier: 1 };

  async function afterStep(secureRng: boolean): Promise<[Float32Array, Float32Array]> {
    const pools = [await GradPool.create({ model: fixture('mlp'), ensemble: 2, seed: 3, threads: 1 }), await GradPool.create({ model: fixture('mlp'), ensemble: 2, seed: 3, threads: 1 })];
    try {
      for (const p of pools) await p.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { ...dp, secureRng } });
      return [flat(pools[0]!), flat(pools[1]!)];
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  }

  it('the default generator repeats bit for bit; secureRng does not', async () => {
    const [a, b] = await afterStep(false);
    assert.ok(sameBytes(a, b), 'counter-based noise: the same bits');
    const [c, d] = await afterStep(true);
    assert.ok(!sameBytes(c, d), 'secure noise: two runs differ');
    assert.ok(!sameBytes(c, a), 'and differ from the counter-based run');
  });
});
