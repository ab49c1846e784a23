// The edges of one step that used to commit non-finite parameters: an empty DP batch without
// expectedBatchSize (a division by zero) and an update that overflows float32. Each is refused, or
// skipped under 'skip-step', and leaves parameters and optimizer state bit-identical.
import assert from 'node:assert/strict';
import { adam, GradPool, sgd } from '../../src/index.js';
import type { OptimizerSpec } from '../../src/index.js';
import { fixture } from '../helpers/env.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';

describe('train: step edges that would commit non-finite values', function () {
  let pool: GradPool;
  const B = 8;
  const x = Float32Array.from({ length: B * 6 }, (_, i) => Math.cos(i));
  const y = new Float32Array(B).fill(0.3);
  // Targets far off give gradient elements above 3.4, which a learning rate of 1e38 takes past float32's largest value.
  const far = new Float32Array(B).fill(100);
  const opt = adam({ learningRate: 0.05 });
  const snapshot = (o: OptimizerSpec) => ({ params: Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data))), state: pool.getOptimizerState(o) });
  const assertUnchanged = (o: OptimizerSpec, a: ReturnType<typeof snapshot>) => {
    const b = snapshot(o);
    assert.ok(sameBytes(a.params, b.params), 'parameters changed');
    assert.equal(a.state.step, b.state.step);
    for (const k of Object.keys(a.state.slots)) assert.ok(sameBytes(a.state.slots[k]!, b.state.slots[k]!), `optimizer slot ${k} changed`);
    assert.ok(b.params.every(Number.isFinite), 'a parameter is non-finite');
  };

  before(async function () {
    pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' });
    for (let s = 0; s < 2; s++) await pool.step(x, y, { optimizer: opt }); // non-trivial optimizer state
  });
  after(() => pool?.close());

  it('refuses an empty DP batch without expectedBatchSize, naming it, and changes nothing', async () => {
    const plain = sgd({ learningRate: 0.1 });
    const before = snapshot(plain);
    await rejectsExactly(
      pool.step(new Float32Array(0), new Float32Array(0), { optimizer: plain, dp: { maxGradNorm: 1, noiseMultiplier: 1 } }),
      'dp.expectedBatchSize: expected a positive number for an empty batch (the noisy gradient sum is divided by it, else by the batch size, here 0), got undefined',
      'ERR_INVALID_OPTION',
    );
    assertUnchanged(plain, before);
    // The next step is not blamed on "sample 0".
    const r = await pool.step(x, y, { optimizer: plain });
    assert.equal(r.skipped, false);
  });

  for (const update of ['coordinator', 'workers'] as const) {
    it(`refuses an update whose parameters overflow (learning rate 1e38, update on the ${update}) and commits nothing`, async () => {
      const huge = sgd({ learningRate: 1e38 });
      const before = snapshot(huge);
      await assert.rejects(pool.step(x, far, { optimizer: huge, update }), {
        code: 'ERR_NON_FINITE_UPDATE',
        message: /^step: the update would make parameter W non-finite \(-?Infinity at element \d; learning rate 1e\+38\); nothing was committed: parameters and optimizer state are unchanged$/,
      });
      assertUnchanged(huge, before);
    });
  }

  it("'skip-step' skips an overflowing update, says why, and commits nothing", async () => {
    const huge = sgd({ learningRate: 1e38 });
    const before = snapshot(huge);
    const r = await pool.step(x, far, { optimizer: huge, nonFinite: 'skip-step' });
    assert.equal(r.skipped, true);
    assert.equal(r.step, before.state.step);
    assert.match(r.skipReason ?? '', /^step: the update would make parameter W non-finite/);
    assertUnchanged(huge, before);
  });

  it('refuses an update whose optimizer state overflows while the parameters stay finite (Adam: g² beyond float32)', async () => {
    // Inputs near 3e10 give finite gradients near 1e21, whose square (Adam's v) is beyond float32.
    const big = x.map((v) => v * 3e10);
    const a = adam({ learningRate: 0.01 });
    const before = snapshot(a);
    await assert.rejects(pool.step(big, y, { optimizer: a }), {
      code: 'ERR_NON_FINITE_UPDATE',
      message: /^step: the update would make optimizer state v of parameter W non-finite \(Infinity at element \d; learning rate 0\.01\); nothing was committed/,
    });
    assertUnchanged(a, before);
  });
});
