/**
 * Elementwise activations whose tfjs gradient cannot itself be differentiated, re-registered with
 * gradients that can. Each config is tfjs-core 4.22's own (tfjs-core/src/gradients/<Kernel>_grad.ts),
 * the same ops in the same order, with two changes that matter only under an outer gradient: a saved
 * output is recomputed from the input (`outputOf`; the input is saved only then, `inputsIfNested`),
 * and a mask is a `constant`.
 */
import * as tf from '@tensorflow/tfjs';
import { constant, inputsIfNested, outputOf } from './tape.js';

type T = tf.Tensor;
const SELU_SCALEALPHA = 1.7580993408473768599402175208123;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** tanh'(x) = 1 − tanh²(x). */
export const tanhGradient: tf.GradConfig = {
  kernelName: tf.Tanh,
  get inputsToSave() {
    return inputsIfNested(['x']);
  },
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => ({ x: () => tf.mul(tf.sub(tf.scalar(1), tf.square(outputOf(tf.Tanh, ['x'], saved, attrs))), dy as T) }),
};

/** σ'(x) = σ(x)(1 − σ(x)). */
export const sigmoidGradient: tf.GradConfig = {
  kernelName: tf.Sigmoid,
  get inputsToSave() {
    return inputsIfNested(['x']);
  },
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => ({
    x: () => {
      const s = outputOf(tf.Sigmoid, ['x'], saved, attrs);
      return tf.mul(dy as T, tf.mul(s, tf.sub(tf.scalar(1), s)));
    },
  }),
};

/** exp' = exp. */
export const expGradient: tf.GradConfig = {
  kernelName: tf.Exp,
  get inputsToSave() {
    return inputsIfNested(['x']);
  },
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => ({ x: () => tf.mul(dy as T, outputOf(tf.Exp, ['x'], saved, attrs)) }),
};

/** elu'(x) = 1 for y ≥ 0, y + 1 below, computed by the EluGrad kernel (whose own gradient is below). */
export const eluGradient: tf.GradConfig = {
  kernelName: tf.Elu,
  get inputsToSave() {
    return inputsIfNested(['x']);
  },
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => ({ x: () => tf.engine().runKernel(tf.EluGrad, { dy: dy as T, y: outputOf(tf.Elu, ['x'], saved, attrs) }) as T }),
};

/**
 * EluGrad(dy, y) = dy where y ≥ 0, dy·(y + 1) below: linear in dy, and dy·∂(y + 1)/∂y = dy below.
 * tfjs registers no gradient for it (it only ever ran as a gradient).
 */
export const eluGradGradient: tf.GradConfig = {
  kernelName: tf.EluGrad,
  inputsToSave: ['dy', 'y'],
  gradFunc: (ddx, [dy, y]) => {
    const below = constant(() => tf.less(y!, 0));
    return {
      dy: () => tf.where(below, tf.mul(ddx as T, tf.add(y!, 1)), ddx as T),
      y: () => tf.where(below, tf.mul(ddx as T, dy!), tf.zerosLike(dy!)),
    };
  },
};

export const seluGradient: tf.GradConfig = {
  kernelName: tf.Selu,
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({
    x: () => {
      const mask = constant(() => tf.greater(x!, tf.scalar(0)));
      const greaterThanZeroDer = tf.mul(dy as T, tf.scalar(SELU_SCALE));
      const lessEqualZeroDer = tf.mul(tf.mul(dy as T, tf.scalar(SELU_SCALEALPHA)), tf.exp(tf.cast(x!, 'float32')));
      return tf.where(mask, greaterThanZeroDer, lessEqualZeroDer);
    },
  }),
};

export const leakyReluGradient: tf.GradConfig = {
  kernelName: tf.LeakyRelu,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const mask = constant(() => tf.greater(x!, 0));
    return { x: () => tf.where(mask, dy as T, tf.mul(dy as T, attrs.alpha as number)) };
  },
};

export const preluGradient: tf.GradConfig = {
  kernelName: tf.Prelu,
  inputsToSave: ['x', 'alpha'],
  gradFunc: (dy, [x, alpha]) => {
    const mask = constant(() => tf.greater(x!, 0));
    return {
      x: () => tf.where(mask, dy as T, tf.mul(dy as T, alpha!)),
      alpha: () => {
        let res = tf.where(mask, tf.zerosLike(dy as T), tf.mul(dy as T, x!));
        const axes = tf.backend_util.getReductionAxes(alpha!.shape, (dy as T).shape);
        if (axes.length > 0) res = tf.sum(res, axes);
        return tf.reshape(res, alpha!.shape);
      },
    };
  },
};

export const relu6Gradient: tf.GradConfig = {
  kernelName: tf.Relu6,
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => {
    const mask = constant(() => tf.mul(tf.lessEqual(x!, 6), tf.step(x!)));
    return { x: () => tf.mul(dy as T, tf.cast(mask, 'float32')) };
  },
};

export const clipByValueGradient: tf.GradConfig = {
  kernelName: tf.ClipByValue,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { clipValueMin, clipValueMax } = attrs as { clipValueMin: number; clipValueMax: number };
    const inside = () => constant(() => tf.logicalAnd(tf.greaterEqual(x!, clipValueMin), tf.lessEqual(x!, clipValueMax)));
    return { x: () => tf.where(inside(), dy as T, tf.zerosLike(dy as T)) };
  },
};

export const ACTIVATION_GRADIENTS: readonly tf.GradConfig[] = [
  tanhGradient, sigmoidGradient, expGradient, eluGradient, eluGradGradient, seluGradient,
  leakyReluGradient, preluGradient, relu6Gradient, clipByValueGradient,
];
