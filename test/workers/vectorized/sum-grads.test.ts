// The executor's sumGrads fast paths (sum mode with lazy outer products, and the clipped DP path)
// against the reference summation of per-sample gradients, on cpu and wasm; and they leak nothing.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { defineModel, type ModelDef } from '../../../src/model/define.js';
import { LoopExecutor } from '../../../workers/executors/loop.js';
import { sumGradsByLoop } from '../../../workers/executors/sum.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { liveCounts, useBackend } from '../../shared/batching/helpers.js';
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
          // Rows holding an earlier chunk's values (NaN here): sumGrads writes every value, the worker does not zero them.
          const ref = new Float64Array(P).fill(NaN);
          const refNorms = new Float32Array(6);
          assert.equal(sumGradsByLoop(job, new LoopExecutor(), new Float32Array(6), refNorms, ref, clip), -1);
          const row = new Float64Array(P).fill(NaN);
          const norms = new Float32Array(6);
          const losses = new Float32Array(6);
          assert.equal(createVectorizedExecutor(backend, false).sumGrads(job, losses, norms, row, clip), -1);
          assertClose(row, ref, { rtol: 1e-5, atol: 1e-6 }, `${name} sum`);
          if (clip) assertClose(norms, refNorms, { rtol: 1e-5 }, `${name} norms`);
          job.params.forEach((t) => t.dispose());
        }
      });
    }

    it('runs no inner Identity or same-dtype Cast: the tape\'s clones of the weights share their data', () => {
      // A copy gave each chunk's weight a fresh id, and XNNPACK repacks a matmul's weights per id.
      const counts = new Map<string, number>();
      const k = ['Identity', 'Cast'].map((name) => tf.getKernel(name, backend)!);
      const saved = k.map((c) => c.kernelFunc);
      k.forEach((c, i) => (c.kernelFunc = (a) => (counts.set(c.kernelName, (counts.get(c.kernelName) ?? 0) + 1), saved[i]!(a))));
      try {
        const job = makeJob(mlpModel('relu', 'logSoftmax', 16), 4);
        const ex = createVectorizedExecutor(backend, false);
        for (let i = 0; i < 3; i++) assert.equal(ex.sumGrads(job, new Float32Array(4), new Float32Array(4), new Float64Array(job.model.layout.total)), -1); // record, check, replay
        job.params.forEach((t) => t.dispose());
      } finally {
        k.forEach((c, i) => (c.kernelFunc = saved[i]!));
      }
      assert.deepEqual(Object.fromEntries(counts), {});
    });

    it('a non-finite gradient with a finite loss is still found and named (sum mode)', () => {
      // sqrt(|u|) has loss 0 at u = 0 but a NaN gradient there: only sample 2 (x = 0) has u = 0.
      const model = defineModel({
        params: { W: { shape: [3] } },
        inputShape: [3],
        targetShape: [1],
        forward: ({ W }, x) => tf.reshape(tf.sqrt(tf.abs(tf.sum(tf.mul(x, W!)))), [1]),
        loss: (pred) => tf.sum(pred),
      }) as unknown as ModelDef;
      const job = makeJob(model, 4);
      job.x.fill(0, 6, 9);
      const row = new Float64Array(3);
      assert.equal(createVectorizedExecutor(backend, false).sumGrads(job, new Float32Array(4), new Float32Array(4), row), 2);
      assert.ok(row.every(Number.isFinite), 'the partial row holds the finite samples only');
      job.params.forEach((t) => t.dispose());
    });

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
