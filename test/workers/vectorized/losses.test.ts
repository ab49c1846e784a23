// The executor's batched evaluation, losses() (forward and loss over the whole chunk at once), against
// the loop executor's losses() on cpu and wasm; and it leaks nothing.
import assert from 'node:assert/strict';
import type { ModelDef } from '../../../src/model/define.js';
import { LoopExecutor } from '../../../workers/executors/loop.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { resetWarnings } from '../../../src/shared/batching/index.js';
import { assertClose } from '../../helpers/assert.js';
import { captureWarnings, liveCounts, useBackend } from '../../shared/batching/helpers.js';
import { convModel, evaluate, makeJob, mlpModel, seedModel } from './models.js';

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`vectorized executor: losses() on ${backend}`, () => {
    let warnings: string[] = [];
    before(() => useBackend(backend));
    beforeEach(() => (warnings = captureWarnings()));
    afterEach(() => {
      // A batched run that failed would fall back to the loop (and so match it trivially) with a warning.
      assert.deepEqual(warnings, []);
      resetWarnings();
    });
    // Evaluation needs no filter gradient, so the conv models run on wasm too, loop included.
    const models = (): [string, ModelDef][] => [
      ['seed', seedModel],
      ['mlp relu', mlpModel('relu', 'losses')],
      ['mlp tanh', mlpModel('tanh', 'logSoftmax', 16)],
      ['conv max', convModel(12, 'max', 'valid')],
      ['conv avg', convModel(10, 'avg', 'same', 3)],
    ];

    it("matches the loop executor's losses() (losses and predictions)", () => {
      const loop = new LoopExecutor();
      const ex = createVectorizedExecutor(backend, false);
      for (const [name, model] of models())
        for (const n of [1, 9]) {
          const job = makeJob(model, n, 4);
          const want = evaluate(loop, job);
          const got = evaluate(ex, job);
          assertClose(got.losses, want.losses, { rtol: 1e-5, floor: 0.01 }, `${name} n=${n}: losses`);
          assertClose(got.pred, want.pred, { rtol: 1e-5, floor: 0.01 }, `${name} n=${n}: predictions`);
          job.params.forEach((t) => t.dispose());
        }
    });

    it('leaks nothing over 50 calls (tensors, engine buffers, inner and vmap data ids)', () => {
      const ex = createVectorizedExecutor(backend, false);
      for (const [name, model] of models()) {
        const job = makeJob(model, 6);
        evaluate(ex, job); // the first call registers the vmap backend
        const before = liveCounts(backend);
        for (let i = 0; i < 50; i++) evaluate(ex, job);
        assert.deepEqual(liveCounts(backend), before, name);
        job.params.forEach((t) => t.dispose());
      }
    });
  });
}
