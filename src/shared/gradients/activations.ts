/**
 * Elementwise activations whose tfjs gradient cannot itself be differentiated, re-registered with
 * gradients that can. Each config is tfjs-core 4.22's own (tfjs-core/src/gradients/<Kernel>_grad.ts),
 * the same ops in the same order, with two changes that matter only under an outer gradient: a saved
 * output is recomputed from the saved input (`outputOf`), and a mask is a `constant`.
 */
import * as tf from '@tensorflow/tfjs';
import { constant, outputOf } from './tape.js';

type T = tf.Tensor;
const SELU_SCALEALPHA = 1.7580993408473768599402175208123;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** tanh'(x) = 1 − tanh²(x). */
export const tanhGradient: tf.GradConfig = {
  kernelName: tf.Tanh,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, [x, y], attrs) => {
    const out = () => outputOf(tf.Tanh, { x: x! }, attrs, y!);
    return { x: () => tf.mul(tf.sub(tf.scalar(1), tf.square(out())), dy as T) };
  },
};

/** σ'(x) = σ(x)(1 − σ(x)). */
export const sigmoidGradient: tf.GradConfig = {
  kernelName: tf.Sigmoid,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, [x, y], attrs) => ({
    x: () => {
      const s = outputOf(tf.Sigmoid, { x: x! }, attrs, y!);
      return tf.mul(dy as T, tf.mul(s, tf.sub(tf.scalar(1), s)));
    },
  }),
};

/** exp' = exp. */
export const expGradient: tf.GradConfig = {
  kernelName: tf.Exp,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, [x, y], attrs) => ({ x: () => tf.mul(dy as T, outputOf(tf.Exp, { x: x! }, attrs, y!)) }),
};

/** elu'(x) = 1 for y ≥ 0, y + 1 below, computed by the EluGrad kernel (whose own gradient is below). */
export const eluGradient: tf.GradConfig = {
  kernelName: tf.Elu,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, [x, y], attrs) => ({
    x: () => tf.engine().runKernel(tf.EluGrad, { dy: dy as T, y: outputOf(tf.Elu, { x: x! }, attrs, y!) }) as T,
  }),
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
