import * as tf from '@tensorflow/tfjs';
import { GradPoolError, fmtShape } from '../src/errors.js';
import type { ModelDef } from '../src/model/define.js';
import { checkedLoss, namedParams } from './executors/loss.js';
import type { VectorizedExecutor } from './executors/vectorized/executor.js';

/**
 * Runs the model once on an all-zero sample to learn its output shape, and checks the contract the
 * executors rely on: forward returns a tensor of this worker's tfjs (not another copy of tfjs), and
 * loss returns a scalar. With `probe`, also runs a 2-sample chunk through the vectorized executor's
 * batched path and reports why it failed, if it did.
 */
export function describeModel(model: ModelDef, probe: VectorizedExecutor | null): { outputShape: number[]; notVectorizable?: string } {
  const params: tf.Tensor[] = [];
  try {
    const outputShape = tf.tidy(() => {
      const zeros = model.layout.shapes.map((s) => tf.zeros(s));
      const pred = model.forward(namedParams(model, zeros), tf.zeros(model.inputShape as number[]));
      if (!(pred instanceof tf.Tensor)) {
        const other = pred && typeof pred === 'object' && 'dataSync' in (pred as object);
        throw new GradPoolError('ERR_MODEL_INVALID', other
          ? 'model.forward: returned a tensor from a different copy of @tensorflow/tfjs than gradpool uses; make the model import the same @tensorflow/tfjs'
          : `model.forward: expected to return a tf.Tensor, got ${typeof pred}`);
      }
      checkedLoss(model, pred, tf.zeros(model.targetShape as number[]));
      return pred.shape.slice();
    });
    if (!probe) return { outputShape };
    model.layout.shapes.forEach((s) => params.push(tf.randomNormal(s, 0, 0.1, 'float32', 1)));
    const n = 2;
    const job = { model, params, x: new Float32Array(n * model.inputSize).fill(0.5), y: new Float32Array(n * model.targetSize).fill(0.5), n, first: 0 };
    try {
      probe.probe(job, new Float32Array(n), model.layout.sizes.map((s) => new Float32Array(n * s)));
      return { outputShape };
    } catch (e) {
      return { outputShape, notVectorizable: (e as Error).message };
    }
  } catch (e) {
    if (e instanceof GradPoolError) throw e;
    throw new GradPoolError('ERR_MODEL_INVALID', `model.forward: failed on an all-zero input of shape ${fmtShape(model.inputShape)}: ${(e as Error).message}`);
  } finally {
    params.forEach((t) => t.dispose());
  }
}
