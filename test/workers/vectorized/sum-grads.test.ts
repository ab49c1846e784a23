// The executor's sumGrads fast paths (sum mode with lazy outer products, and the clipped DP path)
// against the reference summation of per-sample gradients, on cpu and wasm; and they leak nothing.
import assert from 'node:assert/strict';
import type { ModelDef } from '../../../src/model/define.js';
import { LoopExecutor } from '../../../workers/executors/loop.js';
import { sumGradsByLoop } from '../../../workers/executors/sum.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { liveCounts, useBackend } from './helpers.js';
import { convModel, makeJob, mlpModel, seedModel } from './models.js';
import { assertClose } from '../../helpers/assert.js';

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`vectorized executor: sumGrads on ${backend}`, () => {
    before(() => useBackend(backend));
    const models = (): [string, ModelDef][] => [
      ['seed', seedModel],
      ['mlp', mlpModel('relu', 'logSoftmax', 16)],
      ['conv', convModel(8, 'avg', 'same', 2)],
    ];

    for (const clip of [undefined, 0.05]) {
      it(`equals the reference sum of per-sample gradients${clip ? ' with DP clipping' : ' (sum mode)'}`, () => {
        for (const [name, model] of models()) {
          const job = makeJob(model, 6);
          const P = model.layout.total;
          const ref = new Float64Array(P);
          const refNorms = new Float32Array(6);
          assert.equal(sumGradsByLoop(job, new LoopExecutor(), new Float32Array(6), refNorms, ref, clip), -1);
          const row = new Float64Array(P);
          const norms = new Float32Array(6);
          const losses = new Float32Array(6);
          assert.equal(createVectorizedExecutor(backend, false).sumGrads(job, losses, norms, row, clip), -1);
          assertClose(row, ref, { rtol: 1e-5, atol: 1e-6 }, `${name} sum`);
          if (clip) assertClose(norms, refNorms, { rtol: 1e-5 }, `${name} norms`);
          job.params.forEach((t) => t.dispose());
        }
      });
    }

    it('leaks nothing over 200 chunks (tensors, engine buffers, inner and vmap data ids)', () => {
      const ex = createVectorizedExecutor(backend, false);
      const job = makeJob(mlpModel('relu', 'logSoftmax', 16), 8);
      const P = job.model.layout.total;
      const go = (clip?: number) => ex.sumGrads(job, new Float32Array(8), new Float32Array(8), new Float64Array(P), clip);
      go();
      go(1);
      const before = liveCounts(backend);
      for (let i = 0; i < 100; i++) {
        go();
        go(1);
      }
      assert.deepEqual(liveCounts(backend), before);
      job.params.forEach((t) => t.dispose());
    });
  });
}
