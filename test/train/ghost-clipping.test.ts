/**
 * Ghost clipping (dp.clipping 'ghost', the default 'auto' on the vectorized executor) against the
 * per-sample path, its oracle: the same DP step from the same parameters gives the same parameters to
 * float32 precision and the same clipped fraction, for dense, conv, embedding and tensordot models on
 * cpu and wasm; the same bits for 1, 2 and 3 threads; the choice and its reason in pool.stats(); the
 * loop executor refuses 'ghost' naming the field and warns once when 'auto' falls back.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { GradPool, sgd } from '../../src/index.js';
import { assertClose, sameBytes } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';
import { fixture, warningsDuring } from '../helpers/env.js';

const MNIST = fileURLToPath(new URL('../../examples/mnist/model.js', import.meta.url));
const B = 40;
const flat = (p: GradPool) => Float32Array.from(Object.values(p.getParams()).flatMap((v) => Array.from(v.data)));

/** A batch for `pool`'s model: random inputs (token ids in [0, 20) for the embedding), one-hot targets. */
function batch(pool: GradPool, tokens = false): { x: Float32Array; y: Float32Array } {
  const { inputSize, targetSize } = pool.model;
  const y = new Float32Array(B * targetSize);
  for (let i = 0; i < B; i++) y[i * targetSize + (i % targetSize)] = 1;
  const x = randn(B * inputSize, 5);
  return { x: tokens ? x.map((v, i) => (Math.floor(Math.abs(v) * 7) + i) % 20) : x, y };
}

/** A clip norm halfway between two neighbouring per-sample norms near the median, so about half the samples are clipped and none sits at the threshold. */
async function medianClip(pool: GradPool, x: Float32Array, y: Float32Array): Promise<{ clip: number; fraction: number }> {
  const { grads } = await pool.perSampleGrads(x, y);
  const norms = Array.from({ length: B }, (_, i) => Math.sqrt(Object.values(grads).reduce((s, g) => {
    const size = g.data.length / B;
    let t = 0;
    for (let k = i * size; k < (i + 1) * size; k++) t += g.data[k]! * g.data[k]!;
    return s + t;
  }, 0))).sort((a, b) => a - b);
  const m = B / 2;
  return { clip: (norms[m - 1]! + norms[m]!) / 2, fraction: (B - m) / B };
}

const MODELS = [
  ['mnist MLP', MNIST],
  ['mlp', fixture('mlp')],
  ['conv', fixture('conv')],
  ['embedding', fixture('embedding')],
  ['seed tensordot', fixture('seed')],
] as const;

describe('train: ghost clipping', function () {
  for (const backend of ['wasm', 'cpu'] as const)
    for (const [name, model] of MODELS)
      it(`${name} (${backend}): a DP step by ghost norms equals the per-sample path's to float32 precision, with the same clipped fraction`, async () => {
        const pools = await Promise.all(['ghost', 'per-sample'].map(() => GradPool.create({ model, threads: 2, seed: 3, backend })));
        try {
          const { x, y } = batch(pools[0]!, name === 'embedding');
          const { clip, fraction } = await medianClip(pools[0]!, x, y);
          const [ghost, perSample] = await Promise.all(
            (['ghost', 'per-sample'] as const).map((clipping, k) => pools[k]!.step(x, y, { optimizer: sgd({ learningRate: 0.5 }), dp: { maxGradNorm: clip, noiseMultiplier: 0.2, clipping } })),
          );
          assert.equal(perSample!.clippedFraction, fraction, 'the per-sample path clips the samples above the median');
          assert.equal(ghost!.clippedFraction, fraction, 'ghost norms clip the same samples');
          assertClose(flat(pools[0]!), flat(pools[1]!), { rtol: 1e-5, atol: 1e-7 }, 'parameters after the step');
          const { mode, reason, parameters } = pools[0]!.stats().dpClipping!;
          assert.deepEqual({ mode, reason }, { mode: 'ghost', reason: "dp.clipping 'ghost'" });
          assert.deepEqual(Object.keys(parameters!), Object.keys(pools[0]!.getParams()), 'a rule and form per parameter');
          assert.deepEqual(pools[1]!.stats().dpClipping, { mode: 'per-sample', reason: "dp.clipping 'per-sample'" });
        } finally {
          await Promise.all(pools.map((p) => p.close()));
        }
      });

  it('the default (auto) clips by ghost norms on the vectorized executor, bit-identical for 1, 2 and 3 threads over several steps', async () => {
    let want: Float32Array | null = null;
    for (const threads of [1, 2, 3]) {
      const pool = await GradPool.create({ model: MNIST, threads, seed: 3 });
      try {
        const { x, y } = batch(pool);
        for (let s = 0; s < 3; s++) await pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1 } });
        const { mode, reason } = pool.stats().dpClipping!;
        assert.deepEqual({ mode, reason }, { mode: 'ghost', reason: "dp.clipping 'auto' on the vectorized executor" });
        const got = flat(pool);
        if (want) assert.ok(sameBytes(got, want), `${threads} threads`);
        want = got;
        // No worker leaks a tensor across ghost steps.
        const before = pool.stats().workers.map((w) => w.numTensors);
        for (let s = 0; s < 20; s++) await pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1 } });
        assert.deepEqual(pool.stats().workers.map((w) => w.numTensors), before);
      } finally {
        await pool.close();
      }
    }
  });

  it("the loop executor refuses 'ghost' naming dp.clipping (parameters unchanged), and 'auto' falls back to per-sample with one warning", async () => {
    const pool = await GradPool.create({ model: fixture('mlp'), threads: 1, seed: 3, executor: 'loop' });
    try {
      const { x, y } = batch(pool);
      const before = flat(pool);
      await assert.rejects(pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1, clipping: 'ghost' } }), {
        code: 'ERR_INVALID_OPTION',
        message: "dp.clipping: expected 'auto' or 'per-sample' on a pool whose executor is 'loop' (ghost clipping reads norms off the vectorized executor's batched gradients), got 'ghost'",
      });
      assert.ok(sameBytes(flat(pool), before));
      const { warnings } = await warningsDuring(async () => {
        for (let s = 0; s < 2; s++) await pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1 } });
      });
      const reason = "dp.clipping 'auto': per-sample clipping, because the pool runs the loop executor (ghost clipping needs the vectorized one)";
      assert.deepEqual(warnings.filter((w) => w.startsWith('dp.clipping')), [reason]);
      assert.deepEqual(pool.stats().dpClipping, { mode: 'per-sample', reason });
      await assert.rejects(pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1, clipping: 'fast' as never } }), { message: `dp.clipping: expected 'auto', 'ghost' or 'per-sample', got "fast"` });
    } finally {
      await pool.close();
    }
  });
});
