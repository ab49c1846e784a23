/**
 * The loss of a tfjs-layers model, as tfjs-layers computes it in `fit`: one of its own loss functions
 * by name (what `model.compile({ loss })` accepts) or the user's `(yTrue, yPred) => tensor`, averaged
 * to a scalar. A loss crosses to the workers as a {@link LossSpec}: a name, or a function's source text
 * (functions cannot be structured-cloned), rebuilt there with only `tf` in scope.
 */
import * as tf from '@tensorflow/tfjs';
import { errors, GradPoolError, raw } from '../../errors.js';

/** The loss names tfjs-layers 4.22's `compile` accepts (its `lossesMap`; test/model/layers pins the list). */
export const LOSS_NAMES = [
  'meanSquaredError',
  'meanAbsoluteError',
  'meanAbsolutePercentageError',
  'meanSquaredLogarithmicError',
  'squaredHinge',
  'hinge',
  'categoricalHinge',
  'logcosh',
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'binaryCrossentropy',
  'kullbackLeiblerDivergence',
  'poisson',
  'cosineProximity',
] as const;

/** A loss function in tfjs compile's argument order: targets first, then predictions. */
export type LayersLossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/** The `loss` option of a tfjs-layers pool: a tfjs loss name, or a function `(yTrue, yPred) => tensor`. */
export type LayersLoss = (typeof LOSS_NAMES)[number] | LayersLossFn;

/** A loss as it travels to the workers. */
export type LossSpec = { name: string } | { source: string };

const EXPECTED = `a tfjs loss name (one of ${LOSS_NAMES.join(', ')}) or a function (yTrue, yPred) => tensor`;

/** Checks a name or function and turns it into a {@link LossSpec}; `field` names it in errors. */
function specOf(field: string, v: unknown): LossSpec {
  if (typeof v === 'function') {
    const source = v.toString();
    rebuild(field, source);
    return { source };
  }
  if (typeof v === 'string' && (LOSS_NAMES as readonly string[]).includes(v)) return { name: v };
  throw errors.invalidOption(field, EXPECTED, v);
}

/**
 * The pool's loss: the `loss` option if given, else what the model was compiled with (`model.loss`:
 * one loss, possibly as a one-element array or one-key object). Neither: an error naming `loss`.
 */
export function resolveLoss(option: unknown, compiled: unknown): LossSpec {
  if (option !== undefined) return specOf('loss', option);
  let c = compiled;
  if (Array.isArray(c) && c.length === 1) c = c[0];
  else if (c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 1) c = Object.values(c)[0];
  if (c === undefined || c === null || (Array.isArray(c) && c.length === 0))
    throw errors.invalidOption('loss', `${EXPECTED}, since the model was not compiled with a loss`, undefined);
  return specOf('loss', c);
}

/** A function from its source text, with `tf` in scope (all it may use besides its arguments). */
function rebuild(field: string, source: string): LayersLossFn {
  let fn: unknown;
  try {
    fn = new Function('tf', `"use strict"; return (${source});`)(tf);
  } catch (e) {
    throw new GradPoolError('ERR_INVALID_OPTION', `${field}: expected a function expression (arrow or function), which workers rebuild from its source text, got source that does not parse: ${(e as Error).message}`);
  }
  if (typeof fn !== 'function') throw errors.invalidOption(field, 'a function expression', raw('source text that is not a function'));
  return fn as LayersLossFn;
}

/** tfjs-layers' compiled loss functions; a Sequential keeps them on its inner functional model. */
function compiledLossFunctions(model: tf.LayersModel): LayersLossFn[] | undefined {
  const m = model as unknown as { lossFunctions?: LayersLossFn[]; model?: { lossFunctions?: LayersLossFn[] } };
  return m.lossFunctions ?? m.model?.lossFunctions;
}

/**
 * The per-sample loss `(pred, y) => scalar` for a model of gradpool's own (never the user's object):
 * a name is resolved by compiling `model` with it, so the function is exactly the one tfjs-layers'
 * `fit` would use. The sample goes in as a batch of one, like `fit`'s, and the result is averaged
 * to a scalar, as `fit` averages it.
 */
export function sampleLoss(model: tf.LayersModel, spec: LossSpec): (pred: tf.Tensor, y: tf.Tensor) => tf.Scalar {
  let fn: LayersLossFn;
  if ('name' in spec) {
    model.compile({ optimizer: 'sgd', loss: spec.name });
    const fns = compiledLossFunctions(model);
    if (!fns || typeof fns[0] !== 'function') throw new Error(`loss: cannot find tfjs-layers' compiled loss function for '${spec.name}' (tfjs-layers internals changed?)`);
    fn = fns[0];
  } else fn = rebuild('loss', spec.source);
  return (pred, y) => tf.mean(fn(y.expandDims(0), pred.expandDims(0)));
}

/** The per-sample target shape for a model output of `outputShape` under `spec`: sparse labels drop the class axis to 1. */
export function targetShapeFor(spec: LossSpec, outputShape: readonly number[]): number[] {
  return 'name' in spec && spec.name === 'sparseCategoricalCrossentropy' ? [...outputShape.slice(0, -1), 1] : [...outputShape];
}
