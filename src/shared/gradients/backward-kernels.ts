/**
 * Gradients for kernels that tfjs runs only inside gradients (Conv2DBackpropFilter, AvgPoolGrad):
 * tfjs registers none, so differentiating conv2d's or avgPool's gradient threw "gradient function not
 * found". Both kernels are linear in each input, so their gradients are the forward kernels they are
 * the adjoints of (as TensorFlow's _Conv2DBackpropFilterGrad and _AvgPoolGradGrad).
 */
import * as tf from '@tensorflow/tfjs';

type T = tf.Tensor;
const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => tf.engine().runKernel(kernel, inputs, attrs) as T;

/**
 * dW = Conv2DBackpropFilter(x, dy) pairs x with dy over the conv's windows; so ⟨dW, g⟩'s gradient is
 * conv2dTranspose(dy, g) in x and conv2d(x, g) in dy, with the conv's strides and padding.
 */
export const conv2DBackpropFilterGradient: tf.GradConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (g, [x, dy], attrs) => {
    const { strides, pad, dataFormat, dimRoundingMode } = attrs;
    return {
      x: () => run(tf.Conv2DBackpropInput, { dy: dy!, filter: g as T }, { strides, pad, dataFormat, dimRoundingMode, inputShape: x!.shape }),
      dy: () => run(tf.Conv2D, { x: x!, filter: g as T }, { strides, pad, dataFormat, dilations: 1, dimRoundingMode }),
    };
  },
};

/** AvgPoolGrad(dy, input) spreads each dy over its window: its adjoint in dy is avgPool; input only gives the shape. */
export const avgPoolGradGradient: tf.GradConfig = {
  kernelName: tf.AvgPoolGrad,
  inputsToSave: ['input'],
  gradFunc: (g, [input], attrs) => {
    const { filterSize, strides, pad } = attrs;
    return {
      dy: () => run(tf.AvgPool, { x: g as T }, { filterSize, strides, pad, dimRoundingMode: undefined as unknown as string }),
      input: () => tf.zerosLike(input!),
    };
  },
};

export const BACKWARD_KERNEL_GRADIENTS: readonly tf.GradConfig[] = [conv2DBackpropFilterGradient, avgPoolGradGradient];
