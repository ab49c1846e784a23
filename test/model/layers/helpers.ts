/** Shared by the tfjs-layers tests: seeded models and the independent per-sample oracle. */
import * as tf from '@tensorflow/tfjs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layersSaveHandler } from '../../../src/io/tfjs-layers.js';
import { randn } from '../../helpers/data.js';

/** Gives every weight of `model` seeded values (tfjs initialisers are unseeded); variances stay positive. */
export function seedWeights(model: tf.LayersModel, seed: number): tf.LayersModel {
  const ws = model.weights;
  model.setWeights(
    ws.map((w, i) => {
      const v = randn(w.shape.reduce((a, b) => a! * b!, 1)!, seed + i, 0.3);
      return tf.tensor(/moving_variance$/.test(w.originalName) ? v.map((e) => Math.abs(e) + 0.5) : v, w.shape as number[]);
    }),
  );
  return model;
}

/** A one-layer Sequential model (the layer builds for `inputShape`), seeded. */
export function oneLayer(layer: tf.layers.Layer, seed = 1): tf.LayersModel {
  return seedWeights(tf.sequential({ layers: [layer] }), seed);
}

/**
 * The oracle: on the main thread, the ORIGINAL LayersModel applied to each sample as a batch of one,
 * its loss `tf.mean(loss(yTrue, yPred))` as compiled models average it, and `tf.variableGrads` over its
 * own trainable variables. Gradients come back per parameter, `[B, ...shape]` flat, in trainableWeights order.
 */
export function layersOracle(model: tf.LayersModel, loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor, x: Float32Array, y: Float32Array, B: number, targetShape: number[], training = true) {
  const inShape = model.inputs[0]!.shape.slice(1) as number[];
  const inSize = x.length / B;
  const tSize = y.length / B;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  const grads = vars.map(() => [] as number[]);
  for (let i = 0; i < B; i++) {
    tf.tidy(() => {
      const xi = tf.tensor(x.slice(i * inSize, (i + 1) * inSize), [1, ...inShape]);
      const yi = tf.tensor(y.slice(i * tSize, (i + 1) * tSize), [1, ...targetShape]);
      const { value, grads: g } = tf.variableGrads(() => tf.mean(loss(yi, model.apply(xi, { training }) as tf.Tensor)) as tf.Scalar, vars);
      losses.push(value.dataSync()[0]!);
      vars.forEach((v, k) => grads[k]!.push(...g[v.name]!.dataSync()));
    });
  }
  return { losses, grads };
}

/** Saves `model` as model.json + weights.bin into a fresh temp dir; returns the model.json path. */
export async function saveToTemp(model: tf.LayersModel, prefix = 'gradpool-layers-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await model.save(layersSaveHandler(dir));
  return join(dir, 'model.json');
}

export { warningsDuring } from '../../helpers/env.js';
