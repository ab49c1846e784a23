import * as tf from '@tensorflow/tfjs';
import { GradPoolError, fmtShape } from '../src/errors.js';
import type { ModelDef } from '../src/model/define.js';
import type { Executor } from './executors/types.js';

/**
 * Runs the model once on an all-zero sample to learn its output shape, and checks the contract the
 * executors rely on: forward returns a tensor of this worker's tfjs (not another copy of tfjs), and
 * loss returns a scalar. Returns the per-sample output shape.
 */
export function describeModel(model: ModelDef, _executor: Executor): number[] {
  const params: Record<string, tf.Tensor> = {};
  try {
    return tf.tidy(() => {
      model.layout.names.forEach((n, i) => (params[n] = tf.zeros(model.layout.shapes[i]!)));
      const pred = model.forward(params, tf.zeros(model.inputShape as number[]));
      if (!(pred instanceof tf.Tensor)) {
        const other = pred && typeof pred === 'object' && 'dataSync' in (pred as object);
        throw new GradPoolError('ERR_MODEL_INVALID', other
          ? 'model.forward: returned a tensor from a different copy of @tensorflow/tfjs than gradpool uses; make the model import the same @tensorflow/tfjs'
          : `model.forward: expected to return a tf.Tensor, got ${typeof pred}`);
      }
      const loss = model.loss(pred, tf.zeros(model.targetShape as number[]));
      if (!(loss instanceof tf.Tensor) || loss.rank !== 0)
        throw new GradPoolError('ERR_MODEL_INVALID', `model.loss: expected to return a scalar tensor, got ${loss instanceof tf.Tensor ? `shape ${fmtShape(loss.shape)}` : typeof loss}`);
      return pred.shape.slice();
    });
  } catch (e) {
    if (e instanceof GradPoolError) throw e;
    throw new GradPoolError('ERR_MODEL_INVALID', `model.forward: failed on an all-zero input of shape ${fmtShape(model.inputShape)}: ${(e as Error).message}`);
  }
}
