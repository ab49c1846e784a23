/**
 * The documented derivation of random draws inside the model (README "Randomness"), written out again
 * for the tests, and a per-sample tf.grads oracle for the `random?op=dropout` fixture built on it.
 */
import * as tf from '@tensorflow/tfjs';
import { philox4x32 } from '../../src/privacy/gaussian.js';

/** The seed of draw `ordinal` of sample `sample` in call `call`: Philox4x32-10 → (u + 1) / 2^53. */
export function documentedSeed(seed: number, call: number, ordinal: number, sample: number): number {
  const w = philox4x32([sample, ordinal, call, 0x72616e64], [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0]);
  return ((w[0]! >>> 5) * 2 ** 26 + (w[1]! >>> 6) + 1) / 2 ** 53;
}

/**
 * Per-sample loss gradients of the dropout fixture (tanh(x W1 + b1), tf.dropout 0.5, · W2 + b2, MSE),
 * one plain tf.grads per sample with tf.dropout seeded as documented; sample i is batch index
 * `first + i`. Returns each sample's gradients of [W1, b1, W2, b2], flattened in that order.
 */
export function dropoutOracle(params: tf.Tensor[], x: Float32Array, y: Float32Array, seed: number, call: number, first = 0): number[][] {
  const n = x.length / 4;
  return Array.from({ length: n }, (_, i) =>
    tf.tidy(() => {
      const xi = tf.tensor(x.subarray(i * 4, (i + 1) * 4), [1, 4]);
      const yi = tf.tensor(y.subarray(i * 2, (i + 1) * 2), [2]);
      const f = (w1: tf.Tensor, c1: tf.Tensor, w2: tf.Tensor, c2: tf.Tensor) => {
        const h = tf.dropout(tf.tanh(tf.add(tf.matMul(xi, w1), c1)), 0.5, undefined, documentedSeed(seed, call, 0, first + i));
        return tf.mean(tf.squaredDifference(tf.reshape(tf.add(tf.matMul(h, w2), c2), [2]), yi));
      };
      return tf.grads(f)(params).flatMap((g) => Array.from(g.dataSync()));
    }),
  );
}
