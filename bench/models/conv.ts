// A small single-sample convolutional classifier for the benchmark's compute-bound workload:
// 28x28x1 image -> 3x3 conv, 16 filters -> relu -> 2x2 max-pool -> dense 10 -> softmax cross-entropy.
//
// The 2-D convolution is written as a depth-1 tf.conv3d (kernel [1,3,3,1,16]): the same arithmetic
// as tf.conv2d, but tfjs-backend-wasm 4.x registers no Conv2DBackpropFilter kernel, so tf.conv2d's
// filter gradient throws on the default backend, while Conv3D and both its backprops exist on wasm
// and cpu. Every worker imports this module (built to .js) by URL.
import * as tf from '@tensorflow/tfjs';
import { defineModel } from 'gradpool';

/** Input side, filters and the flattened size after the valid conv and the 2x2 pool. */
export const CONV = { side: 28, filters: 16, classes: 10, pooled: 13 * 13 * 16 } as const;

export default defineModel({
  // Declared in tf.layers' weight order (kernel, bias per layer), so the benchmark's tf.sequential twin
  // takes these values with setWeights. Defaults follow tfjs layers (glorotUniform kernels, zero biases).
  params: {
    K: { shape: [1, 3, 3, 1, CONV.filters] },
    bK: { shape: [CONV.filters] },
    W: { shape: [CONV.pooled, CONV.classes] },
    b: { shape: [CONV.classes] },
  },
  inputShape: [CONV.side, CONV.side, 1],
  targetShape: [CONV.classes], // one-hot
  forward: ({ K, bK, W, b }, x) => {
    // A rank-4 conv3d input is one unbatched [depth, height, width, channels] volume.
    const vol = tf.reshape(x, [1, CONV.side, CONV.side, 1]);
    const h = tf.relu(tf.add(tf.conv3d(vol as tf.Tensor4D, K as tf.Tensor5D, 1, 'valid'), bK));
    const pooled = tf.maxPool3d(h as tf.Tensor4D, [1, 2, 2], [1, 2, 2], 'valid');
    return tf.reshape(tf.add(tf.matMul(tf.reshape(pooled, [1, CONV.pooled]), W), b), [CONV.classes]);
  },
  loss: (logits, y) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)))),
});
