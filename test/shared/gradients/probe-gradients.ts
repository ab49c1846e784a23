/** The first-order gradients of one op for the probe tests (first-order.test.ts, custom-ops.test.ts). */
import * as tf from '@tensorflow/tfjs';
import { disposeAbandonedTape } from '../../../src/shared/batching/engine.js';
import { uniform } from '../../helpers/data.js';

/**
 * f's first-order gradients at `args` for a seeded dy (not ones: dy = 1 would hide a reordered
 * product), as a plain tf.grads or, with `outer`, inside an outer gradient that then differentiates
 * their sum. Disposes `args`.
 */
export function gradientsAt(f: (...xs: tf.Tensor[]) => tf.Tensor, args: tf.Tensor[], outer: boolean): Float32Array[] {
  const shape = tf.tidy(() => f(...args).shape);
  const dy = tf.tensor(uniform(tf.util.sizeFromShape(shape), 7), shape);
  let values: Float32Array[] = [];
  const inner = () => {
    const grads = tf.grads(f)(args, dy);
    values = grads.map((g) => Float32Array.from(g.dataSync()));
    return tf.addN(grads.map((g) => tf.sum(tf.cast(g, 'float32'))));
  };
  try {
    const float = args.filter((a) => a.dtype === 'float32');
    tf.tidy(() => (outer ? tf.engine().gradients(inner, float, undefined, true).grads : inner()));
  } catch (e) {
    disposeAbandonedTape();
    // Under an outer gradient tfjs's own gradient may not be differentiable: its values were read before.
    if (!outer) throw e;
  } finally {
    tf.dispose([...args, dy]);
  }
  return values;
}
