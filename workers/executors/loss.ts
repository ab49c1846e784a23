import * as tf from '@tensorflow/tfjs';
import { errors, fmtShape, raw } from '../../src/errors.js';
import type { ModelDef } from '../../src/model/define.js';

/** Names the params (layout order) for the model's `forward`, which takes them as an object. */
export function namedParams(model: ModelDef, params: readonly tf.Tensor[]): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  model.layout.names.forEach((n, i) => (out[n] = params[i]!));
  return out;
}

/**
 * `model.loss(pred, y)`, checked to be a scalar. Every executor (and the model check at pool creation)
 * goes through here, so a non-scalar loss fails with the same message wherever it is found.
 */
export function checkedLoss(model: ModelDef, pred: tf.Tensor, y: tf.Tensor): tf.Scalar {
  const loss = model.loss(pred, y);
  if (!(loss instanceof tf.Tensor) || loss.rank !== 0)
    throw errors.modelInvalid('loss', 'to return a scalar tensor', raw(loss instanceof tf.Tensor ? `shape ${fmtShape(loss.shape)}` : typeof loss));
  return loss as tf.Scalar;
}

/** The per-sample loss of `params` on (x, y): forward, then {@link checkedLoss}. */
export function lossOf(model: ModelDef, params: readonly tf.Tensor[], x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return checkedLoss(model, model.forward(namedParams(model, params), x), y);
}
