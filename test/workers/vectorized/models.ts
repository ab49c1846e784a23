/**
 * Test models for the vectorized executor, and the per-sample loop oracle they are checked against.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { defineModel, type ModelDef } from '../../../src/model/define.js';
import type { ChunkJob, Executor } from '../../../workers/executors/types.js';
import { rng, uniform } from '../../helpers/data.js';
import { assertClose } from '../../helpers/assert.js';
import { useBackend } from '../../helpers/env.js';

// defineModel's result is typed by its parameter names; executors take the generic ModelDef.
const generic = (m: unknown) => m as ModelDef;

/** The seed model: tensordot(x, W, [[0,1],[0,1]]) + b, spelled with reshape/matMul, MSE loss. */
export const seedModel = generic(defineModel({
  params: { W: { shape: [3, 2, 1], init: 'randomNormal' }, b: { shape: [1] } },
  inputShape: [3, 2],
  targetShape: [1],
  forward: ({ W, b }, x) => tf.add(tf.reshape(tf.matMul(tf.reshape(x, [1, 6]), tf.reshape(W!, [6, 1])), [1]), b!),
  loss: (pred, y) => tf.mean(tf.squaredDifference(pred, y)),
}));

/** MLP 784-hidden-10 with softmax cross-entropy on one-hot targets. */
export function mlpModel(act: 'relu' | 'tanh', loss: 'losses' | 'logSoftmax', hidden = 128): ModelDef {
  return generic(defineModel({
    params: { W1: { shape: [784, hidden] }, b1: { shape: [hidden] }, W2: { shape: [hidden, 10] }, b2: { shape: [10] } },
    inputShape: [784],
    targetShape: [10],
    forward: ({ W1, b1, W2, b2 }, x) => {
      const h = tf.add(tf.matMul(tf.reshape(x, [1, 784]), W1!), b1!);
      return tf.reshape(tf.add(tf.matMul(act === 'relu' ? tf.relu(h) : tf.tanh(h), W2!), b2!), [10]);
    },
    loss: (logits, y) => (loss === 'losses' ? tf.losses.softmaxCrossEntropy(y, logits) : tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits))))),
  }));
}

/** Small conv net: conv2d 3x3 (+bias, relu or sigmoid), max- or avg-pool 2x2, flatten, dense, softmax CE. */
export function convModel(side: number, pool: 'max' | 'avg', pad: 'valid' | 'same', filters = 4): ModelDef {
  const conv = pad === 'valid' ? side - 2 : side;
  const flat = Math.floor(conv / 2) ** 2 * filters;
  return generic(defineModel({
    params: { K: { shape: [3, 3, 1, filters] }, kb: { shape: [filters] }, W: { shape: [flat, 10] }, b: { shape: [10] } },
    inputShape: [side, side, 1],
    targetShape: [10],
    forward: ({ K, kb, W, b }, x) => {
      const c = tf.add(tf.conv2d(x as tf.Tensor3D, K as tf.Tensor4D, 1, pad), kb!);
      const a = pool === 'max' ? tf.relu(c) : tf.sigmoid(c);
      const p = pool === 'max' ? tf.maxPool(a as tf.Tensor3D, 2, 2, 'valid') : tf.avgPool(a as tf.Tensor3D, 2, 2, 'valid');
      return tf.reshape(tf.add(tf.matMul(tf.reshape(p, [1, flat]), W!), b!), [10]);
    },
    loss: (logits, y) => tf.losses.softmaxCrossEntropy(y, logits),
  }));
}

/** Seeded parameters (scaled like a dense-layer init) and a chunk of n samples with one-hot or real targets. */
export function makeJob(model: ModelDef, n: number, seed = 1): ChunkJob {
  const params = model.layout.shapes.map((shape, p) => {
    const v = uniform(model.layout.sizes[p]!, seed * 100 + p);
    const fanIn = shape.length >= 2 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 4;
    return tf.tensor(v.map((e) => e * Math.sqrt(3 / fanIn)), shape);
  });
  const x = uniform(n * model.inputSize, seed * 7 + 1);
  let y: Float32Array;
  if (model.targetSize === 10) {
    const r = rng(seed);
    y = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) y[i * 10 + Math.floor(r() * 10)] = 1;
  } else y = uniform(n * model.targetSize, seed * 13 + 2);
  return { model, params, x, y, n, first: 0 };
}

export interface Results {
  losses: Float32Array;
  grads: Float32Array[];
}

/** The oracle: for each sample, tf.valueAndGrads of the single-sample model on the plain inner backend. */
export function oracle(job: ChunkJob): Results {
  const { model, n } = job;
  const names = model.layout.names;
  const losses = new Float32Array(n);
  const grads = model.layout.sizes.map((s) => new Float32Array(n * s));
  for (let i = 0; i < n; i++)
    tf.tidy(() => {
      const x = tf.tensor(job.x.slice(i * model.inputSize, (i + 1) * model.inputSize), model.inputShape as number[]);
      const y = tf.tensor(job.y!.slice(i * model.targetSize, (i + 1) * model.targetSize), model.targetShape as number[]);
      const f = (...ps: tf.Tensor[]) => model.loss(model.forward(Object.fromEntries(names.map((nm, k) => [nm, ps[k]!])), x), y) as tf.Scalar;
      const { value, grads: g } = tf.valueAndGrads(f)(job.params);
      losses[i] = value.dataSync()[0]!;
      g.forEach((gp, p) => grads[p]!.set(gp.dataSync(), i * model.layout.sizes[p]!));
    });
  return { losses, grads };
}

/** Forward outputs of the oracle, sample by sample. */
export function oracleForward(job: ChunkJob, outSize: number): Float32Array {
  const { model, n } = job;
  const out = new Float32Array(n * outSize);
  const named = Object.fromEntries(model.layout.names.map((nm, k) => [nm, job.params[k]!]));
  for (let i = 0; i < n; i++)
    tf.tidy(() => out.set(model.forward(named, tf.tensor(job.x.slice(i * model.inputSize, (i + 1) * model.inputSize), model.inputShape as number[])).dataSync(), i * outSize));
  return out;
}

/** Runs `ex.lossAndGrads` on a job into fresh buffers. */
export function run(ex: Executor, job: ChunkJob): Results {
  const losses = new Float32Array(job.n);
  const grads = job.model.layout.sizes.map((s) => new Float32Array(job.n * s));
  ex.lossAndGrads(job, losses, grads);
  return { losses, grads };
}

/**
 * Runs `ex.losses` (evaluation: forward and loss, no gradients) on a job into fresh buffers. The test
 * models predict in their target's shape, so a prediction has `targetSize` values per sample.
 */
export function evaluate(ex: Executor, job: ChunkJob): { losses: Float32Array; pred: Float32Array } {
  const losses = new Float32Array(job.n);
  const pred = new Float32Array(job.n * job.model.targetSize);
  ex.losses(job, losses, pred);
  return { losses, pred };
}

/** Asserts executor results equal the oracle's to `rtol` (losses and every parameter's per-sample grads). */
export function assertResults(got: Results, want: Results, rtol: number, label: string): void {
  assertClose(got.losses, want.losses, { rtol: rtol, floor: 0.01 }, `${label}: losses`);
  assert.equal(got.grads.length, want.grads.length);
  got.grads.forEach((g, p) => assertClose(g, want.grads[p]!, { rtol: rtol, floor: 0.01 }, `${label}: grads of param ${p}`));
}

/**
 * Asserts `executor`'s per-sample losses and gradients of `model` on wasm equal the loop oracle's on
 * tfjs-cpu (an independent backend), for `n` samples of seeded data. Leaves wasm selected.
 */
export async function assertWasmMatchesCpu(executor: Executor, model: ModelDef, n: number, seed: number, label: string): Promise<void> {
  await useBackend('cpu');
  const cpuJob = makeJob(model, n, seed);
  const want = oracle(cpuJob);
  cpuJob.params.forEach((t) => t.dispose());
  await useBackend('wasm');
  const job = makeJob(model, n, seed);
  try {
    assertResults(run(executor, job), want, 1e-5, label);
  } finally {
    job.params.forEach((t) => t.dispose());
  }
}
