import type * as tf from '@tensorflow/tfjs';
import { errors, fmtShape, raw } from '../errors.js';
import { Rng } from '../rng.js';
import { checkKnownFields } from '../validate.js';
import { INIT_NAMES, runInit, type InitSpec } from './init.js';

/** One named parameter of a model. */
export interface ParamSpec {
  /** The parameter's shape, e.g. `[3, 2, 1]`; `[]` is a scalar. */
  shape: readonly number[];
  /**
   * Initialiser. Defaults follow a tfjs dense layer: `'glorotUniform'` for rank ≥ 2, `'zeros'` otherwise.
   * Initialisation is seeded by the pool's `seed`, so the same seed gives the same parameters.
   */
  init?: InitSpec;
}

/** The parameters as the model sees them: one tensor per name, unbatched. */
export type ParamTensors<P> = { [K in keyof P]: tf.Tensor };

/** What a user writes: a model for ONE sample. */
export interface ModelSpec<P extends Record<string, ParamSpec> = Record<string, ParamSpec>> {
  params: P;
  /** The shape of one input sample, without the batch dimension. */
  inputShape: readonly number[];
  /** The shape of one target sample, without the batch dimension. */
  targetShape: readonly number[];
  // Method syntax (not arrow-typed properties) keeps a ModelDef<{W, b}> assignable to ModelDef.
  /** Single-sample forward pass: `x` has shape `inputShape`. Use `@tensorflow/tfjs` ops only. */
  forward(params: ParamTensors<P>, x: tf.Tensor): tf.Tensor;
  /** Single-sample loss: must return a scalar. */
  loss(pred: tf.Tensor, y: tf.Tensor): tf.Tensor;
}

/** The flat layout of all parameters in one Float32Array, in declaration order. */
export interface ParamLayout {
  names: string[];
  shapes: number[][];
  sizes: number[];
  offsets: number[];
  /** Total number of scalars over all parameters. */
  total: number;
}

/**
 * The parameter names of `M`, for typing results by name: `'W' | 'b'` for the type of a
 * `defineModel({ params: { W, b }, … })`; a union of names passes through; anything else is `string`.
 */
export type ParamNames<M> = M extends ModelDef<infer P> ? Extract<keyof P, string> : M extends string ? M : string;

/** A validated model definition: the spec plus its derived layout. */
export interface ModelDef<P extends Record<string, ParamSpec> = Record<string, ParamSpec>> extends ModelSpec<P> {
  readonly layout: ParamLayout;
  readonly inputSize: number;
  readonly targetSize: number;
  readonly [MODEL_BRAND]: true;
}

/** A global symbol, so a model built by another copy of gradpool (e.g. a job directory's) is still recognised. */
export const MODEL_BRAND: unique symbol = Symbol.for('gradpool.model') as never;

function isShape(v: unknown, allowZero = false): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && (allowZero ? d >= 0 : d >= 1));
}

/** The fields each initialiser object may have; any other is a typo that would be ignored. */
const INIT_FIELDS: Readonly<Record<string, readonly string[]>> = { constant: ['name', 'value'], randomNormal: ['name', 'mean', 'stddev'], glorotUniform: ['name'] };
const SPEC_FIELDS = ['params', 'inputShape', 'targetShape', 'forward', 'loss'];
/** What defineModel derives: present when a built model is spread into a new definition (`{ ...base, forward }`), and recomputed. */
const DERIVED_FIELDS = ['layout', 'inputSize', 'targetSize'];
const PARAM_FIELDS = ['shape', 'init'];

/** The model definition's own unknown-field check: `model.params.W.initt: unknown field (expected one of: shape, init)`. */
const checkFields = (path: string, o: object, known: readonly string[]) => checkKnownFields(path ? `model.${path}` : 'model', o, known, 'ERR_MODEL_INVALID');

function validInit(v: unknown, path: string): boolean {
  if (v === undefined || typeof v === 'function') return true;
  if (typeof v === 'string') return (INIT_NAMES as readonly string[]).includes(v) && v !== 'constant';
  if (v && typeof v === 'object' && 'name' in v) {
    const o = v as { name: unknown; value?: unknown; mean?: unknown; stddev?: unknown };
    const fields = typeof o.name === 'string' ? INIT_FIELDS[o.name] : undefined;
    if (fields) checkFields(path, o, fields);
    if (o.name === 'constant') return typeof o.value === 'number' && Number.isFinite(o.value);
    if (o.name === 'randomNormal')
      return (o.mean === undefined || Number.isFinite(o.mean)) && (o.stddev === undefined || (Number.isFinite(o.stddev) && (o.stddev as number) >= 0));
    return o.name === 'glorotUniform';
  }
  return false;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Defines a single-sample model. Validates the definition and derives the flat parameter layout.
 * Export the result as the module's default export; every worker imports that module by URL.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { defineModel, tensordot } from 'gradpool';
 * export default defineModel({
 *   params: { W: { shape: [3, 2, 1], init: 'randomNormal' }, b: { shape: [1], init: 'zeros' } },
 *   inputShape: [3, 2],
 *   targetShape: [1],
 *   forward: ({ W, b }, x) => tf.add(tensordot(x, W, [[0, 1], [0, 1]]), b),
 *   loss: (pred, y) => tf.mean(tf.squaredDifference(pred, y)),
 * });
 * ```
 */
export function defineModel<P extends Record<string, ParamSpec>>(spec: ModelSpec<P>): ModelDef<P> {
  if (!spec || typeof spec !== 'object') throw errors.modelInvalid('definition', 'an object', spec);
  checkFields('', spec, MODEL_BRAND in spec ? [...SPEC_FIELDS, ...DERIVED_FIELDS] : SPEC_FIELDS);
  const { params } = spec;
  if (!params || typeof params !== 'object' || Array.isArray(params)) throw errors.modelInvalid('params', 'an object of named parameters', params);
  const names = Object.keys(params);
  if (names.length === 0) throw errors.modelInvalid('params', 'at least one parameter', '{}');
  const layout: ParamLayout = { names, shapes: [], sizes: [], offsets: [], total: 0 };
  for (const name of names) {
    const p = (params as Record<string, ParamSpec>)[name];
    if (!p || typeof p !== 'object') throw errors.modelInvalid(`params.${name}`, 'an object with a shape', p);
    checkFields(`params.${name}`, p, PARAM_FIELDS);
    if (!isShape(p.shape)) throw errors.modelInvalid(`params.${name}.shape`, 'an array of positive integers', p.shape);
    if (!validInit(p.init, `params.${name}.init`))
      throw errors.modelInvalid(`params.${name}.init`, `one of ${INIT_NAMES.filter((n) => n !== 'constant').join(', ')}, {name: 'constant', value}, or a function`, p.init);
    layout.shapes.push([...p.shape]);
    layout.sizes.push(size(p.shape));
    layout.offsets.push(layout.total);
    layout.total += size(p.shape);
  }
  if (!isShape(spec.inputShape)) throw errors.modelInvalid('inputShape', 'an array of positive integers', spec.inputShape);
  if (!isShape(spec.targetShape)) throw errors.modelInvalid('targetShape', 'an array of positive integers', spec.targetShape);
  if (typeof spec.forward !== 'function') throw errors.modelInvalid('forward', 'a function (params, x) => tensor', spec.forward);
  if (typeof spec.loss !== 'function') throw errors.modelInvalid('loss', 'a function (pred, y) => scalar', spec.loss);
  return Object.freeze({
    ...spec,
    inputShape: [...spec.inputShape],
    targetShape: [...spec.targetShape],
    layout,
    inputSize: size(spec.inputShape),
    targetSize: size(spec.targetShape),
    [MODEL_BRAND]: true as const,
  });
}

/** Views of each parameter's slice of a flat layout-order vector, by name (no copy). */
export function splitFlat(layout: ParamLayout, flat: Float32Array): Record<string, Float32Array> {
  return Object.fromEntries(layout.names.map((n, i) => [n, flat.subarray(layout.offsets[i]!, layout.offsets[i]! + layout.sizes[i]!)]));
}

/** The inverse of {@link splitFlat}: named values (each of its parameter's size) into one flat vector. */
export function joinFlat(layout: ParamLayout, named: Record<string, ArrayLike<number>>): Float32Array {
  const flat = new Float32Array(layout.total);
  layout.names.forEach((n, i) => flat.set(named[n]!, layout.offsets[i]));
  return flat;
}

/** True when `v` is a {@link defineModel} result (from any copy of gradpool). */
export function isModelDef(v: unknown): v is ModelDef {
  return !!v && typeof v === 'object' && (v as Record<symbol, unknown>)[MODEL_BRAND] === true;
}

/**
 * Initial parameters for `model`, flat in layout order. One generator seeded with `seed` is drawn
 * from in declaration order, so the result depends on the seed alone.
 */
export function initParams(model: ModelDef, seed: number): Float32Array {
  const out = new Float32Array(model.layout.total);
  const rng = new Rng(seed);
  model.layout.names.forEach((name, i) => {
    const spec = (model.params as Record<string, ParamSpec>)[name]!;
    const shape = model.layout.shapes[i]!;
    const slot = out.subarray(model.layout.offsets[i]!, model.layout.offsets[i]! + model.layout.sizes[i]!);
    const init = spec.init ?? (shape.length >= 2 ? 'glorotUniform' : 'zeros');
    const custom = runInit(init, shape, rng, slot);
    if (custom !== null) {
      const n = custom?.length;
      if (n !== slot.length) throw errors.modelInvalid(`params.${name}.init`, `to return ${slot.length} numbers for shape ${fmtShape(shape)}`, n === undefined ? custom : raw(`${n} numbers`));
      for (let k = 0; k < n; k++) {
        const v = Number(custom[k]);
        if (!Number.isFinite(v)) throw errors.modelInvalid(`params.${name}.init`, 'finite numbers', raw(`${custom[k]} at index ${k}`));
        slot[k] = v;
      }
    }
  });
  return out;
}
