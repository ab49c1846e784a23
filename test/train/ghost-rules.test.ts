/**
 * Ghost clipping beyond one-row dense layers, in the pool: for sequence, embedding, conv (+ depthwise)
 * and tensordot + layer-norm models a ghost-clipped DP step equals the per-sample path's to float32
 * precision with the same clipped fraction, reports each parameter's rule and form in
 * pool.stats().dpClipping, and is bit-identical for 1, 2 and 3 threads; a model with an op that has
 * no ghost-norm rule is refused under 'ghost' naming the op and parameter (state bit-identical), and
 * 'auto' falls back to per-sample with one warning and the reason in stats.
 */
import assert from 'node:assert/strict';
import { GradPool, adam, sgd } from '../../src/index.js';
import { assertClose, sameBytes } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';
import { fixture, warningsDuring } from '../helpers/env.js';
import { assertSameState, poolState } from '../helpers/state.js';

const B = 24;
const flat = (p: GradPool) => Float32Array.from(Object.values(p.getParams()).flatMap((v) => Array.from(v.data)));

/** Random inputs (token ids in [0, 50) with repeats for the embedding), one-hot targets. */
function batch(pool: GradPool, tokens: boolean): { x: Float32Array; y: Float32Array } {
  const { inputSize, targetSize } = pool.model;
  const y = new Float32Array(B * targetSize);
  for (let i = 0; i < B; i++) y[i * targetSize + (i % targetSize)] = 1;
  const x = randn(B * inputSize, 11);
  return { x: tokens ? x.map((v, k) => (Math.floor(Math.abs(v) * 3) * 7 + Math.floor(k / inputSize)) % 50) : x, y };
}

/** A clip between the two middle per-sample norms (from perSampleGrads): half the samples are clipped. */
async function medianClip(pool: GradPool, x: Float32Array, y: Float32Array): Promise<number> {
  const { grads } = await pool.perSampleGrads(x, y);
  const norms = Array.from({ length: B }, (_, i) =>
    Math.sqrt(Object.values(grads).reduce((s, g) => {
      const size = g.data.length / B;
      let t = 0;
      for (let k = i * size; k < (i + 1) * size; k++) t += g.data[k]! ** 2;
      return s + t;
    }, 0)),
  ).sort((a, b) => a - b);
  return (norms[B / 2 - 1]! + norms[B / 2]!) / 2;
}

/** Each model's expected form per parameter (the start of its dpClipping.parameters entry). */
const MODELS: [string, 'cpu' | 'wasm', Record<string, string>][] = [
  ['ghost-sequence', 'wasm', { W1: 'dense: Gram over 5 positions', b1: 'bias: per-sample', W2: 'dense: per-sample gradient over 5 positions', W3: 'dense: outer product' }],
  ['ghost-sequence', 'cpu', { W1: 'dense: Gram over 5 positions', b1: 'bias: per-sample', W2: 'dense: per-sample gradient over 5 positions', W3: 'dense: outer product' }],
  ['ghost-embedding', 'wasm', { E: 'embedding: token ids and gradient rows', W: 'dense: outer product', b: 'bias: per-sample' }],
  ['ghost-embedding', 'cpu', { E: 'embedding: token ids and gradient rows', W: 'dense: outer product', b: 'bias: per-sample' }],
  ['ghost-conv', 'wasm', { K: 'conv2d: per-sample filter gradient', bK: 'bias: per-sample', D: 'depthwise conv: per-sample filter gradient', W: 'dense: outer product' }],
  ['ghost-layernorm', 'wasm', { W: 'dense: Gram over 5 positions', g: 'scale: per-sample', s: 'bias: per-sample', V: 'dense: outer product' }],
];

const dp = (maxGradNorm: number, clipping?: 'ghost' | 'per-sample') => ({ maxGradNorm, noiseMultiplier: 0.3, ...(clipping ? { clipping } : {}) });

describe('train: ghost clipping rules per layer', function () {
  for (const [name, backend, forms] of MODELS)
    it(`${name} (${backend}): a ghost-clipped, noised DP step equals the per-sample path's; the form of each parameter is reported`, async () => {
      const pools = await Promise.all([0, 1].map(() => GradPool.create({ model: fixture(name), threads: 2, seed: 5, backend })));
      try {
        const { x, y } = batch(pools[0]!, name === 'ghost-embedding');
        const clip = await medianClip(pools[0]!, x, y);
        const [ghost, perSample] = await Promise.all((['ghost', 'per-sample'] as const).map((c, k) => pools[k]!.step(x, y, { optimizer: sgd({ learningRate: 0.5 }), dp: dp(clip, c) })));
        assert.equal(perSample!.clippedFraction, 0.5, 'the per-sample path clips the samples above the median');
        assert.equal(ghost!.clippedFraction, 0.5, 'ghost norms clip the same samples');
        assertClose(flat(pools[0]!), flat(pools[1]!), { rtol: 1e-5, atol: 1e-7 }, 'parameters after the step');
        const stats = pools[0]!.stats().dpClipping!;
        assert.equal(stats.mode, 'ghost');
        assert.equal(stats.reason, "dp.clipping 'ghost'");
        assert.deepEqual(Object.keys(stats.parameters!), Object.keys(forms));
        for (const [p, start] of Object.entries(forms)) assert.ok(stats.parameters![p]!.startsWith(start), `${p}: ${stats.parameters![p]}`);
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
    });

  for (const name of ['ghost-sequence', 'ghost-embedding'])
    it(`${name}: ghost-clipped steps are bit-identical for 1, 2 and 3 threads`, async () => {
      let want: Float32Array | null = null;
      for (const threads of [1, 2, 3]) {
        const pool = await GradPool.create({ model: fixture(name), threads, seed: 5, chunkSize: 8 });
        try {
          const { x, y } = batch(pool, name === 'ghost-embedding');
          for (let s = 0; s < 3; s++) await pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: dp(0.5) });
          assert.equal(pool.stats().dpClipping!.mode, 'ghost');
          const got = flat(pool);
          if (want) assert.ok(sameBytes(got, want), `${threads} threads`);
          want = got;
        } finally {
          await pool.close();
        }
      }
    });

  it("refuses 'ghost' for a parameter used by an op without a ghost-norm rule, naming the kernel and the parameter; 'auto' falls back with one warning", async () => {
    const [pool, reference] = await Promise.all([0, 1].map(() => GradPool.create({ model: fixture('ghost-elementwise'), threads: 2, seed: 5 })));
    try {
      const { x, y } = batch(pool!, false);
      const optimizer = adam({ learningRate: 0.01 });
      await pool!.step(x, y, { optimizer, dp: dp(1, 'per-sample') }); // optimizer state to keep
      await reference!.step(x, y, { optimizer, dp: dp(1, 'per-sample') });
      const before = poolState(pool!, optimizer);
      await assert.rejects(pool!.step(x, y, { optimizer, dp: dp(1, 'ghost') }), {
        code: 'ERR_INVALID_OPTION',
        message: "dp.clipping: expected 'auto' or 'per-sample' for this model (parameter 'w' is used by kernel 'Multiply', which has no ghost-norm rule), got 'ghost'",
      });
      assertSameState(poolState(pool!, optimizer), before);
      const reason = "dp.clipping 'auto': per-sample clipping, because parameter 'w' is used by kernel 'Multiply', which has no ghost-norm rule";
      const { warnings } = await warningsDuring(async () => {
        for (let s = 0; s < 2; s++) await pool!.step(x, y, { optimizer, dp: dp(1) });
      });
      assert.deepEqual(warnings.filter((w) => w.startsWith('dp.clipping')), [reason]);
      assert.deepEqual(pool!.stats().dpClipping, { mode: 'per-sample', reason });
      // The fallback is the per-sample path: the same bits as asking for it.
      for (let s = 0; s < 2; s++) await reference!.step(x, y, { optimizer, dp: dp(1, 'per-sample') });
      assert.ok(sameBytes(flat(pool!), flat(reference!)));
    } finally {
      await Promise.all([pool, reference].map((p) => p!.close()));
    }
  });
});
