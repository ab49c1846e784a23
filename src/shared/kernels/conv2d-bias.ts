/**
 * A conv net's first layer in one pass: Conv2D of one input channel, its bias and (when relu follows)
 * relu, fused by the trace (workers/executors/vectorized/fuse.ts) where the convolution feeds the bias
 * add only. On the benchmark's [32, 26, 26, 16] activation, Add and Relu write and re-read it twice
 * more (0.11 + 0.065 ms a chunk); this writes the sum z and relu(z) once each, straight from the sums.
 *
 * Same bits: the convolution is conv2d.ts's (XNNPACK's sums), then z = sum + bias as one float32 sum
 * per value (wasm's Add of a bias, add.ts), then relu as wasm's Relu computes it (see Epilogue). Only
 * where conv2d.ts takes the convolution and the bias is [C] (or all ones but its last) in float32.
 *
 * Also here: tfjs's own FusedConv2D (tf.fused.conv2d, which a tfjs-layers Conv2D runs when no gradient
 * is taken through a relu, or with a linear activation) wrapped for the same convolutions, with a
 * linear or relu activation: its sums start from the bias (XNNPACK's order, checked against its
 * outputs), so this is the direct convolution with the `fused` epilogues.
 */
import * as tf from '@tensorflow/tfjs';
import { isBiasOver } from './add.js';
import { WASM, wrapKernel } from './compose.js';
import { conv2dTakes, directConv2D } from './conv2d.js';

/** gradpool's kernel name: inputs `x`, `filter` (Conv2D's) and `bias`; Conv2D's attrs plus `relu`; outputs z, and relu(z) with `relu`. */
export const CONV2D_BIAS = 'GradpoolConv2DBias';

type Meta = Pick<tf.TensorInfo, 'shape' | 'dtype'>;
const info = (m: Meta): tf.TensorInfo => ({ dataId: {}, shape: m.shape, dtype: m.dtype });

/** Whether {@link CONV2D_BIAS} takes Conv2D of `x` by `filter` with `attrs`, plus `bias`. */
export function conv2dBiasFits(x: Meta, filter: Meta, bias: Meta, attrs: tf.NamedAttrMap): boolean {
  const C = filter.shape[3];
  return bias.dtype === 'float32' && bias.shape.length <= 4 && isBiasOver(bias.shape, C!) && conv2dTakes(info(x), info(filter), attrs);
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

/** The config that runs FusedConv2D directly where the direct convolution takes it with a linear or relu activation, and every other call as `original` (wasm's). */
export function wrapFusedConv2D(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, ({ inputs, backend, attrs }) => {
    const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
    const { activation, leakyreluAlpha, ...conv } = (attrs ?? {}) as tf.NamedAttrMap & { activation?: string; leakyreluAlpha?: number };
    const be = backend as tf.KernelBackend;
    if (!bias) return activation === 'linear' ? (directConv2D(be, x, filter, conv)?.[0] ?? null) : null;
    // A bias of rank > 1 goes to wasm's kernel, which refuses it with its own error.
    if ((activation !== 'linear' && activation !== 'relu') || bias.shape.length !== 1 || !conv2dBiasFits(x, filter, bias, conv)) return null;
    return directConv2D(be, x, filter, conv, activation === 'relu' ? 'fusedRelu' : 'fused', bias)?.[0] ?? null;
  });
}
