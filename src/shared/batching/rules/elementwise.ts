/**
 * Elementwise and reduction families: one line per kernel, via the family helpers.
 */
import * as tf from '@tensorflow/tfjs';
import type { Ctx } from '../context.js';
import { mapInputs, type BVal } from '../values.js';
import { defbroadcasting, defreducer, defrule, defvectorized, MAX_INNER_RANK, type RuleConfig } from './families.js';

/**
 * FusedBatchNorm with per-sample statistics (tf.layers.layerNormalization's mean and variance are the
 * sample's own): (x - mean) * rsqrt(variance + eps) * scale + offset, spelled out with the broadcasting
 * rules. The kernel indexes each statistic modulo its length L over the flattened sample, which is
 * broadcasting it against the sample viewed as [size / L, L].
 */
function batchNormSpelledOut(ctx: Ctx, x: BVal, stats: Record<string, BVal | undefined>, eps: number): BVal {
  const shape = ctx.shape(x);
  const size = tf.util.sizeFromShape(shape);
  const reshape = (v: BVal, to: number[]) => ctx.apply1('Reshape', { x: v }, { shape: to });
  const step = (kernel: string, t: BVal, s: BVal) => {
    const L = tf.util.sizeFromShape(ctx.shape(s));
    return reshape(ctx.apply1(kernel, { a: reshape(t, [size / L, L]), b: reshape(s, [L]) }), shape);
  };
  const epsilon: BVal = { info: ctx.constant(new Float32Array([eps]), [], 'float32'), batched: false };
  const inv = ctx.apply1('Rsqrt', { x: ctx.apply1('Add', { a: stats.variance!, b: epsilon }) });
  let t = step('Multiply', step('Sub', x, stats.mean!), inv);
  if (stats.scale) t = step('Multiply', t, stats.scale);
  if (stats.offset) t = step('Add', t, stats.offset);
  return t;
}

const castBatched = defvectorized('Cast')[0]!.rule;

export const elementwiseRules: RuleConfig[] = [
  // Unary elementwise, plus ops that only look at the last axis (OneHot appends one, TopK reduces it).
  ...defvectorized(
    'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'ClipByValue', 'Cos', 'Cosh',
    'Elu', 'Erf', 'Exp', 'Expm1', 'Floor', 'IsFinite', 'IsInf', 'IsNan', 'LeakyRelu', 'Log',
    'Log1p', 'LogicalNot', 'Neg', 'OnesLike', 'Reciprocal', 'Relu', 'Relu6', 'Round', 'Rsqrt', 'Selu',
    'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softplus', 'Sqrt', 'Square', 'Step', 'Tan', 'Tanh', 'ZerosLike',
    'OneHot', 'TopK',
  ),

  // Identity shares its input's inner data (tensors are immutable; tfjs-backend-cpu's Identity shares
  // too): the engine clones every tensor it saves for the backward pass through this kernel, and a
  // copy per clone cost a conv net ~3 ms per 128-sample chunk on wasm.
  defrule('Identity', (_ctx, inputs) => (inputs as { x: BVal }).x),
  // A Cast to the same dtype likewise (relu's gradient casts its float32 step, ~1 ms per chunk on wasm).
  defrule('Cast', (ctx, inputs, attrs, kernel) => {
    const { x } = inputs as { x: BVal };
    return x.info.dtype === attrs.dtype ? x : castBatched(ctx, inputs, attrs, kernel);
  }),

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
    if (Object.values(stats).some((v) => v && size % tf.util.sizeFromShape(ctx.shape(v)) !== 0))
      return ctx.perSample('FusedBatchNorm', inputs, attrs, 'statistics whose length does not divide the sample size');
    if (Object.values(stats).some((v) => v?.batched)) return batchNormSpelledOut(ctx, x!, stats, attrs.varianceEpsilon as number);
    return ctx.batched(ctx.call1('FusedBatchNorm', mapInputs(inputs, (v) => v.info), attrs));
  }),
];
