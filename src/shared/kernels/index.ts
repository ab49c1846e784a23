/**
 * Gradient kernels that tfjs-backend-wasm lacks, built from kernels it has and registered for 'wasm'
 * by {@link registerWasmGradientKernels} (which initBackend calls once wasm is selected), so a plain
 * tf.grads of conv2d, depthwise/separable convolutions and gather works on wasm. One file per kernel.
 *
 * Coverage. Derived from tfjs's own registries, not by hand (test/shared/kernels/registry.test.ts
 * re-derives it and fails when it changes): for every kernel in the gradient registry of
 * @tensorflow/tfjs-core 4.22 (101 of them), its gradient was run on small inputs on cpu, recording
 * every kernel the gradient function calls, and those were compared with tf.getKernelsForBackend('wasm').
 *
 *   gradient of             kernels it calls that wasm lacks                      here
 *   Conv2D                  Conv2DBackpropFilter                                  implemented
 *   Conv2DBackpropInput     Conv2DBackpropFilter                                  implemented
 *   DepthwiseConv2dNative   DepthwiseConv2dNativeBackpropInput,                   both implemented
 *                           DepthwiseConv2dNativeBackpropFilter
 *   GatherV2                UnsortedSegmentSum                                    implemented
 *   BroadcastTo             none; no backend has a BroadcastTo kernel             nothing to do:
 *   LogSoftmax              none; no backend has a LogSoftmax kernel              the ops never run them
 *                           (tf.broadcastTo runs Tile, tf.logSoftmax is composed of Max, Sub, Exp, Sum,
 *                           Log, so neither registered gradient is ever reached)
 *   ComplexAbs              none (the gradient is Abs's: Cast, Step, Multiply),   left out: wasm has
 *                           but the forward kernel is missing                     no complex64 tensors at all
 *                                                                                 (no Complex, Real, Imag)
 *   the other 94: Abs Acos Acosh Add AddN ArgMax ArgMin Asin Asinh Atan Atan2 Atanh AvgPool AvgPool3D
 *   BatchMatMul BatchToSpaceND Cast Ceil ClipByValue Concat Conv3D Cos Cosh Cumsum Dilation2D Elu Erf
 *   Exp ExpandDims Expm1 Floor FloorDiv FusedBatchNorm GreaterEqual Identity IsFinite IsInf IsNan LRN
 *   LeakyRelu Log Log1p Max MaxPool MaxPool3D Maximum Mean Min Minimum MirrorPad Mod Multiply Neg OneHot
 *   OnesLike Pack PadV2 Pow Prelu Prod RealDiv Reciprocal Relu Relu6 Reshape ResizeBilinear
 *   ResizeNearestNeighbor Reverse Round Rsqrt Select Selu Sigmoid Sign Sin Sinh Slice Softmax Softplus
 *   SpaceToBatchND SplitV Sqrt Square SquaredDifference Step Sub Sum Tan Tanh Tile Transpose Unpack
 *   UnsortedSegmentSum ZerosLike: none missing (their backprops, e.g. AvgPoolGrad, Conv3DBackprop*V2,
 *   Dilation2DBackprop*, EluGrad, LRNGrad, MaxPoolGrad, Resize*Grad, Cumprod, exist on wasm).
 *
 * Gradients outside the registry (tf.customGrad inside tfjs-core ops): fused conv2d and fused
 * depthwiseConv2d call the same Conv2DBackpropFilter / DepthwiseConv2dNativeBackprop* kernels, so
 * they are covered too; fused matMul and softmaxCrossEntropy call only kernels wasm has.
 *
 * Present on wasm but wrong (tfjs-backend-wasm 4.22, found by the same test running every gradient
 * on wasm against cpu; not replaced yet, they are listed in docs/coverage.md): Conv3D's input
 * gradient (Conv3DBackpropInputV2 bounds its depth loop wrongly, for any input depth > 1), and
 * Conv3DBackpropFilterV2 with strides > 1; MaxPool3DGrad drops the gradient of a 'same'-padded
 * window whose max is negative (MaxPoolGrad did too: replaced); Dilation2D and both its backprops start their max at
 * FLT_MIN instead of -Infinity. OneHot, whose float32 output is garbage, is replaced
 * ({@link WASM_KERNEL_REPLACEMENTS}).
 */
import * as tf from '@tensorflow/tfjs';
import { WASM } from './compose.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-native-backprop-filter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-native-backprop-input.js';
import { maxPoolConfig } from './max-pool.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { maxPoolGradStepConfig } from './max-pool-grad-step.js';
import { oneHotConfig } from './one-hot.js';
import { outerSumConfig } from './outer-sum.js';
import { perSampleFilterGradConfig } from './per-sample-filter-grad.js';
import { stepMultiplyConfig } from './step-multiply.js';
import { pointwiseConfig } from './pointwise.js';
import { wrapAdd } from './add.js';
import { wrapSum } from './sum.js';
import { wrapMultiply } from './multiply.js';
import { wrapBatchMatMul } from './batch-matmul.js';
import { wrapConv2D } from './conv2d.js';
import { conv2dBiasConfig, wrapFusedConv2D } from './conv2d-bias.js';
import { wrapMean } from './mean.js';
import { wrapTranspose } from './transpose.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** Every kernel this module adds to wasm, one config each. */
export const WASM_GRADIENT_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
];

/**
 * Kernels with a registered gradient that stay unusable on wasm after registration, and why; the
 * registry test checks this list against the registry.
 */
export const WASM_GRADIENT_GAPS: Readonly<Record<string, string>> = {
  BroadcastTo: 'no backend registers a BroadcastTo kernel; tf.broadcastTo runs Tile',
  LogSoftmax: 'no backend registers a LogSoftmax kernel; tf.logSoftmax is composed of other ops',
  ComplexAbs: 'the wasm backend has no complex64 tensors',
};

/**
 * Kernels tfjs-backend-wasm 4.22 has but computes wrongly where no error is raised, replaced here
 * (one file each, tested against tfjs-backend-cpu): OneHot in any dtype but int32; MaxPool (a window
 * whose first value is NaN came out -Infinity; also ~2x faster on a conv net's 2x2 pool); MaxPoolGrad
 * ('same' padding with negative maxima; also ~10x faster than wasm's).
 */
export const WASM_KERNEL_REPLACEMENTS: readonly tf.KernelConfig[] = [oneHotConfig, maxPoolConfig, maxPoolGradConfig];

/** gradpool's own wasm kernels, for batching rules and replayed traces only (no tfjs op runs them). */
export const WASM_GRADPOOL_KERNELS: readonly tf.KernelConfig[] = [perSampleFilterGradConfig, stepMultiplyConfig, maxPoolGradStepConfig, outerSumConfig, conv2dBiasConfig, pointwiseConfig];

/**
 * Kernels tfjs-backend-wasm 4.22 computes right but slowly in a case conv nets hit, wrapped here: the
 * wrapper takes that case and hands every other call to wasm's own kernel (same bits either way):
 * Sum over non-trailing axes (a conv bias gradient), which wasm transposes first; Multiply as a batched
 * outer product (a dense layer's per-sample weight gradient), which wasm broadcasts slowly; Transpose
 * of whole rows of channels (the filter gradient's samples-into-channels moves), which wasm does value
 * by value; Add of a bias over channels ([..., C] + [C], a conv layer's bias), which wasm broadcasts slowly;
 * BatchMatMul of a matrix by a vector (a one-unit output layer), which wasm runs in XNNPACK's 8-wide tiles,
 * and with an inner dimension of at most 16 (a small dense layer's input gradient), where XNNPACK's tiles cost more than their products;
 * Mean over length-1 axes (a one-output model's per-sample loss), which wasm divides value by value;
 * Conv2D and FusedConv2D (linear or relu) of a one-channel input (a conv net's first layer), which XNNPACK runs as a GEMM
 * with an inner dimension of 1.
 */
export const WASM_KERNEL_WRAPPERS: Readonly<Record<string, (original: tf.KernelConfig) => tf.KernelConfig>> = {
  Sum: wrapSum,
  Multiply: wrapMultiply,
  Transpose: wrapTranspose,
  Add: wrapAdd,
  BatchMatMul: wrapBatchMatMul,
  Mean: wrapMean,
  Conv2D: wrapConv2D,
  FusedConv2D: wrapFusedConv2D,
};
const wrapped = new WeakSet<tf.KernelFunc>();

/**
 * Registers the kernels of {@link WASM_GRADIENT_KERNELS} for 'wasm', and swaps in those of
 * {@link WASM_KERNEL_REPLACEMENTS} and the wrappers of {@link WASM_KERNEL_WRAPPERS}. Idempotent, and a missing kernel wasm already has (a later
 * tfjs-backend-wasm may bring its own) is left alone. Needs no initialised backend: the kernels find
 * the backend in their call.
 */
export function registerWasmGradientKernels(): void {
  for (const config of [...WASM_GRADIENT_KERNELS, ...WASM_GRADPOOL_KERNELS]) if (!tf.getKernel(config.kernelName, WASM)) tf.registerKernel(config);
  for (const config of WASM_KERNEL_REPLACEMENTS) {
    if (tf.getKernel(config.kernelName, WASM)?.kernelFunc === config.kernelFunc) continue;
    tf.unregisterKernel(config.kernelName, WASM);
    tf.registerKernel(config);
  }
  for (const [name, wrap] of Object.entries(WASM_KERNEL_WRAPPERS)) {
    const original = tf.getKernel(name, WASM);
    if (!original || wrapped.has(original.kernelFunc)) continue;
    const config = wrap(original);
    wrapped.add(config.kernelFunc);
    tf.unregisterKernel(name, WASM);
    tf.registerKernel(config);
  }
}
