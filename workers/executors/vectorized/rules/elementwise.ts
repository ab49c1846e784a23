/**
 * Elementwise and reduction families: one line per kernel, via the family helpers.
 */
import * as tf from '@tensorflow/tfjs';
import { mapInputs, type BVal } from '../values.js';
import { defbroadcasting, defreducer, defrule, defvectorized, MAX_INNER_RANK, type RuleConfig } from './families.js';

export const elementwiseRules: RuleConfig[] = [
  // Unary elementwise, plus ops that only look at the last axis (OneHot appends one, TopK reduces it).
  ...defvectorized(
    'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Cast', 'Ceil', 'ClipByValue', 'Cos', 'Cosh',
    'Elu', 'Erf', 'Exp', 'Expm1', 'Floor', 'Identity', 'IsFinite', 'IsInf', 'IsNan', 'LeakyRelu', 'Log',
    'Log1p', 'LogicalNot', 'Neg', 'OnesLike', 'Reciprocal', 'Relu', 'Relu6', 'Round', 'Rsqrt', 'Selu',
    'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softplus', 'Sqrt', 'Square', 'Step', 'Tan', 'Tanh', 'ZerosLike',
    'OneHot', 'TopK',
  ),

  // Same-shape multi-input elementwise kernels: these kernels don't broadcast, so every input is
  // broadcast to the full batched shape first (the `where` op already made the per-sample shapes equal).
  ...defvectorized('EluGrad', 'Select', 'AddN'),

  // Numpy-broadcasting binary kernels.
  ...defbroadcasting(
    'Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'FloorDiv', 'Mod',
    'Atan2', 'Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'LogicalAnd', 'LogicalOr',
    'LogicalXor', 'BitwiseAnd',
  ),

  // Reductions and other single-input kernels with axis attributes (note Max's attribute name).
  ...['Sum', 'Mean', 'Prod', 'Min', 'All', 'Any', 'ArgMax', 'ArgMin', 'Cumsum', 'Cumprod'].map((k) => defreducer(k, 'axis')),
  defreducer('Max', 'reductionIndices'),
  defreducer('Softmax', 'dim'),
  defreducer('Reverse', 'dims'),

  // Prelu: a per-sample (unbatched) alpha broadcasts over trailing axes in every inner backend, so the
  // kernel runs as is; a batched alpha (or a rank wasm gets wrong) is spelled out as where(x < 0, alpha * x, x).
  defrule('Prelu', (ctx, inputs) => {
    const { x, alpha } = inputs as { x: BVal; alpha: BVal };
    if (!alpha.batched && ctx.shape(x).length < MAX_INNER_RANK) return ctx.batched(ctx.call1('Prelu', { x: x.info, alpha: alpha.info }));
    const zero: BVal = { info: ctx.constant(new Float32Array([0]), [], 'float32'), batched: false };
    const neg = ctx.apply1('Less', { a: x, b: zero });
    const scaled = ctx.apply1('Multiply', { a: alpha, b: x });
    return ctx.apply1('Select', { condition: neg, t: scaled, e: x });
  }),

  // FusedBatchNorm (tf.batchNorm) indexes its statistics modulo their length over the flattened input,
  // so with per-sample statistics and a per-sample size that is a multiple of their length, the batched
  // input gives the same pairing. Batched statistics run per sample.
  defrule('FusedBatchNorm', (ctx, inputs, attrs) => {
    const { x, ...stats } = inputs as Record<string, BVal | undefined>;
    const size = tf.util.sizeFromShape(ctx.shape(x!));
    const odd = Object.values(stats).some((v) => v && (v.batched || size % tf.util.sizeFromShape(v.info.shape) !== 0));
    if (odd) return ctx.perSample('FusedBatchNorm', inputs, attrs, 'batched or non-broadcast statistics');
    return ctx.batched(ctx.call1('FusedBatchNorm', mapInputs(inputs, (v) => v.info), attrs));
  }),
];
