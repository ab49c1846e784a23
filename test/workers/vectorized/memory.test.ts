import assert from 'node:assert/strict';
import { defineModel, type ModelDef } from '../../../src/model/define.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { resetWarnings } from '../../../src/shared/batching/index.js';
import { liveCounts, useBackend } from '../../shared/batching/helpers.js';
import { convModel, makeJob, mlpModel, run, seedModel } from './models.js';

describe('vectorized executor: memory', () => {
  before(() => useBackend('cpu'));
  const counts = () => liveCounts('cpu');

  it('leaks nothing over 1000 chunks of the seed model (tensors, engine buffers, inner and vmap data ids)', () => {
    const ex = createVectorizedExecutor('cpu');
    const job = makeJob(seedModel, 8);
    run(ex, job); // first call registers the backend
    const before = counts();
    const out = new Float32Array(8);
    for (let i = 0; i < 1000; i++) {
      run(ex, job);
      if (i % 10 === 0) ex.forward(job, out);
    }
    assert.deepEqual(counts(), before);
    assert.equal(before.vmap, 0);
    job.params.forEach((t) => t.dispose());
  });

  it('leaks nothing on the MLP and conv models (incl. cpu kernels that return engine tensors)', () => {
    const ex = createVectorizedExecutor('cpu');
    for (const model of [mlpModel('tanh', 'logSoftmax', 16), convModel(8, 'avg', 'same', 2)]) {
      const job = makeJob(model, 5);
      run(ex, job);
      const before = counts();
      for (let i = 0; i < 20; i++) run(ex, job);
      assert.deepEqual(counts(), before);
      job.params.forEach((t) => t.dispose());
    }
  });

  it('leaks nothing when the batched run fails and the chunk goes through the loop', () => {
    const peeking = defineModel({ ...seedModel, forward: (p, x) => { const out = seedModel.forward(p, x); out.dataSync(); return out; } }) as unknown as ModelDef;
    const job = { ...makeJob(seedModel, 4), model: peeking };
    resetWarnings(() => undefined);
    run(createVectorizedExecutor('cpu'), job);
    const before = counts();
    for (let i = 0; i < 20; i++) run(createVectorizedExecutor('cpu'), job); // fresh executor: tries batched every time
    assert.deepEqual(counts(), before);
    resetWarnings();
    job.params.forEach((t) => t.dispose());
  });
});
