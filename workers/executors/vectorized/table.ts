/**
 * The batching-rule table, in the spirit of JAX's jax/_src/interpreters/batching.py: `RULES` maps a
 * tfjs kernel name to its rule, and the `def*` helpers make whole kernel families one-liners. Rules for
 * kernels that need real work live in rules/*.ts and register themselves with {@link defrule}.
 *
 * Convention: a batched value always carries the batch on axis 0 (JAX's bdim is always 0 here), so a
 * rule's job is to shift the kernel's axes by one and keep the batch axis from mixing with per-sample
 * axes.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Ctx, Rule, RuleTable } from './context.js';
import { broadcastShapes, inputList, mapInputs, mapOuts, normAxis, shapeOf, shiftAxes, type BInputs, type BVal } from './values.js';

export { broadcastShapes, normAxis, shiftAxes };

/** kernel name -> batching rule. Kernels not in here run through the per-sample fallback. */
export const RULES = new Map<string, Rule>();

/**
 * Kernels whose rule never calls the inner kernel of the same name and also handles all-unbatched
 * inputs: registered even on inner backends that lack the kernel (Conv2DBackpropFilter on wasm).
 */
export const STANDALONE = new Set<string>();

/** The table as kernel scopes consult it (see context.ts). */
export const TABLE: RuleTable = { rules: RULES, standalone: STANDALONE };

/** Registers a hand-written rule. */
export function defrule(kernel: string, rule: Rule, opts: { standalone?: boolean } = {}): void {
  RULES.set(kernel, rule);
  if (opts.standalone) STANDALONE.add(kernel);
}

/** Runs the inner kernel on `inputs` (already batched or broadcast as needed), same attrs, results batched. */
function passThrough(ctx: Ctx, kernel: string, inputs: BInputs, f: (v: BVal) => tf.TensorInfo, attrs: tf.NamedAttrMap) {
  return mapOuts(ctx.call(kernel, mapInputs(inputs, f), attrs), (info) => ctx.b(info));
}

/**
 * Kernels that act independently on every leading index: elementwise unary ops, and ops that only look
 * at the last axis (OneHot, TopK). The batch axis is just one more leading axis, so the inner kernel
 * runs unchanged. With several inputs (EluGrad, Select, AddN: same-shape elementwise) every input is
 * first broadcast to the common batched shape.
 */
export function defvectorized(...kernels: string[]): void {
  for (const k of kernels)
    RULES.set(k, (ctx, inputs, attrs) => {
      const list = inputList(inputs);
      if (list.length === 1) return passThrough(ctx, k, inputs, (v) => v.info, attrs);
      const shape = broadcastShapes(list.map(shapeOf));
      return passThrough(ctx, k, inputs, (v) => ctx.broadcastTo(v, shape), attrs);
    });
}

/**
 * Numpy-broadcasting kernels (Add, Mul, ...). Unbatched operands are left alone (right-aligned
 * broadcasting already repeats them across the batch); batched operands of lower per-sample rank get
 * leading 1s after the batch axis so that their batch axis lines up with the other batch axes.
 */
export function defbroadcasting(...kernels: string[]): void {
  for (const k of kernels)
    RULES.set(k, (ctx, inputs, attrs) => {
      const rank = Math.max(...inputList(inputs).map((v) => shapeOf(v).length));
      return passThrough(ctx, k, inputs, (v) => ctx.expandTo(v, rank).info, attrs);
    });
}

/**
 * Kernels of one input with axis attributes (reductions, Softmax, Cumsum, Reverse, ArgMax): the axes
 * named by `attr` move up by one. `attr` differs per kernel (`axis`, `reductionIndices`, `dim`, `dims`).
 */
export function defreducer(kernel: string, attr: string): void {
  RULES.set(kernel, (ctx, inputs, attrs) => {
    const rank = shapeOf(inputList(inputs)[0]!).length;
    return passThrough(ctx, kernel, inputs, (v) => ctx.batch(v), { ...attrs, [attr]: shiftAxes(attrs[attr], rank) });
  });
}

/**
 * Test hook: runs `fn` with the rules for `kernels` removed, so the same computation goes through the
 * per-sample fallback (to test the fallback, or to cross-check a rule against it).
 */
export function withoutRules<T>(kernels: string[], fn: () => T): T {
  const saved = kernels.map((k) => [k, RULES.get(k)] as const);
  for (const k of kernels) RULES.delete(k);
  try {
    return fn();
  } finally {
    for (const [k, r] of saved) if (r) RULES.set(k, r);
  }
}
