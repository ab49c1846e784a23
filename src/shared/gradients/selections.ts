/**
 * Softmax, pow and the kernels that select (max, min, maximum, minimum), re-registered with gradients
 * that can themselves be differentiated. Each is tfjs-core 4.22's own gradient
 * (tfjs-core/src/gradients/<Kernel>_grad.ts), same ops in the same order, but for a saved output
 * recomputed under an outer gradient (`outputOf`, from an input saved only then: `inputsIfNested`)
 * and masks held `constant`.
 */
import * as tf from '@tensorflow/tfjs';
import { constant, inputsIfNested, outputOf } from './tape.js';

type T = tf.Tensor;

/** softmax'ᵀ·dy = y⊙dy − y·Σ(y⊙dy) over the softmax axis. */
export const softmaxGradient: tf.GradConfig = {
  kernelName: tf.Softmax,
  get inputsToSave() {
    return inputsIfNested(['logits']);
  },
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => ({
    logits: () => {
      const y = outputOf(tf.Softmax, ['logits'], saved, attrs);
      const dyTimesY = tf.mul(dy as T, y);
      return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [attrs.dim as number], true), y));
    },
  }),
};

/**
 * Max and Min: dy flows to the elements equal to the result. The result only picks the mask, so it
 * and the mask are constants; dy's reshape stays on the tape.
 */
function reductionGradient(kernelName: string, axisAttr: 'reductionIndices' | 'axis'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => {
      const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x!.shape);
      const keep = (t: T) => (t.rank < x!.rank ? tf.reshape(t, tf.backend_util.expandShapeToKeepDim(t.shape, axes)) : t);
      return {
        x: () => {
          const g = keep(dy as T);
          return tf.mul(g, tf.cast(constant(() => tf.equal(x!, keep(y!))), g.dtype));
        },
      };
    },
  };
}
export const maxGradient = reductionGradient(tf.Max, 'reductionIndices');
export const minGradient = reductionGradient(tf.Min, 'axis');

export const maximumGradient: tf.GradConfig = {
  kernelName: tf.Maximum,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, [a, b]) => ({
    a: () => tf.mul(dy as T, tf.cast(constant(() => tf.greaterEqual(a!, b!)), 'float32')),
    b: () => tf.mul(dy as T, tf.cast(constant(() => tf.less(a!, b!)), 'float32')),
  }),
};

export const minimumGradient: tf.GradConfig = {
  kernelName: tf.Minimum,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, [a, b]) => ({
    a: () => tf.mul(dy as T, tf.cast(constant(() => tf.lessEqual(a!, b!)), 'float32')),
    b: () => tf.mul(dy as T, tf.cast(constant(() => tf.greater(a!, b!)), 'float32')),
  }),
};

/** d(aᵇ)/da = b·aᵇ⁻¹; d(aᵇ)/db = aᵇ·log a (0 where a ≤ 0, as tfjs); each summed to its input's shape. */
export const powGradient: tf.GradConfig = {
  kernelName: tf.Pow,
  inputsToSave: ['a', 'b'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [base, exp] = saved;
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(base!.shape, exp!.shape);
    const toShape = (res: T, shape: number[]) => {
      const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
      return tf.reshape(axes.length > 0 ? tf.sum(res, axes) : res, shape);
    };
    return {
      a: () => {
        const expFloat = tf.cast(exp!, 'float32');
        return toShape(tf.mul(dy as T, tf.mul(expFloat, tf.pow(base!, tf.sub(expFloat, tf.scalar(1))))), base!.shape);
      },
      b: () => {
        const condition = constant(() => tf.greater(base!, 0));
        const logBase = tf.where(condition, tf.log(base!), tf.zerosLike(base!));
        const y = outputOf(tf.Pow, ['a', 'b'], saved, attrs);
        return toShape(tf.mul(dy as T, tf.mul(y, logBase)), exp!.shape);
      },
    };
  },
};

export const SELECTION_GRADIENTS: readonly tf.GradConfig[] = [
  softmaxGradient, maxGradient, minGradient, maximumGradient, minimumGradient, powGradient,
];
