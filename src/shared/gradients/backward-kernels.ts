/**
 * Gradients for kernels that tfjs runs only inside gradients (the conv backprops, AvgPoolGrad,
 * MaxPoolGrad): tfjs registers none, so differentiating conv2d's, depthwiseConv2d's or a pool's
 * gradient threw "gradient function not found". Each kernel is linear in its dy (and a conv backprop
 * in its other input too), so its gradients are the kernels it is the adjoint of, as TensorFlow's
 * _Conv2DBackpropFilterGrad, _DepthwiseConv2dNativeBackpropInputGrad, _AvgPoolGradGrad and
 * _MaxPoolGradGrad.
 */
import * as tf from '@tensorflow/tfjs';
import { constant } from './tape.js';

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

/** dx = BackpropInput(dy, filter) is the adjoint of depthwiseConv2d(·, filter); in the filter, of BackpropFilter(·, dy). */
export const depthwiseBackpropInputGradient: tf.GradConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  inputsToSave: ['dy', 'filter'],
  gradFunc: (g, [dy, filter], attrs) => {
    const { strides, pad, dimRoundingMode, dilations } = attrs;
    return {
      dy: () => run(tf.DepthwiseConv2dNative, { x: g as T, filter: filter! }, { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode }),
      filter: () => run(tf.DepthwiseConv2dNativeBackpropFilter, { x: g as T, dy: dy! }, { strides, pad, dimRoundingMode, dilations, filterShape: filter!.shape }),
    };
  },
};

/** dW = BackpropFilter(x, dy): ⟨dW, g⟩ = ⟨dy, depthwiseConv2d(x, g)⟩ = ⟨x, BackpropInput(dy, g)⟩. */
export const depthwiseBackpropFilterGradient: tf.GradConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (g, [x, dy], attrs) => {
    const { strides, pad, dimRoundingMode, dilations } = attrs;
    return {
      x: () => run(tf.DepthwiseConv2dNativeBackpropInput, { dy: dy!, filter: g as T }, { strides, pad, dimRoundingMode, dilations, inputShape: x!.shape }),
      dy: () => run(tf.DepthwiseConv2dNative, { x: x!, filter: g as T }, { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode }),
    };
  },
};

/**
 * MaxPoolGrad routes each window's dy to the window's max; its adjoint in dy reads g at each window's
 * max, found by MaxPoolWithArgmax (flat indices, batch included). tfjs-wasm's MaxPoolWithArgmax
 * answers index 0 for a window whose max is negative, so it is asked about x − min(x) + 1 (≥ 1
 * everywhere, the same maxima but where two values of a window round together). In input and output
 * MaxPoolGrad is piecewise constant: zero.
 */
export const maxPoolGradGradient: tf.GradConfig = {
  kernelName: tf.MaxPoolGrad,
  inputsToSave: ['dy', 'input', 'output'],
  gradFunc: (g, [dy, input, output], attrs) => {
    const { filterSize, strides, pad } = attrs;
    return {
      dy: () => {
        // Which element is each window's max is piecewise constant in the input: off the tape.
        const argmax = constant(() => {
          const x = tf.add(tf.sub(input!, tf.min(input!)), 1);
          const [max, at] = tf.engine().runKernel(tf.MaxPoolWithArgmax, { x }, { filterSize, strides, pad, includeBatchInIndex: true }) as T[];
          max!.dispose();
          return at!;
        });
        return tf.reshape(tf.gather(tf.reshape(g as T, [-1]), argmax), dy!.shape);
      },
      input: () => tf.zerosLike(input!),
      output: () => tf.zerosLike(output!),
    };
  },
};

export const avgPool3DGradGradient: tf.GradConfig = {
  kernelName: tf.AvgPool3DGrad,
  inputsToSave: ['input'],
  gradFunc: (g, [input], attrs) => {
    const { filterSize, strides, pad, dimRoundingMode } = attrs;
    return {
      dy: () => run(tf.AvgPool3D, { x: g as T }, { filterSize, strides, pad, dimRoundingMode, dataFormat: 'NDHWC' }),
      input: () => tf.zerosLike(input!),
    };
  },
};

/** A resize's gradient kernel is the transpose of the (linear) resize: its adjoint in dy is the resize to dy's size. */
function resizeGradGradient(gradKernel: string, resizeKernel: string): tf.GradConfig {
  return {
    kernelName: gradKernel,
    inputsToSave: ['images', 'dy'],
    gradFunc: (g, [images, dy], attrs) => {
      const { alignCorners, halfPixelCenters } = attrs;
      return {
        dy: () => run(resizeKernel, { images: g as T }, { alignCorners, halfPixelCenters, size: dy!.shape.slice(1, 3) }),
        images: () => tf.zerosLike(images!),
      };
    },
  };
}
export const resizeBilinearGradGradient = resizeGradGradient(tf.ResizeBilinearGrad, tf.ResizeBilinear);
export const resizeNearestNeighborGradGradient = resizeGradGradient(tf.ResizeNearestNeighborGrad, tf.ResizeNearestNeighbor);

export const BACKWARD_KERNEL_GRADIENTS: readonly tf.GradConfig[] = [
  conv2DBackpropFilterGradient, depthwiseBackpropInputGradient, depthwiseBackpropFilterGradient, avgPoolGradGradient, maxPoolGradGradient,
  avgPool3DGradGradient, resizeBilinearGradGradient, resizeNearestNeighborGradGradient,
];
