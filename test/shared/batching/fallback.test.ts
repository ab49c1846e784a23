import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { defineModel, type ModelDef } from '../../../src/model/define.js';
import { SampleError } from '../../../workers/executors/types.js';
import type { Rule } from '../../../src/shared/batching/context.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { BatchingRuleError, coverage, resetWarnings, vectorize, withoutRules, withRules } from '../../../src/shared/batching/index.js';
import { B, captureWarnings, check, U, useBackend } from './helpers.js';
import { assertResults, makeJob, oracle, run, seedModel } from '../../workers/vectorized/models.js';

const warning = (k: string) => `gradpool: no batching rule for kernel '${k}'; running it per sample (performance drop)`;

describe('vectorized: per-sample fallback and errors', () => {
  let warnings: string[] = [];
  before(() => useBackend('cpu'));
  beforeEach(() => (warnings = captureWarnings()));
  after(() => resetWarnings());

  it('runs a kernel without a rule per sample, correctly, and warns once per kernel', () => {
    assert.ok(coverage('cpu').fallback.includes('Diag'), 'Diag is deliberately left without a rule');
    check('diag', (x) => tf.diag(x), [B(3)], { grads: false });
    check('diag again', (x, w) => tf.mul(tf.diag(x), w), [B(4), U(4, 4)], { grads: false });
    assert.deepEqual(warnings, [warning('Diag')]);
  });

  it('gives the same results with rules removed (fallback cross-checks the rules)', () => {
    withoutRules(['BatchMatMul', 'Add', 'Sum', 'Reshape'], () => {
      check('matMul+add', (a, b, c) => tf.sum(tf.add(tf.matMul(tf.reshape(a, [1, 3]), b), c), 1), [B(3), U(3, 4), U(4)]);
      check('matMul+add, batched b', (a, b) => tf.add(tf.matMul(a, b), a), [U(2, 2), B(2, 2)]);
    });
    assert.deepEqual([...warnings].sort(), ['Add', 'BatchMatMul', 'Reshape', 'Sum'].map(warning));
  });

  it('a rule whose inner kernel fails is named in the error, with the inner message', () => {
    const broken: Rule = (ctx) => ctx.batched(ctx.call1('NoSuchKernel', {}));
    const x = tf.ones([2, 3]);
    withRules({ Abs: broken }, () =>
      assert.throws(
        () => vectorize((v) => tf.abs(v), [0])(x),
        (e: unknown) =>
          e instanceof BatchingRuleError && e.kernel === 'Abs' && e.rule === 'Abs' &&
          e.message === "vectorized: the batching rule for kernel 'Abs' failed: vectorized: backend 'cpu' has no kernel 'NoSuchKernel'",
      ),
    );
    check('abs with the rule restored', (v) => tf.abs(v), [B(3)]);
    x.dispose();
  });

  it('handles multi-output kernels in the fallback', () => {
    withoutRules(['Unpack', 'SplitV'], () => {
      check('unstack', (x) => tf.add(tf.unstack(x)[1]!, tf.split(x, [1, 2], 0)[1]!.sum(0)), [B(3, 2)]);
    });
  });

  it('throws BatchingRuleError when per-sample outputs differ in shape (Unique)', () => {
    const x = tf.tensor2d([[1, 1, 2], [1, 2, 3]]);
    assert.throws(() => vectorize((v) => tf.unique(v).values, [0])(x), (e: unknown) => e instanceof BatchingRuleError && e.kernel === 'Unique');
    x.dispose();
  });

  it('throws BatchingRuleError when the function reads a batched value, but not an unbatched one', () => {
    const x = tf.ones([2, 3]);
    const w = tf.ones([3]);
    assert.throws(() => vectorize((v) => tf.scalar(v.dataSync()[0]!), [0])(x), (e: unknown) => e instanceof BatchingRuleError && e.kernel === 'readSync');
    const [y] = vectorize((v, u) => tf.mul(v, tf.sum(u).dataSync()[0]!), [0, null])(x, w);
    assert.deepEqual(y!.arraySync(), [[3, 3, 3], [3, 3, 3]]);
    tf.dispose([x, w, y!]);
  });

  const peeking = (limit: number) =>
    defineModel({
      ...seedModel,
      params: { W: { shape: [3, 2, 1] }, b: { shape: [1] } },
      // Reads a value inside the model, which only a sample-by-sample run can do.
      forward: ({ W, b }, x) => {
        if (Math.abs(x.dataSync()[0]!) > limit) throw new Error('input out of range');
        return seedModel.forward({ W: W!, b: b! }, x);
      },
    }) as unknown as ModelDef;

  it('executor: a model that is not vectorizable runs sample by sample, correctly, warning once', () => {
    const ex = createVectorizedExecutor('cpu');
    const job = { ...makeJob(seedModel, 5), model: peeking(100) };
    assertResults(run(ex, job), oracle(job), 1e-6, 'peeking model');
    assertResults(run(ex, job), oracle(job), 1e-6, 'peeking model again');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^gradpool: cannot vectorize this model \(vectorized: the model read the values of a per-sample tensor/);
    job.params.forEach((t) => t.dispose());
  });

  it('executor: a failing sample is reported as a SampleError with its index in the batch', () => {
    const ex = createVectorizedExecutor('cpu');
    const job = { ...makeJob(seedModel, 6), model: peeking(1e9), first: 40 };
    job.x[3 * 6] = 2e9;
    assert.throws(() => run(ex, job), (e: unknown) => e instanceof SampleError && e.sample === 43 && e.message === 'input out of range');
    job.params.forEach((t) => t.dispose());
  });

  it('executor: a parameter the loss does not use fails as in the loop executor (SampleError of the first sample)', () => {
    const model = defineModel({ ...seedModel, params: { ...seedModel.params, unused: { shape: [2] } } }) as unknown as ModelDef;
    const job = { ...makeJob(model, 3), first: 8 };
    assert.throws(() => run(createVectorizedExecutor('cpu'), job), (e: unknown) => e instanceof SampleError && e.sample === 8 && /Cannot compute gradient/.test(e.message));
    assert.deepEqual(warnings, []);
    job.params.forEach((t) => t.dispose());
  });
});
