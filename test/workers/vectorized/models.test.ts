import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { resetWarnings } from '../../../src/shared/batching/index.js';
import { captureWarnings, useBackend } from '../../shared/batching/helpers.js';
import { assertResults, convModel, makeJob, mlpModel, oracle, oracleForward, run, seedModel } from './models.js';
import { assertClose } from '../../helpers/assert.js';

describe('vectorized executor: models vs the per-sample loop oracle (cpu)', () => {
  let warnings: string[] = [];
  before(() => useBackend('cpu'));
  beforeEach(() => (warnings = captureWarnings()));
  afterEach(() => {
    // Every kernel of these models has a batching rule: no fallback may have been taken.
    assert.deepEqual(warnings, []);
    resetWarnings();
  });
  const ex = createVectorizedExecutor('cpu');
  const free = (job: { params: tf.Tensor[] }) => job.params.forEach((t) => t.dispose());

  it('seed model: losses, per-sample grads and forward', () => {
    for (const n of [1, 2, 37]) {
      const job = makeJob(seedModel, n, n);
      assertResults(run(ex, job), oracle(job), 1e-5, `seed n=${n}`);
      const out = new Float32Array(n);
      ex.forward(job, out);
      assertClose(out, oracleForward(job, 1), { rtol: 1e-5, floor: 0.01 }, `seed forward n=${n}`);
      free(job);
    }
  });

  for (const [act, loss] of [['relu', 'losses'], ['tanh', 'logSoftmax']] as const)
    it(`MLP 784-128-10 (${act}, ${loss})`, () => {
      const job = makeJob(mlpModel(act, loss), 12, 3);
      assertResults(run(ex, job), oracle(job), 1e-5, `mlp ${act}`);
      const out = new Float32Array(12 * 10);
      ex.forward(job, out);
      assertClose(out, oracleForward(job, 10), { rtol: 1e-5, floor: 0.01 }, 'mlp forward');
      free(job);
    });

  it('conv net 28x28x1: conv2d 3x3 valid, relu, maxPool, dense', () => {
    const job = makeJob(convModel(28, 'max', 'valid'), 6, 4);
    assertResults(run(ex, job), oracle(job), 1e-5, 'conv max');
    free(job);
  });

  it('conv net 12x12x1: conv2d 3x3 same, sigmoid, avgPool, dense', () => {
    const job = makeJob(convModel(12, 'avg', 'same', 3), 9, 5);
    assertResults(run(ex, job), oracle(job), 1e-5, 'conv avg');
    const out = new Float32Array(9 * 10);
    ex.forward(job, out);
    assertClose(out, oracleForward(job, 10), { rtol: 1e-5, floor: 0.01 }, 'conv forward');
    free(job);
  });

  it('is deterministic: same chunk in, same bits out', () => {
    for (const model of [seedModel, mlpModel('relu', 'losses', 32), convModel(10, 'max', 'same')]) {
      const job = makeJob(model, 7, 9);
      const a = run(ex, job);
      const b = run(ex, job);
      assert.deepEqual(new Uint32Array(b.losses.buffer), new Uint32Array(a.losses.buffer));
      b.grads.forEach((g, p) => assert.deepEqual(new Uint32Array(g.buffer), new Uint32Array(a.grads[p]!.buffer)));
      free(job);
    }
  });
});
