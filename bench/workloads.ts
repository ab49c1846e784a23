/**
 * The benchmark workloads. Each pairs a single-sample model module (what the pool's workers run) with
 * the same model written for a whole batch and as a `tf.sequential`, for the main-thread baselines
 * that tfjs can do natively. The batched forms read the very parameter values the pool starts from.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/rng.js';
import { CONV } from './models/conv.js';
import type { WorkloadName } from './options.js';

type Params = Record<string, tf.Tensor>;

/** One workload of the suite. */
export interface Workload {
  name: WorkloadName;
  /** For tables and the plot legend. */
  title: string;
  /** The built single-sample model module, as the pool's workers import it. */
  model: URL;
  /** Batch sizes: full run, and `--quick`. */
  batches: { full: number[]; quick: number[] };
  /** Seeded inputs and targets, flat, for `B` samples. */
  data(B: number, seed: number): { x: Float32Array; y: Float32Array };
  /** The model's forward pass written for a batch `[B, ...inputShape]`, same parameters. */
  batchedForward(p: Params, x: tf.Tensor): tf.Tensor;
  /** Mean over the batch of the single-sample loss. */
  batchedLoss(pred: tf.Tensor, y: tf.Tensor): tf.Scalar;
  /** The same architecture as tf.layers (uncompiled), and the loss to compile it with. */
  layers(): { model: tf.Sequential; loss: string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor) };
  /** Reshapes the pool's parameters (layout order) to the layers model's weights, in its order. */
  toLayerWeights(p: Params): tf.Tensor[];
}

function randn(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Pixel-like inputs in [0, 1) and one-hot labels. */
function images(B: number, inputSize: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: B * inputSize }, () => rng.uniform());
  const y = new Float32Array(B * classes);
  for (let i = 0; i < B; i++) y[i * classes + rng.int(classes)] = 1;
  return { x, y };
}

/** Mean over the batch of `-Σ y·logSoftmax(z)` (the single-sample loss of mlp and conv). */
const softmaxCE = (z: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(z)), -1)));

const seed: Workload = {
  name: 'seed',
  title: 'seed tensordot [3,2]→1',
  model: new URL('../examples/seed-tensordot/model.js', import.meta.url),
  batches: { full: [256, 1024, 4096], quick: [256, 4096] },
  data(B, s) {
    const rng = new Rng(s);
    return { x: randn(B * 6, rng), y: randn(B, rng) };
  },
  // tensordot over both sample axes == flatten the sample, then a [6,1] matMul.
  batchedForward: ({ W, b }, x) => tf.add(tf.matMul(tf.reshape(x, [-1, 6]), tf.reshape(W!, [6, 1])), b!),
  batchedLoss: (pred, y) => tf.mean(tf.squaredDifference(pred, y)),
  layers: () => ({
    model: tf.sequential({ layers: [tf.layers.flatten({ inputShape: [3, 2] }), tf.layers.dense({ units: 1 })] }),
    loss: 'meanSquaredError',
  }),
  toLayerWeights: ({ W, b }) => [tf.reshape(W!, [6, 1]), b!],
};

const mlp: Workload = {
  name: 'mlp',
  title: 'MNIST MLP 784-128-10',
  model: new URL('../examples/mnist/model.js', import.meta.url),
  batches: { full: [64, 256, 512], quick: [128] },
  data: (B, s) => images(B, 784, 10, s),
  batchedForward: ({ W1, b1, W2, b2 }, x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, W1!), b1!)), W2!), b2!),
  batchedLoss: softmaxCE,
  layers: () => ({
    model: tf.sequential({
      layers: [tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }), tf.layers.dense({ units: 10 })],
    }),
    // tf.losses.softmaxCrossEntropy takes logits and averages over the batch: the same loss.
    loss: (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
  }),
  toLayerWeights: ({ W1, b1, W2, b2 }) => [W1!, b1!, W2!, b2!],
};

const conv: Workload = {
  name: 'conv',
  title: `conv ${CONV.side}x${CONV.side} 3x3x${CONV.filters}→pool→10`,
  model: new URL('./models/conv.js', import.meta.url),
  batches: { full: [32, 128], quick: [32] },
  data: (B, s) => images(B, CONV.side * CONV.side, CONV.classes, s),
  batchedForward: ({ K, bK, W, b }, x) => {
    const B = x.shape[0]!;
    const nhwc = tf.reshape(x, [B, CONV.side, CONV.side, 1]) as tf.Tensor4D;
    const h = tf.relu(tf.add(tf.conv2d(nhwc, K as tf.Tensor4D, 1, 'valid'), bK!)) as tf.Tensor4D;
    const pooled = tf.maxPool(h, 2, 2, 'valid');
    return tf.add(tf.matMul(tf.reshape(pooled, [B, CONV.pooled]), W!), b!);
  },
  batchedLoss: softmaxCE,
  layers: () => ({
    model: tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [CONV.side, CONV.side, 1], filters: CONV.filters, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: CONV.classes }),
      ],
    }),
    loss: (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
  }),
  toLayerWeights: ({ K, bK, W, b }) => [K!, bK!, W!, b!],
};

/** All workloads by name. */
export const WORKLOADS: Record<WorkloadName, Workload> = { seed, mlp, conv };
