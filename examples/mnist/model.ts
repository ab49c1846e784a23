// The MNIST MLP, 784-128-10, as a single-sample model. The benchmark suite runs it on random data and
// another part of the project trains it on real MNIST, so its definition is fixed: changing a shape,
// an initialiser or the loss changes both. Every worker imports this module (built to .js) by URL.
import * as tf from '@tensorflow/tfjs';
import { defineModel } from 'gradpool';

export default defineModel({
  // No explicit inits: the defaults follow a tfjs dense layer (glorotUniform kernels, zero biases).
  params: { W1: { shape: [784, 128] }, b1: { shape: [128] }, W2: { shape: [128, 10] }, b2: { shape: [10] } },
  inputShape: [784],
  targetShape: [10], // one-hot
  // x is one flattened 28x28 image; a [1,784] row makes both layers plain matMuls. Returns logits [10].
  forward: ({ W1, b1, W2, b2 }, x) => {
    const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [1, 784]), W1), b1));
    return tf.reshape(tf.add(tf.matMul(h, W2), b2), [10]);
  },
  // Softmax cross-entropy on logits, written out so it is exactly -Σ y·logSoftmax(z).
  loss: (logits, y) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)))),
});
