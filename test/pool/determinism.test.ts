// The same batch gives bit-identical results whatever the thread count: chunks are fixed-size and
// partial sums are combined in chunk order (src/shared/chunks.ts, src/shared/reduce.ts).
import assert from 'node:assert/strict';
import { GradPool } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';

describe('pool determinism across thread counts', function () {
  const B = 101;
  const x = randn(B * 5, 21);
  const y = oneHot(B, 3, 22);
  const results: { threads: number; psg: Float32Array[]; mean: Float32Array[]; loss: number; pred: Float32Array }[] = [];

  before(async function () {
    for (const threads of [1, 2, 3, 4]) {
      const pool = await GradPool.create({ model: fixture('mlp'), threads, seed: 5, chunkSize: 7 });
      try {
        const psg = await pool.perSampleGrads(x, y);
        const g = await pool.gradient(x, y);
        const pred = await pool.predict(x);
        results.push({ threads, psg: Object.values(psg.grads).map((a) => a.data), mean: Object.values(g.grads).map((a) => a.data), loss: g.loss, pred: pred.data });
      } finally {
        await pool.close();
      }
    }
  });

  it('ran at 1, 2, 3 and 4 threads', () => assert.deepEqual(results.map((r) => r.threads), [1, 2, 3, 4]));

  for (const t of [2, 3, 4]) {
    it(`threads=${t} is bit-identical to threads=1 (predict, perSampleGrads, gradient)`, () => {
      const a = results[0]!;
      const b = results.find((r) => r.threads === t)!;
      assert.ok(sameBytes(a.pred, b.pred), 'predict differs');
      a.psg.forEach((g, k) => assert.ok(sameBytes(g, b.psg[k]!), `per-sample grads of param ${k} differ`));
      a.mean.forEach((g, k) => assert.ok(sameBytes(g, b.mean[k]!), `mean grads of param ${k} differ`));
      assert.ok(Object.is(a.loss, b.loss), `loss ${a.loss} vs ${b.loss}`);
    });
  }

  it('sameBytes itself tells different arrays apart (the check can fail)', () => {
    const a = Float32Array.of(1, 2, 3);
    assert.equal(sameBytes(a, Float32Array.of(1, 2, 3)), true);
    assert.equal(sameBytes(a, Float32Array.of(1, 2, 3 + 2 ** -21)), false);
    assert.equal(sameBytes(Float32Array.of(0), Float32Array.of(-0)), false);
  });
});
