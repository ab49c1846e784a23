/**
 * Rule configs and the helpers that make them, in the spirit of JAX's
 * jax/_src/interpreters/batching.py: `defvectorized`, `defbroadcasting` and `defreducer` make a whole
 * kernel family a one-liner, `defrule` takes a hand-written rule. They only RETURN configs; each rule
 * file exports an array of them, and rules/index.ts lists every array and builds the table.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Ctx, Rule } from '../context.js';
import { broadcastShapes, inputList, mapInputs, mapOuts, shapeOf, shiftAxes, type BInputs, type BVal } from '../values.js';

/** One entry of the rule table (cf. tfjs's KernelConfig / GradConfig). */
export interface RuleConfig {
  readonly kernel: string;
  readonly rule: Rule;
  /**
   * The rule never calls the inner kernel of the same name and also handles all-unbatched inputs, so
   * it is registered even on inner backends that lack the kernel (Conv2DBackpropFilter on wasm).
   */
  readonly standalone?: boolean;
}

/** A hand-written rule. */
export const defrule = (kernel: string, rule: Rule, opts: { standalone?: boolean } = {}): RuleConfig => ({ kernel, rule, ...opts });

/**
 * The highest rank a rule hands the inner backend for kernels tfjs-wasm gets wrong above it: on rank ≥ 7
 * tensors its XNNPACK binary elementwise kernels and Pad return garbage, printing only an XNN status
 * line, and the batch axis takes a rank-6 per-sample tensor there. Such rules reshape to rank ≤ 6
 * (elementwise kernels don't care about shape) or refuse with a BatchingRuleError.
 */
export const MAX_INNER_RANK = 6;

/** Runs the inner kernel on `inputs` (already batched or broadcast as needed), same attrs, results batched. */
function passThrough(ctx: Ctx, kernel: string, inputs: BInputs, f: (v: BVal) => tf.TensorInfo, attrs: tf.NamedAttrMap) {
  return mapOuts(ctx.call(kernel, mapInputs(inputs, f), attrs), (info) => ctx.batched(info));
}

/**
 * Kernels that act independently on every leading index: elementwise unary ops, and ops that only look
 * at the last axis (OneHot, TopK). The batch axis is just one more leading axis, so the inner kernel
 * runs unchanged. With several inputs (EluGrad, Select, AddN: same-shape elementwise) every input is
 * first broadcast to the common batched shape.
 */
const vectorized =
  (k: string): Rule =>
  (ctx, inputs, attrs) => {
    const list = inputList(inputs);
    if (list.length === 1) return passThrough(ctx, k, inputs, (v) => v.info, attrs);
    const shape = broadcastShapes(list.map(shapeOf));
    return passThrough(ctx, k, inputs, (v) => ctx.broadcastTo(v, shape), attrs);
  };

/**
 * Numpy-broadcasting kernels (Add, Mul, ...). Unbatched operands are left alone (right-aligned
 * broadcasting already repeats them across the batch); batched operands of lower per-sample rank get
 * leading 1s after the batch axis so that their batch axis lines up with the other batch axes.
 */
const broadcasting =
  (k: string): Rule =>
  (ctx, inputs, attrs) => {
    const list = inputList(inputs);
    const rank = Math.max(...list.map((v) => shapeOf(v).length));
    if (rank < MAX_INNER_RANK) return passThrough(ctx, k, inputs, (v) => ctx.expandTo(v, rank).info, attrs);
    // The batched rank would be 7 or more: broadcast every operand to the full shape and run flat.
    const shape = broadcastShapes(list.map(shapeOf));
    const flat = [ctx.n * shape.reduce((a, b) => a * b, 1)];
    const outs = ctx.call(k, mapInputs(inputs, (v) => ctx.view(ctx.broadcastTo(v, shape), flat)), attrs);
    return mapOuts(outs, (info) => ctx.batched(ctx.view(info, [ctx.n, ...shape])));
  };

/**
 * Kernels of one input with axis attributes (reductions, Softmax, Cumsum, Reverse, ArgMax): the axes
 * named by `attr` move up by one. `attr` differs per kernel (`axis`, `reductionIndices`, `dim`, `dims`).
 */
const reducer =
  (k: string, attr: string): Rule =>
  (ctx, inputs, attrs) => {
    const rank = shapeOf(inputList(inputs)[0]!).length;
    return passThrough(ctx, k, inputs, (v) => ctx.batch(v), { ...attrs, [attr]: shiftAxes(attrs[attr], rank) });
  };

export const defvectorized = (...kernels: string[]): RuleConfig[] => kernels.map((k) => defrule(k, vectorized(k)));
export const defbroadcasting = (...kernels: string[]): RuleConfig[] => kernels.map((k) => defrule(k, broadcasting(k)));
export const defreducer = (kernel: string, attr: string): RuleConfig => defrule(kernel, reducer(kernel, attr));
