/**
 * Virtual batches (pool.accumulate) against their two oracles: one pool.step on the concatenated
 * batch (the same bits: parameters, optimizer state, loss, gradNorm, clipped fraction) for 1, 2 and 3
 * threads, with DP (ghost and per-sample clipping) and without, and with dropout in the model (the
 * physical batches must draw with the logical batch's sample indices and one call number); and an
 * independent per-sample tf.valueAndGrads loop with clipping, plus the same counter-based noise.
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { adam, GradPool, sgd, type StepResult } from '../../src/index.js';
import type { StepDp } from '../../src/train/step.js';
import { dpNoiseSeed } from '../../src/train/step.js';
import { addNoise } from '../../src/privacy/gaussian.js';
import { assertClose, sameBytes } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';
import { fixture, fixtureModel, withBackend } from '../helpers/env.js';
import { loopOracle } from '../helpers/oracle.js';
import { assertSameState, poolState } from '../helpers/state.js';

const MLP = fixture('mlp');
const DROPOUT = `${pathToFileURL(fixture('random')).href}?op=dropout`;
const flat = (p: GradPool) => Float32Array.from(Object.values(p.getParams()).flatMap((v) => Array.from(v.data)));

/** Rows [lo, hi) of a flat batch of rows of `size`. */
const rows = (a: Float32Array, size: number, lo: number, hi: number) => a.subarray(lo * size, hi * size);

/** Adds `x, y` to an accumulator of `pool` in physical batches of `sizes` samples, then steps. */
async function accumulated(pool: GradPool, x: Float32Array, y: Float32Array, sizes: number[], o: Parameters<GradPool['accumulate']>[0]): Promise<StepResult> {
  const acc = pool.accumulate(o);
  const { inputSize, targetSize } = pool.model;
  let lo = 0;
  for (const n of sizes) {
    const p = await acc.add(rows(x, inputSize, lo, lo + n), rows(y, targetSize, lo, lo + n));
    lo += n;
    assert.equal(p.samples, lo);
  }
  assert.equal(lo, x.length / inputSize, 'the physical batches cover the logical batch');
  return acc.step();
}

const MODES: [string, StepDp | undefined][] = [
  ['no dp', undefined],
  ['dp, ghost clipping', { maxGradNorm: 0.5, noiseMultiplier: 0.8, clipping: 'ghost' }],
  ['dp, per-sample clipping', { maxGradNorm: 0.5, noiseMultiplier: 0.8, clipping: 'per-sample', expectedBatchSize: 70 }],
];

describe('train: accumulate (virtual batches)', function () {
  const B = 80; // the default vectorized chunk for 80 samples is 32: physical batches 32 + 32 + 16
  for (const [model, name] of [[MLP, 'mlp'], [DROPOUT, 'dropout mlp']] as const)
    it(`${name}: bit-identical to one pool.step on the concatenated batch, for 1, 2 and 3 threads, with and without dp (3 adam steps each)`, async () => {
      let first: Float32Array | null = null;
      for (const threads of [1, 2, 3]) {
        const [a, b] = await Promise.all([0, 1].map(() => GradPool.create({ model, threads, seed: 5 })));
        try {
          const { inputSize, targetSize } = a!.model;
          const chunkSize = a!.chunkSizeFor(B);
          assert.equal(chunkSize, 32);
          for (const [mode, dp] of MODES) {
            const [optA, optB] = [adam({ learningRate: 0.05 }), adam({ learningRate: 0.05 })];
            for (let s = 0; s < 3; s++) {
              const x = randn(B * inputSize, 100 + s);
              const y = randn(B * targetSize, 200 + s);
              const o = { ...(dp ? { dp } : {}) };
              const want = await a!.step(x, y, { optimizer: optA, ...o });
              const got = await accumulated(b!, x, y, [32, 32, 16], { optimizer: optB, chunkSize, ...o });
              assert.deepEqual(got, want, `${mode}, step ${s}: the step results`);
              assertSameState(poolState(b!, optB), poolState(a!, optA));
              assert.equal(b!.randomCalls, a!.randomCalls, 'one call number per logical batch');
            }
          }
          const params = flat(b!);
          if (first) assert.ok(sameBytes(params, first), `${threads} threads: parameters differ from 1 thread's`);
          first = params;
        } finally {
          await Promise.all([a!.close(), b!.close()]);
        }
      }
    });

  it('physical batches that are not multiples of the chunk size: deterministic for any thread count, equal to the step to float precision', async () => {
    let first: Float32Array | null = null;
    for (const threads of [1, 2, 3]) {
      const [a, b] = await Promise.all([0, 1].map(() => GradPool.create({ model: DROPOUT, threads, seed: 5 })));
      try {
        const { inputSize, targetSize } = a!.model;
        const x = randn(B * inputSize, 7);
        const y = randn(B * targetSize, 8);
        const dp = { maxGradNorm: 0.5, noiseMultiplier: 0.8 };
        const want = await a!.step(x, y, { optimizer: sgd({ learningRate: 0.5 }), dp });
        // Chunks of 32 restart in every physical batch: [0,20) [20,50) [50,80) are cut as 20 | 30 | 30 instead of 32 | 32 | 16.
        const got = await accumulated(b!, x, y, [20, 30, 30], { optimizer: sgd({ learningRate: 0.5 }), dp, chunkSize: 32 });
        assert.equal(got.clippedFraction, want.clippedFraction, 'the same samples are clipped');
        assertClose([got.loss, got.gradNorm], [want.loss, want.gradNorm], { rtol: 1e-6 }, 'loss and gradNorm');
        assertClose(flat(b!), flat(a!), { rtol: 1e-6, atol: 1e-7 }, 'parameters');
        const params = flat(b!);
        if (first) assert.ok(sameBytes(params, first), `${threads} threads: parameters differ from 1 thread's`);
        first = params;
      } finally {
        await Promise.all([a!.close(), b!.close()]);
      }
    }
  });

  describe('against a per-sample tf.valueAndGrads loop with clipping and the same noise (cpu)', function () {
    withBackend('cpu');
    it('DP-SGD step over 3 physical batches: clipped sum + σC·noise(seed, t = 1), divided by expectedBatchSize', async () => {
      const model = await fixtureModel('mlp');
      const pool = await GradPool.create({ model: MLP, threads: 2, seed: 11, backend: 'cpu' });
      try {
        const n = 45;
        const { inputSize, targetSize, layout } = model;
        const x = randn(n * inputSize, 31);
        const y = randn(n * targetSize, 32);
        const start = pool.getParams();
        const o = loopOracle(model, start, x, y, n);
        const P = layout.total;
        const grads = Array.from({ length: n }, (_, i) => layout.names.flatMap((_, p) => o.grads[p]!.slice(i * layout.sizes[p]!, (i + 1) * layout.sizes[p]!)));
        const norms = grads.map((g) => Math.sqrt(g.reduce((s, v) => s + v * v, 0)));
        const sorted = [...norms].sort((a, b) => a - b);
        // A clip norm between two neighbouring per-sample norms near the median: about half are clipped, none sits at the threshold.
        const [C, sigma, expected, lr] = [(sorted[22]! + sorted[23]!) / 2, 0.7, 50, 0.2];
        const r = await accumulated(pool, x, y, [15, 15, 15], { optimizer: sgd({ learningRate: lr }), dp: { maxGradNorm: C, noiseMultiplier: sigma, expectedBatchSize: expected }, chunkSize: 5 });

        const sum = new Float64Array(P);
        let clipped = 0;
        grads.forEach((g, i) => {
          if (norms[i]! > C) clipped++;
          const f = Math.min(1, C / (norms[i]! + 1e-6));
          g.forEach((v, k) => (sum[k] += f * v));
        });
        addNoise(sum, 0, P, sigma * C, dpNoiseSeed(11), 1, 0);
        const startFlat = layout.names.flatMap((name) => Array.from(start[name]!.data));
        const want = startFlat.map((p, k) => p - lr * (sum[k]! / expected));
        assert.ok(clipped > 0 && clipped < n, `some samples clipped, some not (${clipped} of ${n})`);
        assert.equal(r.clippedFraction, clipped / n);
        assertClose([r.loss], [o.meanLoss], { rtol: 1e-5 }, 'mean loss over the logical batch');
        assertClose(flat(pool), want, { rtol: 1e-5, atol: 1e-7 }, 'parameters after the step');
      } finally {
        await pool.close();
      }
    });
  });
});
