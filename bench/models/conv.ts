// A small single-sample convolutional classifier for the benchmark's compute-bound workload, written
// as a user would write it with tfjs: one 28x28x1 image (HWC; NHWC once batched) -> tf.conv2d 3x3,
// 16 filters, valid padding -> + bias -> relu -> 2x2 max-pool, stride 2 -> flatten (13*13*16 = 2704)
// -> dense 10 -> softmax cross-entropy. Every worker imports this module (built to .js) by URL.
import * as tf from '@tensorflow/tfjs';
import { defineModel } from 'gradpool';

/** Input side, filters and the flattened size after the valid conv and the 2x2 pool. */
export const CONV = { side: 28, filters: 16, classes: 10, pooled: 13 * 13 * 16 } as const;

export default defineModel({
  // Declared in tf.layers' weight order (kernel, bias per layer), so the benchmark's tf.sequential twin
  // takes these values with setWeights. Defaults follow tfjs layers (glorotUniform kernels, zero biases).
  params: {
    K: { shape: [3, 3, 1, CONV.filters] }, // [filterHeight, filterWidth, inChannels, outChannels]
    bK: { shape: [CONV.filters] },
    W: { shape: [CONV.pooled, CONV.classes] },
    b: { shape: [CONV.classes] },
  },
  inputShape: [CONV.side, CONV.side, 1],
  targetShape: [CONV.classes], // one-hot
  forward: ({ K, bK, W, b }, x) => {
    const h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor3D, K as tf.Tensor4D, 1, 'valid'), bK));
    const pooled = tf.maxPool(h as tf.Tensor3D, 2, 2, 'valid');
    return tf.reshape(tf.add(tf.matMul(tf.reshape(pooled, [1, CONV.pooled]), W), b), [CONV.classes]);
  },
  loss: (logits, y) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)))),
});
