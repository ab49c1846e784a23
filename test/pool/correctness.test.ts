// predict, perSampleGrads and gradient against two independent oracles: the sequential main-thread
// loop of forward + tf.valueAndGrads, and float64 finite differences of a plain-JS copy of each model.
import assert from 'node:assert/strict';
import { GradPool } from '../../src/index.js';
import type { ModelDef } from '../../src/model/define.js';
import { oneHot, randn } from '../helpers/data.js';
import { BACKENDS, fixture, fixtureModel, useBackend } from '../helpers/env.js';
import { fdGrad } from '../helpers/fd.js';
import { loopOracle } from '../helpers/oracle.js';
import { plainLoss } from '../helpers/plain-models.js';
import { assertClose } from '../helpers/assert.js';

const CASES = [
  { name: 'seed', B: 37, data: (B: number) => ({ x: randn(B * 6, 1), y: randn(B, 2) }) },
  { name: 'mlp', B: 29, data: (B: number) => ({ x: randn(B * 5, 3), y: oneHot(B, 3, 4) }) },
] as const;

for (const backend of BACKENDS) {
  for (const c of CASES) {
    describe(`pool correctness: ${c.name} model on ${backend}`, function () {
      let pool: GradPool;
      let model: ModelDef;
      const { x, y } = c.data(c.B);
      let oracle: ReturnType<typeof loopOracle>;

      before(async function () {
        // chunkSize 8: several chunks per worker, and a short last chunk.
        pool = await GradPool.create({ model: fixture(c.name), threads: 2, backend, seed: 11, chunkSize: 8 });
        model = await fixtureModel(c.name);
        await useBackend(backend);
        oracle = loopOracle(model, pool.getParams(), x, y, c.B);
      });
      after(() => pool?.close());

      it('predict equals the sequential forward loop', async function () {
        const pred = await pool.predict(x);
        assert.deepEqual(pred.shape, [c.B, ...pool.outputShape]);
        assertClose(pred.data, oracle.preds, { rtol: 1e-5, atol: 1e-7 }, 'predict');
      });

      it('perSampleGrads equals the sequential tf.valueAndGrads loop', async function () {
        const r = await pool.perSampleGrads(x, y);
        assert.deepEqual(r.losses.shape, [c.B]);
        assertClose(r.losses.data, oracle.losses, { rtol: 1e-5, atol: 1e-7 }, 'losses');
        model.layout.names.forEach((n, k) => {
          assert.deepEqual(r.grads[n]!.shape, [c.B, ...model.layout.shapes[k]!]);
          assertClose(r.grads[n]!.data, oracle.grads[k]!, { rtol: 1e-5, atol: 1e-7 }, `grads.${n}`);
        });
      });

      it('gradient equals the mean of the loop gradients', async function () {
        const r = await pool.gradient(x, y);
        assert.equal(r.batch, c.B);
        assertClose([r.loss], [oracle.meanLoss], { rtol: 1e-6 }, 'loss');
        model.layout.names.forEach((n, k) => assertClose(r.grads[n]!.data, oracle.mean[k]!, { rtol: 1e-5, atol: 1e-7 }, `mean grads.${n}`));
      });

      it('per-sample gradients match float64 finite differences', async function () {
        const r = await pool.perSampleGrads(x, y);
        const params = pool.getParams();
        const names = model.layout.names;
        for (const i of [0, 5, c.B - 1]) {
          const xi = x.subarray(i * model.inputSize, (i + 1) * model.inputSize);
          const yi = y.subarray(i * model.targetSize, (i + 1) * model.targetSize);
          const fd = fdGrad((ps) => plainLoss(c.name, ps, xi, yi), names.map((n) => params[n]!.data));
          names.forEach((n, k) => {
            const sz = model.layout.sizes[k]!;
            assertClose(r.grads[n]!.data.subarray(i * sz, (i + 1) * sz), fd[k]!, { rtol: 1e-5, atol: 1e-6 }, `sample ${i} grads.${n} vs FD`);
          });
        }
      });
    });
  }
}
