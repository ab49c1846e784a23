/**
 * A conv net's first layer in one pass: Conv2D of one input channel, its bias and (when relu follows)
 * relu, fused by the trace (workers/executors/vectorized/fuse.ts) where the convolution feeds the bias
 * add only. On the benchmark's [32, 26, 26, 16] activation, Add and Relu write and re-read it twice
 * more (0.11 + 0.065 ms a chunk); this writes the sum z and relu(z) once each, straight from the sums.
 *
 * Same bits: the convolution is conv2d.ts's (XNNPACK's sums), then z = sum + bias as one float32 sum
 * per value (wasm's Add of a bias, add.ts), then relu as wasm's Relu computes it (see Epilogue). Only
 * where conv2d.ts takes the convolution and the bias is [C] (or all ones but its last) in float32.
 */
import * as tf from '@tensorflow/tfjs';
import { WASM } from './compose.js';
import { conv2dTakes, directConv2D } from './conv2d.js';

/** gradpool's kernel name: inputs `x`, `filter` (Conv2D's) and `bias`; Conv2D's attrs plus `relu`; outputs z, and relu(z) with `relu`. */
export const CONV2D_BIAS = 'GradpoolConv2DBias';

type Meta = Pick<tf.TensorInfo, 'shape' | 'dtype'>;
const info = (m: Meta): tf.TensorInfo => ({ dataId: {}, shape: m.shape, dtype: m.dtype });

/** Whether {@link CONV2D_BIAS} takes Conv2D of `x` by `filter` with `attrs`, plus `bias`. */
export function conv2dBiasFits(x: Meta, filter: Meta, bias: Meta, attrs: tf.NamedAttrMap): boolean {
  const C = filter.shape[3];
  const isBias = bias.dtype === 'float32' && bias.shape.length >= 1 && bias.shape.length <= 4 && bias.shape[bias.shape.length - 1] === C && bias.shape.slice(0, -1).every((d) => d === 1);
  return isBias && conv2dTakes(info(x), info(filter), attrs);
}

export const conv2dBiasConfig: tf.KernelConfig = {
  kernelName: CONV2D_BIAS,
  backendName: WASM,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
    const { relu, ...conv } = (attrs ?? {}) as tf.NamedAttrMap & { relu?: boolean };
    const outs = conv2dBiasFits(x, filter, bias, conv) ? directConv2D(backend as tf.KernelBackend, x, filter, conv, relu ? 'biasRelu' : 'bias', bias) : null;
    if (!outs) throw new Error(`${CONV2D_BIAS}: expected a Conv2D its direct kernel takes (float32 NHWC x [n, H, W, 1], filter [KH, KW, 1, C], at most 64 channels and 25 taps, and WebAssembly SIMD) and a float32 bias [C], got x ${x.dtype}[${x.shape}], filter ${filter.dtype}[${filter.shape}], bias ${bias.dtype}[${bias.shape}]`);
    return relu ? outs : outs[0]!;
  },
};
