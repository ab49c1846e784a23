// The model of torch.func's "Per-sample-gradients" tutorial, in tfjs and a little smaller so the
// example runs in seconds: conv 3×3×8 → relu → 2×2 max-pool → dense 10, with a negative
// log-likelihood loss. Written for ONE sample (x [28, 28, 1], target one-hot [10]); gradpool batches it.
import * as tf from '@tensorflow/tfjs';
import { grad } from 'gradpool';

export interface Params {
  conv: tf.Tensor4D;
  convBias: tf.Tensor1D;
  dense: tf.Tensor2D;
  denseBias: tf.Tensor1D;
}

/** Seeded initial parameters (He-normal), the same on every run. */
export function initParams(seed = 1): Params {
  return {
    conv: tf.randomNormal([3, 3, 1, 8], 0, Math.sqrt(2 / 9), 'float32', seed),
    convBias: tf.zeros([8]),
    dense: tf.randomNormal([13 * 13 * 8, 10], 0, Math.sqrt(2 / (13 * 13 * 8)), 'float32', seed + 1),
    denseBias: tf.zeros([10]),
  };
}

/** Logits [10] of one image. */
export function predict(p: Params, x: tf.Tensor): tf.Tensor {
  const h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x as tf.Tensor3D, p.conv, 1, 'valid'), p.convBias)) as tf.Tensor3D, 2, 2, 'valid');
  return tf.add(tf.squeeze(tf.matMul(tf.reshape(h, [1, -1]), p.dense), [0]), p.denseBias);
}

/** The tutorial's `compute_loss`: negative log-likelihood of the target class. */
export function loss(p: Params, x: tf.Tensor, target: tf.Tensor): tf.Tensor {
  const logits = predict(p, x);
  const logp = tf.sub(logits, tf.logSumExp(logits));
  return tf.neg(tf.sum(tf.mul(target, logp)));
}

/** The tutorial's `ft_compute_grad = grad(compute_loss)`: one sample's gradient, a tree like the params. */
export const sampleGrad = grad(loss);
