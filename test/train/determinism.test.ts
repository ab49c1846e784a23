// The same seed and data give bit-identical parameters after 50 steps for threads = 1, 2, 3 and 4,
// for plain training, for DP-SGD (Poisson sampling, clipping, noise), and for the sharded update.
import assert from 'node:assert/strict';
import { adam, GradPool, sgd } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';

describe('train: bit-identical for any thread count', function () {
  const N = 160;
  const x = randn(N * 5, 41);
  const y = oneHot(N, 3, 42);
  const runs: Record<string, Float32Array[]> = { plain: [], dp: [], sharded: [] };
  const flat = (pool: GradPool) => Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data)));

  before(async function () {
    for (const threads of [1, 2, 3, 4]) {
      const pool = await GradPool.create({ model: fixture('mlp'), threads, seed: 17, chunkSize: 6 });
      try {
        const start = pool.getParams();
        const plain = await pool.fit({ x, y }, { optimizer: adam({ learningRate: 0.01 }), epochs: 5, batchSize: 16 });
        assert.equal(plain.steps, 50);
        runs.plain!.push(flat(pool));
        pool.setParams(start);
        const dp = await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.5 }), epochs: 5, batchSize: 16, dp: { maxGradNorm: 0.5, noiseMultiplier: 1.1 } });
        assert.equal(dp.steps, 50);
        runs.dp!.push(flat(pool));
        pool.setParams(start);
        const opt = adam({ learningRate: 0.01 });
        for (let s = 0; s < 50; s++) {
          const lo = (s * 16) % N;
          await pool.step(x.subarray(lo * 5, (lo + 16) * 5), y.subarray(lo * 3, (lo + 16) * 3), { optimizer: opt, update: 'workers', dp: { maxGradNorm: 1, noiseMultiplier: 0.7 } });
        }
        runs.sharded!.push(flat(pool));
      } finally {
        await pool.close();
      }
    }
  });

  for (const kind of ['plain', 'dp', 'sharded'] as const) {
    it(`${kind}: threads 2, 3 and 4 end bit-identical to threads 1 after 50 steps`, () => {
      const r = runs[kind]!;
      assert.equal(r.length, 4);
      for (let t = 1; t < 4; t++) assert.ok(sameBytes(r[0]!, r[t]!), `${kind}: threads=${t + 1} differs from threads=1`);
    });
  }

  it('training actually moved the parameters (the comparison is not between untouched copies)', () => {
    assert.ok(!sameBytes(runs.plain![0]!, runs.dp![0]!));
    assert.ok(!sameBytes(runs.dp![0]!, runs.sharded![0]!));
  });
});
