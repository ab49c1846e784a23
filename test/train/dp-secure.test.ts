// dp.secureRng: the step's noise comes from node:crypto, on the coordinator and in the workers' sharded
// update, so two identical steps differ; without it they are bit-identical (the seeded stream).
import assert from 'node:assert/strict';
import { GradPool, sgd } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';

describe('train: DP steps with secureRng', function () {
  const B = 16;
  const x = randn(B * 5, 71);
  const y = oneHot(B, 3, 72);
  let pool: GradPool;
  let start: ReturnType<GradPool['getParams']>;
  const flat = () => Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data)));

  before(async function () {
    pool = await GradPool.create({ model: fixture('mlp'), threads: 2, seed: 3, chunkSize: 4 });
    start = pool.getParams();
  });
  after(() => pool?.close());

  /** Parameters after one fresh-optimizer DP step from `start`. */
  async function stepOnce(dp: object, update: 'coordinator' | 'workers'): Promise<Float32Array> {
    pool.setParams(start);
    await pool.step(x, y, { optimizer: sgd({ learningRate: 1 }), dp: { maxGradNorm: 1, noiseMultiplier: 50, ...dp } as never, update });
    return flat();
  }

  for (const update of ['coordinator', 'workers'] as const) {
    it(`draws fresh noise each call (${update} update), where the default stream repeats bit for bit`, async () => {
      assert.ok(sameBytes(await stepOnce({}, update), await stepOnce({}, update)), 'the seeded stream should repeat');
      const a = await stepOnce({ secureRng: true }, update);
      const b = await stepOnce({ secureRng: true }, update);
      assert.ok(!sameBytes(a, b), 'secure noise repeated between two identical steps');
      // Noise std per element is lr · σ · C / B = 50 / 16 ≈ 3.1, dwarfing the clipped gradient (≤ 1/16 · 16 / 16).
      const p0 = Float32Array.from(Object.values(start).flatMap((p) => Array.from(p.data)));
      const rms = Math.sqrt(a.reduce((s, v, i) => s + (v - p0[i]!) ** 2, 0) / a.length);
      assert.ok(rms > 3.125 / 2 && rms < 3.125 * 2, `update rms ${rms}, expected about 3.1`);
    });
  }

  it("fit's dp.secureRng reaches the steps: two identical runs end apart", async () => {
    const run = async () => {
      pool.setParams(start);
      await pool.fit({ x, y }, { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 4, dp: { maxGradNorm: 1, noiseMultiplier: 1, delta: 1e-3, secureRng: true } });
      return flat();
    };
    assert.ok(!sameBytes(await run(), await run()));
  });

  it('refuses a non-boolean secureRng', async () => {
    await assert.rejects(pool.step(x, y, { optimizer: sgd({ learningRate: 1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1, secureRng: 1 as never } }), { message: 'dp.secureRng: expected a boolean, got 1' });
  });
});
