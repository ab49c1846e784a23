// Conv nets under the vectorized executor, the fast paths on wasm included (gradpool's MaxPoolGrad and
// SIMD per-sample filter gradient, the SIMD Sum/Multiply/Transpose wrappers, the shared Identity, the
// transposed-operand dense input gradient, the reshape-only transposes of the filter-gradient kernels): per-sample gradients and both gradient sums against the per-sample
// tf.grads loop on tfjs-cpu (an independent backend), for strides 1 and 2, 'same' and 'valid',
// several channel counts, overlapping and non-overlapping pools, and images per sample > 1.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { defineModel, type ModelDef } from '../../../src/model/define.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { assertClose } from '../../helpers/assert.js';
import { liveCounts, useBackend } from '../../shared/batching/helpers.js';
import { assertResults, makeJob, oracle, run, type Results } from './models.js';

interface Net {
  side: number;
  /** Images per sample: the per-sample input is [b, side, side, c] when b > 1 (tfjs's own batch axis). */
  b: number;
  c: number;
  co: number;
  stride: number;
  pad: 'same' | 'valid';
  /** Max-pool window and stride (window > stride: overlapping windows). */
  pool: [number, number];
}

/** conv2d (+ bias, relu) -> maxPool -> flatten -> dense 10 -> softmax cross-entropy, over all b images. */
function convNet(n: Net): ModelDef {
  const conv = tf.backend_util.computeConv2DInfo([n.b, n.side, n.side, n.c], [3, 3, n.c, n.co], n.stride, 1, n.pad);
  const pool = tf.backend_util.computePool2DInfo(conv.outShape, n.pool[0], n.pool[1], 1, 'same');
  const flat = tf.util.sizeFromShape(pool.outShape);
  const inputShape = n.b > 1 ? [n.b, n.side, n.side, n.c] : [n.side, n.side, n.c];
  return defineModel({
    params: { K: { shape: [3, 3, n.c, n.co] }, kb: { shape: [n.co] }, W: { shape: [flat, 10] }, b: { shape: [10] } },
    inputShape,
    targetShape: [10],
    forward: ({ K, kb, W, b }, x) => {
      const h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, K as tf.Tensor4D, n.stride, n.pad), kb!));
      const p = tf.maxPool(h as tf.Tensor4D, n.pool[0], n.pool[1], 'same');
      return tf.reshape(tf.add(tf.matMul(tf.reshape(p, [1, flat]), W!), b!), [10]);
    },
    loss: (logits, y) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)))),
  }) as unknown as ModelDef;
}

const NETS: Net[] = [
  { side: 8, b: 1, c: 1, co: 16, stride: 1, pad: 'valid', pool: [2, 2] }, // the benchmark's shape, small
  { side: 9, b: 1, c: 3, co: 4, stride: 2, pad: 'same', pool: [2, 2] },
  { side: 7, b: 1, c: 2, co: 5, stride: 1, pad: 'same', pool: [3, 1] },
  { side: 8, b: 2, c: 2, co: 3, stride: 2, pad: 'valid', pool: [2, 1] },
  { side: 6, b: 3, c: 1, co: 8, stride: 1, pad: 'same', pool: [2, 2] },
  // gradpool's SIMD per-sample filter gradient on wasm (no padding, CO a multiple of 16), b > 1, stride 2:
  { side: 9, b: 2, c: 3, co: 16, stride: 2, pad: 'valid', pool: [2, 2] },
  { side: 7, b: 1, c: 2, co: 32, stride: 1, pad: 'valid', pool: [2, 2] },
];
const label = (n: Net) => `b ${n.b} c ${n.c} co ${n.co} stride ${n.stride} ${n.pad} pool ${n.pool}`;
const N = 5;

/** The loop oracle on cpu, and the same seeded job on `backend` for the executor. */
async function cases(backend: 'cpu' | 'wasm'): Promise<{ net: Net; model: ModelDef; want: Results }[]> {
  await useBackend('cpu');
  const out = NETS.map((net) => {
    const model = convNet(net);
    const job = makeJob(model, N, 3);
    const want = oracle(job);
    job.params.forEach((t) => t.dispose());
    return { net, model, want };
  });
  await useBackend(backend);
  return out;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`vectorized executor: conv nets on ${backend} (vs the per-sample loop on cpu)`, () => {
    it('per-sample losses and gradients', async () => {
      for (const { net, model, want } of await cases(backend)) {
        const job = makeJob(model, N, 3);
        assertResults(run(createVectorizedExecutor(backend, false), job), want, 1e-5, label(net));
        job.params.forEach((t) => t.dispose());
      }
    });

    it('gradient sums: sum mode and DP-clipped', async () => {
      for (const { net, model, want } of await cases(backend))
        for (const clip of [undefined, 0.5]) {
          const job = makeJob(model, N, 3);
          const { offsets, sizes, total } = model.layout;
          const ref = new Float64Array(total);
          want.grads.forEach((g, p) => {
            for (let i = 0; i < N; i++) {
              let ss = 0;
              for (const [q, h] of want.grads.entries()) for (let k = 0; k < sizes[q]!; k++) ss += h[i * sizes[q]! + k]! ** 2;
              const f = clip === undefined ? 1 : Math.min(1, clip / (Math.sqrt(ss) + 1e-6));
              for (let k = 0; k < sizes[p]!; k++) ref[offsets[p]! + k] += f * g[i * sizes[p]! + k]!;
            }
          });
          const row = new Float64Array(total);
          assert.equal(createVectorizedExecutor(backend, false).sumGrads(job, new Float32Array(N), new Float32Array(N), row, clip), -1);
          assertClose(row, ref, { rtol: 1e-5, atol: 1e-6, floor: 0.01 }, `${label(net)} sum, clip ${clip}`);
          job.params.forEach((t) => t.dispose());
        }
    });

    it('leaks nothing over 1000 calls (per-sample gradients and sums)', async () => {
      await useBackend(backend);
      const ex = createVectorizedExecutor(backend, false);
      const job = makeJob(convNet(NETS[2]!), 4);
      const { total } = job.model.layout;
      const go = (i: number) => (i % 2 ? run(ex, job) : ex.sumGrads(job, new Float32Array(4), new Float32Array(4), new Float64Array(total)));
      go(0);
      go(1);
      const before = liveCounts(backend);
      for (let i = 0; i < 1000; i++) go(i);
      assert.deepEqual(liveCounts(backend), before);
      assert.equal(before.vmap, 0);
      job.params.forEach((t) => t.dispose());
    });
  });
}
