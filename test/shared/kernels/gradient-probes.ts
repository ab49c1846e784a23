/**
 * One small probe per kernel in tfjs-core's gradient registry: a function whose tf.grads makes the
 * engine run that kernel's registered gradient. Kernels whose forward no op runs (BroadcastTo,
 * LogSoftmax: no backend has them) or that need complex64 (ComplexAbs) are probed by calling their
 * gradient function directly. Inputs are seeded and built on the current backend.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { installSecondOrderGradients } from '../../../src/shared/gradients/index.js';
import { uniform } from '../../helpers/data.js';

type T = tf.Tensor;
/** tf.grads of `f` at `args()`, or the registered gradient function called on `saved` directly. */
export type Probe =
  | { f: (...xs: T[]) => T; args: () => T[] }
  | { direct: () => { dy: T; saved: T[]; attrs: tf.NamedAttrMap } };

let seed = 0;
/** Seeded values in [lo, hi). */
const u = (shape: number[], lo = -0.9, hi = 0.9): T => {
  const n = tf.util.sizeFromShape(shape);
  return tf.tensor(Array.from(uniform(n, ++seed), (v) => lo + ((v + 1) / 2) * (hi - lo)), shape);
};
const pos = (shape: number[]) => u(shape, 0.2, 0.9);
const ints = (v: number[]) => tf.tensor1d(v, 'int32');
const f32 = (x: T) => tf.cast(x, 'float32');
const t4 = (x: T) => x as tf.Tensor4D;
const t5 = (x: T) => x as tf.Tensor5D;

const unary = (op: (x: T) => T, mk = u): Probe => ({ f: op, args: () => [mk([2, 3])] });
/** Broadcasting [2, 3] with [3], so the gradient also reduces. */
const binary = (op: (a: T, b: T) => T, mk = u): Probe => ({ f: op, args: () => [mk([2, 3]), mk([3])] });
/** Same shapes, for gradients that refuse broadcasting (Maximum, Minimum, SquaredDifference). */
const binarySame = (op: (a: T, b: T) => T): Probe => ({ f: op, args: () => [u([2, 3]), u([2, 3])] });
/** A non-differentiable output made differentiable, so the (zero) gradient still runs. */
const zeroGrad = (op: (x: T) => T): Probe => unary((x) => tf.mul(x, f32(op(x))));
/** A kernel no op runs in a forward pass (tfjs runs it only inside gradients), run by name. */
const kernel = (name: string, attrs: tf.NamedAttrMap = {}) => (...xs: T[]): T => tf.engine().runKernel(name, Object.fromEntries(KERNEL_INPUTS[name]!.map((n, i) => [n, xs[i]!])), attrs) as T;
const KERNEL_INPUTS: Record<string, string[]> = {
  AvgPoolGrad: ['dy', 'input'], Conv2DBackpropFilter: ['x', 'dy'], EluGrad: ['dy', 'y'], MaxPoolGrad: ['dy', 'input', 'output'],
  DepthwiseConv2dNativeBackpropFilter: ['x', 'dy'], DepthwiseConv2dNativeBackpropInput: ['dy', 'filter'],
  AvgPool3DGrad: ['dy', 'input'],
  ResizeBilinearGrad: ['images', 'dy'], ResizeNearestNeighborGrad: ['images', 'dy'],
};
const DEPTHWISE = { strides: 2, pad: 'same', dilations: 1, dimRoundingMode: undefined as unknown as string };

export const PROBES: Record<string, Probe> = {
  Abs: unary(tf.abs), Acos: unary(tf.acos), Acosh: unary((x) => tf.acosh(tf.add(x, 2))),
  Add: binary(tf.add), AddN: { f: (a, b) => tf.addN([a!, b!]), args: () => [u([2, 3]), u([2, 3])] },
  ArgMax: zeroGrad((x) => tf.reshape(tf.argMax(x, 1), [2, 1])), ArgMin: zeroGrad((x) => tf.reshape(tf.argMin(x, 1), [2, 1])),
  Asin: unary(tf.asin), Asinh: unary(tf.asinh), Atan: unary(tf.atan), Atan2: binary(tf.atan2), Atanh: unary(tf.atanh),
  AvgPool: { f: (x) => tf.avgPool(t4(x), 2, 2, 'same'), args: () => [u([1, 5, 5, 2])] },
  // The gradients gradpool adds (src/shared/gradients/) for kernels tfjs runs only inside gradients.
  AvgPoolGrad: { f: kernel('AvgPoolGrad', { filterSize: 2, strides: 2, pad: 'same' }), args: () => [u([1, 3, 3, 2]), u([1, 5, 5, 2])] },
  AvgPool3DGrad: { f: kernel('AvgPool3DGrad', { filterSize: 2, strides: 2, pad: 'same' }), args: () => [u([1, 2, 3, 3, 2]), u([1, 3, 5, 5, 2])] },
  AvgPool3D: { f: (x) => tf.avgPool3d(t5(x), 2, 2, 'same'), args: () => [u([1, 3, 5, 5, 2])] },
  BatchMatMul: { f: (a, b) => tf.matMul(a!, b!), args: () => [u([2, 2, 3]), u([2, 3, 4])] },
  BatchToSpaceND: { f: (x) => tf.batchToSpaceND(x, [2, 2], [[0, 0], [0, 0]]), args: () => [u([4, 2, 2, 1])] },
  BroadcastTo: { direct: () => ({ dy: u([2, 3]), saved: [], attrs: { shape: [2, 3], inputShape: [1, 3] } }) },
  Cast: unary((x) => tf.cast(x, 'float32')), Ceil: unary(tf.ceil), ClipByValue: unary((x) => tf.clipByValue(x, -0.5, 0.5)),
  ComplexAbs: { direct: () => ({ dy: u([2, 3]), saved: [u([2, 3])], attrs: {} }) },
  Concat: { f: (a, b) => tf.concat([a!, b!], 1), args: () => [u([2, 3]), u([2, 2])] },
  Conv2D: { f: (x, w) => tf.conv2d(t4(x), t4(w), 2, 'same'), args: () => [u([2, 5, 5, 2]), u([3, 3, 2, 3])] },
  Conv2DBackpropInput: { f: (dy, w) => tf.conv2dTranspose(t4(dy), t4(w), [2, 5, 5, 2], 2, 'same'), args: () => [u([2, 3, 3, 3]), u([3, 3, 2, 3])] },
  Conv3D: { f: (x, w) => tf.conv3d(t5(x), t5(w), 1, 'same'), args: () => [u([1, 3, 4, 4, 2]), u([2, 2, 2, 2, 3])] },
  Conv2DBackpropFilter: {
    f: kernel('Conv2DBackpropFilter', { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] }),
    args: () => [u([2, 5, 5, 2]), u([2, 3, 3, 3])],
  },
  Cos: unary(tf.cos), Cosh: unary(tf.cosh), Cumsum: unary((x) => tf.cumsum(x, 1)),
  DepthwiseConv2dNativeBackpropFilter: {
    f: kernel('DepthwiseConv2dNativeBackpropFilter', { ...DEPTHWISE, filterShape: [3, 3, 2, 2] }),
    args: () => [u([2, 5, 5, 2]), u([2, 3, 3, 4])],
  },
  DepthwiseConv2dNativeBackpropInput: {
    f: kernel('DepthwiseConv2dNativeBackpropInput', { ...DEPTHWISE, inputShape: [2, 5, 5, 2] }),
    args: () => [u([2, 3, 3, 4]), u([3, 3, 2, 2])],
  },
  DepthwiseConv2dNative: { f: (x, w) => tf.depthwiseConv2d(t4(x), t4(w), 2, 'same'), args: () => [u([2, 5, 5, 2]), u([3, 3, 2, 2])] },
  Dilation2D: { f: (x, w) => tf.dilation2d(t4(x), w as tf.Tensor3D, 1, 'same'), args: () => [u([1, 4, 4, 2]), u([2, 2, 2])] },
  Elu: unary(tf.elu), EluGrad: { f: kernel('EluGrad'), args: () => [u([2, 3]), u([2, 3])] }, Erf: unary(tf.erf), Exp: unary(tf.exp), ExpandDims: unary((x) => tf.expandDims(x, 1)), Expm1: unary(tf.expm1),
  Floor: unary(tf.floor), FloorDiv: binary(tf.floorDiv, pos),
  FusedBatchNorm: { f: (x, m, v, o, s) => tf.batchNorm(x!, m!, v!, o!, s!, 0.001), args: () => [u([2, 3]), u([3]), pos([3]), u([3]), pos([3])] },
  GatherV2: { f: (x) => tf.gather(x, ints([0, 2, 2]), 0), args: () => [u([3, 2])] },
  GreaterEqual: { f: (a, b) => tf.mul(a!, f32(tf.greaterEqual(a!, b!))), args: () => [u([2, 3]), u([3])] },
  Identity: unary((x) => tf.clone(x)), IsFinite: zeroGrad(tf.isFinite), IsInf: zeroGrad(tf.isInf),
  IsNan: zeroGrad(tf.isNaN),
  LRN: { f: (x) => tf.localResponseNormalization(t4(x), 1), args: () => [u([1, 2, 2, 4])] },
  LeakyRelu: unary((x) => tf.leakyRelu(x, 0.1)), Log: unary(tf.log, pos), Log1p: unary(tf.log1p, pos),
  LogSoftmax: { direct: () => ({ dy: u([2, 3]), saved: [tf.logSoftmax(u([2, 3]))], attrs: { axis: -1 } }) },
  Max: unary((x) => tf.max(x, 1)),
  MaxPool: { f: (x) => tf.maxPool(t4(x), 2, 2, 'same'), args: () => [u([1, 5, 5, 2])] },
  // The pool's input and output as maxPool makes them, so the kernel sees a consistent triple.
  MaxPoolGrad: {
    f: (dy, x) => kernel('MaxPoolGrad', { filterSize: 2, strides: 2, pad: 'same' })(dy!, x!, tf.maxPool(t4(x!), 2, 2, 'same')),
    args: () => [u([1, 3, 3, 2]), u([1, 5, 5, 2])],
  },
  MaxPool3D: { f: (x) => tf.maxPool3d(t5(x), 2, 2, 'same'), args: () => [u([1, 3, 5, 5, 2])] },
  Maximum: binarySame(tf.maximum), Mean: unary((x) => tf.mean(x, 1)), Min: unary((x) => tf.min(x, 1)), Minimum: binarySame(tf.minimum),
  MirrorPad: unary((x) => tf.mirrorPad(x as tf.Tensor2D, [[1, 1], [1, 1]], 'reflect')),
  Mod: binary(tf.mod, pos), Multiply: binary(tf.mul), Neg: unary(tf.neg),
  // The gradient with respect to the int32 indices: zeros.
  OneHot: { f: (i) => tf.oneHot(i as tf.Tensor1D, 3), args: () => [ints([0, 2])] },
  OnesLike: unary(tf.onesLike), Pack: { f: (a, b) => tf.stack([a!, b!]), args: () => [u([2, 3]), u([2, 3])] },
  PadV2: unary((x) => tf.pad(x, [[1, 0], [0, 2]])), Pow: binary(tf.pow, pos), Prelu: binary(tf.prelu),
  Prod: unary((x) => tf.prod(x, 1)), RealDiv: binary(tf.div, pos), Reciprocal: unary(tf.reciprocal, pos),
  Relu: unary(tf.relu), Relu6: unary((x) => tf.relu6(tf.mul(x, 8))), Reshape: unary((x) => tf.reshape(x, [3, 2])),
  ResizeBilinear: { f: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [5, 5]), args: () => [u([1, 3, 3, 2])] },
  ResizeBilinearGrad: { f: kernel('ResizeBilinearGrad', { alignCorners: false, halfPixelCenters: false }), args: () => [u([1, 3, 3, 2]), u([1, 5, 5, 2])] },
  ResizeNearestNeighbor: { f: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [5, 5]), args: () => [u([1, 3, 3, 2])] },
  ResizeNearestNeighborGrad: { f: kernel('ResizeNearestNeighborGrad', { alignCorners: false, halfPixelCenters: false }), args: () => [u([1, 3, 3, 2]), u([1, 5, 5, 2])] },
  Reverse: unary((x) => tf.reverse(x, 1)), Round: unary(tf.round), Rsqrt: unary(tf.rsqrt, pos),
  Select: { f: (a, b) => tf.where(tf.tensor1d([true, false, true], 'bool'), a!, b!), args: () => [u([2, 3]), u([2, 3])] },
  Selu: unary(tf.selu), Sigmoid: unary(tf.sigmoid), Sign: unary(tf.sign), Sin: unary(tf.sin), Sinh: unary(tf.sinh),
  Slice: unary((x) => tf.slice(x, [0, 1], [2, 2])), Softmax: unary((x) => tf.softmax(x)), Softplus: unary(tf.softplus),
  SpaceToBatchND: { f: (x) => tf.spaceToBatchND(x, [2, 2], [[0, 0], [0, 0]]), args: () => [u([1, 4, 4, 1])] },
  SplitV: unary((x) => {
    const [a, b] = tf.split(x, [1, 2], 1);
    return tf.add(tf.sum(a!), tf.sum(tf.square(b!)));
  }),
  Sqrt: unary(tf.sqrt, pos), Square: unary(tf.square), SquaredDifference: binarySame(tf.squaredDifference), Step: unary((x) => tf.step(x)),
  Sub: binary(tf.sub), Sum: unary((x) => tf.sum(x, 1)), Tan: unary(tf.tan), Tanh: unary(tf.tanh), Tile: unary((x) => tf.tile(x, [2, 1])),
  Transpose: unary((x) => tf.transpose(x)),
  Unpack: unary((x) => {
    const [a, b] = tf.unstack(x);
    return tf.mul(a!, b!);
  }),
  UnsortedSegmentSum: { f: (x) => tf.unsortedSegmentSum(x, ints([1, 0, 1]), 2), args: () => [u([3, 2])] },
  ZerosLike: unary(tf.zerosLike),
};

/**
 * tfjs-core's gradient registry (a global map it keeps under this key; tf.getGradient reads one entry),
 * with gradpool's second-order gradients installed, as every gradpool thread has it.
 */
export function gradientRegistry(): Map<string, tf.GradConfig> {
  installSecondOrderGradients();
  const globals = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  const registry = globals?.get('gradRegistry') as Map<string, tf.GradConfig> | undefined;
  assert.ok(registry, "tfjs-core's gradient registry was not found under _tfGlobals");
  return registry;
}

/**
 * Gradients (kernel/input) that tfjs-backend-wasm 4.22 itself gets wrong, with kernels it has; not
 * this module's to fix (it adds missing kernels), listed so that a change either way shows here.
 */
export const WASM_OWN_WRONG: Record<string, string> = {
  'Conv3D/0': 'Conv3DBackpropInputV2 bounds the depth loop by filter_depth / stride instead of (filter_depth + corner) / stride',
  // Its Dilation2D kernels start the max at FLT_MIN (1.2e-38), not -Infinity: wrong where every x + w is negative.
  'Dilation2D/0': 'Dilation2DBackpropInput, from a max started at FLT_MIN',
  'Dilation2D/1': 'Dilation2DBackpropFilter, from a max started at FLT_MIN',
  'MaxPool3D/0': "MaxPool3DGrad drops the gradient of a 'same'-padded window whose max is negative",
};

/** The probe's arguments as `runProbe` makes them (the seeded values restart for each probe). */
export function probeArgs(probe: Extract<Probe, { f: unknown }>): T[] {
  seed = 0;
  return probe.args();
}

/**
 * Runs `probe` (on the current backend) and returns its gradients' values. The direct form calls the
 * gradient registered for `kernel` with dy, the saved tensors and attrs, as the engine would.
 */
export function runProbe(kernel: string, probe: Probe): Float32Array[] {
  seed = 0;
  return tf.tidy(() => {
    let grads: T[];
    if ('f' in probe) grads = tf.grads(probe.f)(probe.args());
    else {
      const { dy, saved, attrs } = probe.direct();
      const byInput = tf.getGradient(kernel)!.gradFunc(dy, saved, attrs);
      grads = Object.values(byInput).map((g) => g());
    }
    return grads.map((g) => Float32Array.from(g.dataSync()));
  });
}
