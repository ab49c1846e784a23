import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { BatchingRuleError, resetWarnings, vectorize } from '../../../src/shared/batching/index.js';
import { B, captureWarnings, check, liveCounts, U, useBackend } from '../../shared/batching/helpers.js';
import { assertResults, assertWasmMatchesCpu, convModel, makeJob, mlpModel, oracle, oracleForward, run, seedModel } from './models.js';
import { assertClose } from '../../helpers/assert.js';

describe('vectorized executor on the wasm backend', () => {
  let warnings: string[] = [];
  before(() => useBackend('wasm'));
  after(() => useBackend('cpu'));
  beforeEach(() => (warnings = captureWarnings()));
  afterEach(() => {
    assert.deepEqual(warnings, []);
    resetWarnings();
  });

  it('rules: broadcasting, reductions, shapes, matMul, softmax, gather, pooling', () => {
    for (const [a, b] of [[B(3), U(3)], [B(), U(4)], [B(2, 3), U()], [B(4), U(2, 1)], [B(2, 1), B(3)], [U(2, 3), B(1, 3)]])
      check('add/mul/div', (x, y) => tf.div(tf.mul(tf.add(x, y), x), tf.add(tf.abs(y), 1)), [a!, b!]);
    check('sum/mean/max', (x) => tf.add(tf.sum(x, 1, true), tf.add(tf.mean(x, 0, true), tf.max(x))), [B(2, 3)]);
    check('transpose/reshape/concat/slice', (x, w) => tf.slice(tf.concat([tf.transpose(x), tf.reshape(w, [3, 2])], 1), [0, 1], [2, 3]), [B(2, 3), U(6)]);
    for (const [tA, tB] of [[false, false], [true, false], [false, true]] as const) {
      check('matMul b*u', (a, b) => tf.matMul(a, b, tA, tB), [B(...(tA ? [3, 2] : [2, 3])), U(...(tB ? [4, 3] : [3, 4]))]);
      check('matMul u*b', (a, b) => tf.matMul(a, b, tA, tB), [U(...(tA ? [3, 2] : [2, 3])), B(...(tB ? [4, 3] : [3, 4]))]);
    }
    check('softmax/logSoftmax', (x) => tf.add(tf.softmax(x), tf.logSoftmax(x)), [B(2, 5)]);
    check('gather', (x, i) => tf.gather(x, i, 1), [B(3, 4), { shape: [2], batched: false, int: 4 }], { grads: false });
    check('gather batched indices', (x, i) => tf.gather(x, i), [U(5, 3), { shape: [2], batched: true, int: 5 }], { grads: false });
    // Gradients of gather (UnsortedSegmentSum) on wasm, fixed and batched (embedding lookups) indices.
    check('gather grads', (x, i) => tf.gather(x, i, 1), [B(3, 4), { shape: [5], batched: false, int: 4 }]);
    check('embedding grads', (e, i) => tf.gather(e, i), [U(6, 3), { shape: [4], batched: true, int: 6 }]);
    check('maxPool/avgPool', (x) => tf.add(tf.maxPool(x as tf.Tensor3D, 2, 2, 'valid'), tf.avgPool(x as tf.Tensor3D, 2, 2, 'valid')), [B(4, 4, 2)]);
  });

  // tfjs-wasm returns garbage for binary elementwise kernels and Pad on rank-7 tensors, and the batch
  // axis makes a rank-6 per-sample tensor rank 7: the rules must reshape below that.
  it('rank-6 per-sample tensors: elementwise ops, pad and prelu are computed right (rank 7 with the batch axis)', () => {
    const s6 = [2, 1, 2, 1, 2, 3];
    for (const [a, b] of [[B(...s6), B(...s6)], [B(...s6), U(...s6)], [U(...s6), B(...s6)]])
      check('add/sub/mul/div/squaredDifference', (x, y) => tf.div(tf.add(tf.mul(tf.sub(x, y), x), tf.squaredDifference(x, y)), tf.add(tf.abs(y), 1)), [a!, b!]);
    // (tfjs's SquaredDifference gradient does not reduce broadcast axes, so it is left out here.)
    for (const [a, b] of [[B(...s6), U(3)], [B(1, 1, 2, 1, 1, 3), B(...s6)]])
      check('add/sub/mul/div, broadcast', (x, y) => tf.div(tf.mul(tf.sub(x, y), tf.add(x, y)), tf.add(tf.abs(y), 1)), [a!, b!]);
    check('pad (mergeable axes)', (x) => tf.pad(x, [[0, 1], [0, 0], [0, 0], [0, 0], [1, 0], [0, 0]]), [B(...s6)]);
    check('prelu, unbatched alpha', (x, al) => tf.prelu(x, al), [B(...s6), U(3)]);
    const x = tf.ones([2, ...s6]);
    assert.throws(
      () => vectorize((v) => tf.pad(v, s6.map(() => [1, 0] as [number, number])), [0])(x),
      (e: unknown) => e instanceof BatchingRuleError && /^vectorized: 'PadV2' pads 6 of 6 per-sample axes; with the batch axis that is rank 7, which tfjs-wasm computes wrongly \(rank ≤ 6 only\)$/.test(e.message),
    );
    x.dispose();
  });

  it('rules: conv2d forward and input gradient', () => {
    const w = tf.tensor4d(Array.from({ length: 18 }, (_, i) => Math.sin(i)), [3, 3, 1, 2]);
    check('conv2d', (x) => tf.conv2d(x as tf.Tensor3D, w, 1, 'same'), [B(5, 5, 1)]);
    w.dispose();
  });

  it('conv model per-sample grads (vs the cpu oracle)', async () => {
    await assertWasmMatchesCpu(createVectorizedExecutor('wasm'), convModel(12, 'max', 'valid'), 5, 3, 'wasm conv');
  });

  it('seed and MLP models match the loop oracle', () => {
    const ex = createVectorizedExecutor('wasm');
    for (const [model, n] of [[seedModel, 33], [mlpModel('relu', 'losses'), 8]] as const) {
      const job = makeJob(model, n, 2);
      assertResults(run(ex, job), oracle(job), 1e-5, 'wasm');
      job.params.forEach((t) => t.dispose());
    }
  });

  it('conv model forward matches the loop oracle', () => {
    const ex = createVectorizedExecutor('wasm');
    const job = makeJob(convModel(12, 'max', 'valid'), 5, 3);
    const out = new Float32Array(5 * 10);
    ex.forward(job, out);
    assertClose(out, oracleForward(job, 10), { rtol: 1e-5, floor: 0.01 }, 'wasm conv forward');
    job.params.forEach((t) => t.dispose());
  });

  it('leaks nothing on wasm', () => {
    const ex = createVectorizedExecutor('wasm');
    const job = makeJob(seedModel, 8);
    run(ex, job);
    const before = liveCounts('wasm');
    for (let i = 0; i < 200; i++) run(ex, job);
    assert.deepEqual(liveCounts('wasm'), before);
    job.params.forEach((t) => t.dispose());
  });
});
