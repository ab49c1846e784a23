// Models users bring, on the default backend (wasm) under executor 'auto': an embedding model, a
// depthwise/separable conv model and a tf.conv2d CNN. Each must run vectorized with no fallback
// warning, give per-sample gradients equal to the per-sample tf.grads loop (main thread, cpu) to 1e-5,
// be bit-identical for 1, 2 and 3 threads (per-sample gradients, and parameters after training
// steps), and train under the loop executor on wasm too (the kernels gradpool adds to wasm).
import assert from 'node:assert/strict';
import { adam, GradPool, sgd } from '../../src/index.js';
import { assertClose, sameBytes } from '../helpers/assert.js';
import { oneHot, randn, rng } from '../helpers/data.js';
import { fixture, fixtureModel, warningsDuring, withBackend } from '../helpers/env.js';
import { loopOracle } from '../helpers/oracle.js';

const B = 12;
const tokens = (n: number, seed: number) => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.floor(r() * 20));
};
const CASES = [
  { name: 'embedding', x: tokens(B * 5, 1), y: oneHot(B, 3, 2) },
  { name: 'separable', x: randn(B * 72, 3), y: randn(B * 2, 4) },
  { name: 'conv', x: randn(B * 64, 5), y: oneHot(B, 3, 6) },
];
const TOL = { rtol: 1e-5, atol: 1e-7 };

describe('models on the default backend (wasm), executor auto', function () {
  withBackend('cpu'); // the oracle's backend: independent of the workers' wasm kernels

  for (const c of CASES) {
    describe(c.name, () => {
      const runs: { threads: number; psg: Awaited<ReturnType<GradPool['perSampleGrads']>>; trained: Record<string, Float32Array>; params0: ReturnType<GradPool['getParams']> }[] = [];
      let warnings: string[] = [];

      before(async () => {
        ({ warnings } = await warningsDuring(async () => {
          for (const threads of [1, 2, 3]) {
            const pool = await GradPool.create({ model: fixture(c.name), threads, seed: 11, chunkSize: 4 });
            try {
              assert.equal(pool.executor, 'vectorized', `${c.name}: threads ${threads}`);
              const params0 = pool.getParams();
              const psg = await pool.perSampleGrads(c.x, c.y);
              for (let s = 0; s < 3; s++) await pool.step(c.x, c.y, { optimizer: adam({ learningRate: 0.01 }) });
              runs.push({ threads, psg, params0, trained: Object.fromEntries(Object.entries(pool.getParams()).map(([k, v]) => [k, v.data])) });
            } finally {
              await pool.close();
            }
          }
        }));
      });

      it('runs vectorized with no fallback warning', () => {
        assert.deepEqual(runs.map((r) => r.threads), [1, 2, 3]);
        assert.deepEqual(warnings, []);
      });

      it('per-sample gradients equal the per-sample tf.grads loop to 1e-5', async () => {
        const model = await fixtureModel(c.name);
        const want = loopOracle(model, runs[0]!.params0, c.x, c.y, B);
        assertClose(runs[0]!.psg.losses.data, want.losses, TOL, 'losses');
        model.layout.names.forEach((n, k) => assertClose(runs[0]!.psg.grads[n]!.data, want.grads[k]!, TOL, `grads.${n}`));
      });

      it('is bit-identical for 1, 2 and 3 threads (per-sample gradients, and parameters after 3 adam steps)', () => {
        const [one, ...rest] = runs;
        for (const r of rest) {
          assert.ok(sameBytes(r.psg.losses.data, one!.psg.losses.data), `losses, threads ${r.threads}`);
          for (const n of Object.keys(one!.trained)) {
            assert.ok(sameBytes(r.psg.grads[n]!.data, one!.psg.grads[n]!.data), `grads.${n}, threads ${r.threads}`);
            assert.ok(sameBytes(r.trained[n]!, one!.trained[n]!), `trained ${n}, threads ${r.threads}`);
          }
        }
        assert.ok(Object.keys(one!.trained).some((n) => !sameBytes(one!.trained[n]!, one!.params0[n]!.data)), 'the steps changed the parameters');
      });

      it('trains under the loop executor on wasm too, matching the vectorized executor to 1e-5', async () => {
        const after: Record<string, Float32Array>[] = [];
        for (const executor of ['loop', 'vectorized'] as const) {
          const pool = await GradPool.create({ model: fixture(c.name), threads: 2, seed: 11, executor });
          try {
            for (let s = 0; s < 3; s++) await pool.step(c.x, c.y, { optimizer: sgd({ learningRate: 0.1 }) });
            assert.deepEqual(new Set(pool.stats().workers.map((w) => w.backend)), new Set(['wasm']));
            after.push(Object.fromEntries(Object.entries(pool.getParams()).map(([k, v]) => [k, v.data])));
          } finally {
            await pool.close();
          }
        }
        for (const n of Object.keys(after[0]!)) assertClose(after[0]![n]!, after[1]![n]!, TOL, `${n} after 3 sgd steps, loop vs vectorized`);
      });
    });
  }
});
