/**
 * Optimizer factories, their validation, and the two questions the trainer asks of a spec before
 * each update: which state vectors to allocate (`stateSlots`) and which learning rate to use
 * (`resolveLearningRate`). Everything is validated here, once, so the hot elementwise kernels can
 * trust the spec.
 */
import { errors, fmtValue, GradPoolError } from '../errors.js';
import { checkKnownFields } from '../validate.js';
import type {
  AdamOptions,
  AdamSpec,
  AdamWOptions,
  AdamWSpec,
  LearningRate,
  MomentumOptions,
  MomentumSpec,
  OptimizerKind,
  OptimizerSpec,
  RmspropOptions,
  RmspropSpec,
  SgdOptions,
  SgdSpec,
} from './types.js';

/** tfjs's float32 backend epsilon, which tf.train.adam/rmsprop use when epsilon is not given. */
const TFJS_EPSILON = 1e-7;

const KINDS: readonly OptimizerKind[] = ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'];

const OPTION_NAMES: Readonly<Record<OptimizerKind, readonly string[]>> = {
  sgd: ['learningRate'],
  momentum: ['learningRate', 'momentum', 'useNesterov'],
  adam: ['learningRate', 'beta1', 'beta2', 'epsilon'],
  adamw: ['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay'],
  rmsprop: ['learningRate', 'decay', 'momentum', 'epsilon', 'centered'],
};

/**
 * Checks that `options` is a plain object holding only `kind`'s option names. Unknown names are
 * rejected rather than ignored because a typo (`lr`, `beta_1`) would otherwise silently train
 * with the default.
 */
function optionsOf(kind: OptimizerKind, options: unknown, optional: boolean): Record<string, unknown> {
  if (options === undefined && optional) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw errors.type('optimizer', 'an options object such as { learningRate: 0.01 }', options);
  }
  checkKnownFields('optimizer', options, OPTION_NAMES[kind]);
  return options as Record<string, unknown>;
}

/** Only a missing option takes the default: null is reported, since it is usually a mistake. */
function or(v: unknown, fallback: unknown): unknown {
  return v === undefined ? fallback : v;
}

function learningRateOf(v: unknown): LearningRate {
  if (typeof v === 'function') return v as (step: number) => number;
  return nonNegative('learningRate', v, 'a finite number >= 0 or a schedule (step) => number');
}

function nonNegative(name: string, v: unknown, expected = 'a finite number >= 0'): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw errors.invalidOption(`optimizer.${name}`, expected, v);
  return v;
}

function positive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw errors.invalidOption(`optimizer.${name}`, 'a finite number > 0', v);
  return v;
}

/** Decay rates: 1 would freeze the moving average at its zero start, so the interval is half-open. */
function unitRate(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw errors.invalidOption(`optimizer.${name}`, 'a number in [0, 1)', v);
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw errors.invalidOption(`optimizer.${name}`, 'a boolean', v);
  return v;
}

/**
 * Plain SGD, `p -= lr * g`; matches `tf.train.sgd(learningRate)`.
 *
 * @example
 * import { sgd } from 'gradpool';
 * const spec = sgd({ learningRate: 0.1 });
 * console.log(spec); // { kind: 'sgd', learningRate: 0.1 }
 */
export function sgd(options: SgdOptions): SgdSpec {
  const o = optionsOf('sgd', options, false);
  return Object.freeze({ kind: 'sgd', learningRate: learningRateOf(o.learningRate) });
}

/**
 * Momentum SGD; matches `tf.train.momentum(learningRate, momentum, useNesterov)`:
 * `acc = momentum * acc + g`, then `p -= lr * acc`, or with Nesterov `p -= lr * (g + momentum * acc)`.
 *
 * @example
 * import { momentum } from 'gradpool';
 * const spec = momentum({ learningRate: 0.01, momentum: 0.9, useNesterov: true });
 * console.log(spec.useNesterov); // true
 */
export function momentum(options: MomentumOptions): MomentumSpec {
  const o = optionsOf('momentum', options, false);
  return Object.freeze({
    kind: 'momentum',
    learningRate: learningRateOf(o.learningRate),
    momentum: unitRate('momentum', o.momentum),
    useNesterov: bool('useNesterov', or(o.useNesterov, false)),
  });
}

/**
 * Adam; matches `tf.train.adam(learningRate, beta1, beta2, epsilon)` with the same defaults.
 *
 * @example
 * import { adam } from 'gradpool';
 * const spec = adam({ learningRate: 3e-4 });
 * console.log(spec); // { kind: 'adam', learningRate: 0.0003, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }
 */
export function adam(options?: AdamOptions): AdamSpec {
  const o = optionsOf('adam', options, true);
  return Object.freeze({ kind: 'adam', ...adamFields(o) });
}

function adamFields(o: Record<string, unknown>) {
  return {
    learningRate: learningRateOf(or(o.learningRate, 0.001)),
    beta1: unitRate('beta1', or(o.beta1, 0.9)),
    beta2: unitRate('beta2', or(o.beta2, 0.999)),
    epsilon: positive('epsilon', or(o.epsilon, TFJS_EPSILON)),
  };
}

/**
 * AdamW (Loshchilov & Hutter, decoupled weight decay) in `torch.optim.AdamW`'s order: each update
 * first shrinks the parameter, `p *= 1 - lr * weightDecay`, then applies the Adam step computed from
 * the gradient alone. Note the decay is scaled by the (scheduled) learning rate, as in torch, not by
 * a separate schedule multiplier as in the paper. `weightDecay: 0` is exactly {@link adam}.
 *
 * @example
 * import { adamw } from 'gradpool';
 * const spec = adamw({ learningRate: 1e-3, weightDecay: 0.05 });
 * console.log(spec.weightDecay); // 0.05
 */
export function adamw(options?: AdamWOptions): AdamWSpec {
  const o = optionsOf('adamw', options, true);
  return Object.freeze({ kind: 'adamw', ...adamFields(o), weightDecay: nonNegative('weightDecay', or(o.weightDecay, 0.01)) });
}

/**
 * RMSProp; matches `tf.train.rmsprop(learningRate, decay, momentum, epsilon, centered)` with the same
 * defaults. The centered variant uses TensorFlow's `sqrt(ms - mg^2 + epsilon)`, not tfjs's
 * `sqrt(ms - (mg^2 + epsilon))`, which turns every parameter whose early gradients are small
 * (|g| < ~1e-3 on the first step, including g = 0) into NaN; see rmsprop.ts.
 *
 * @example
 * import { rmsprop } from 'gradpool';
 * const spec = rmsprop({ learningRate: 0.01, centered: true });
 * console.log(spec); // { kind: 'rmsprop', learningRate: 0.01, decay: 0.9, momentum: 0, epsilon: 1e-7, centered: true }
 */
export function rmsprop(options: RmspropOptions): RmspropSpec {
  const o = optionsOf('rmsprop', options, false);
  return Object.freeze({
    kind: 'rmsprop',
    learningRate: learningRateOf(o.learningRate),
    decay: unitRate('decay', or(o.decay, 0.9)),
    momentum: unitRate('momentum', or(o.momentum, 0)),
    epsilon: positive('epsilon', or(o.epsilon, TFJS_EPSILON)),
    centered: bool('centered', or(o.centered, false)),
  });
}

/**
 * Re-validates a spec that did not come straight from a factory (a user-written object literal, a
 * structured clone received by a worker, a checkpoint) and returns it normalized and frozen, with
 * defaults filled in. Throws the same messages as the factories.
 *
 * @example
 * import { validateOptimizerSpec } from './spec.js'; // internal
 * const spec = validateOptimizerSpec({ kind: 'adam', learningRate: 0.01 });
 * console.log(spec.beta2); // 0.999
 */
export function validateOptimizerSpec(value: unknown): OptimizerSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw errors.type('optimizer', "an optimizer spec such as adam({ learningRate: 0.001 })", value);
  }
  const { kind, ...options } = value as Record<string, unknown>;
  switch (kind) {
    case 'sgd':
      return sgd(options as unknown as SgdOptions);
    case 'momentum':
      return momentum(options as unknown as MomentumOptions);
    case 'adam':
      return adam(options as AdamOptions);
    case 'adamw':
      return adamw(options as AdamWOptions);
    case 'rmsprop':
      return rmsprop(options as unknown as RmspropOptions);
    default:
      throw badKind(kind);
  }
}

/** @internal The error for a spec whose `kind` is not one gradpool implements. */
export function badKind(kind: unknown): GradPoolError {
  return errors.invalidOption('optimizer.kind', `one of ${KINDS.map((k) => `'${k}'`).join(', ')}`, kind);
}

/**
 * Names of the per-parameter float32 state vectors `spec` needs, in the order `applyUpdate` expects
 * them in its `slots` argument. The caller allocates one zero-filled Float32Array of the parameter
 * count per name. RMSProp always has `mom`, like tf.train.rmsprop, even with momentum 0.
 *
 * @example
 * import { adam, rmsprop, stateSlots } from './spec.js'; // internal
 * console.log(stateSlots(adam()));                                          // ['m', 'v']
 * console.log(stateSlots(rmsprop({ learningRate: 0.01, centered: true }))); // ['ms', 'mom', 'mg']
 */
export function stateSlots(spec: OptimizerSpec): string[] {
  switch (spec.kind) {
    case 'sgd':
      return [];
    case 'momentum':
      return ['mom'];
    case 'adam':
    case 'adamw':
      return ['m', 'v'];
    case 'rmsprop':
      return spec.centered ? ['ms', 'mom', 'mg'] : ['ms', 'mom'];
    default:
      throw badKind((spec as { kind?: unknown }).kind);
  }
}

/**
 * The learning rate for update number `step` (1-based: the first update is step 1): the fixed
 * number, or the schedule's value at `step`, which must be a finite number >= 0.
 *
 * @example
 * import { sgd, resolveLearningRate } from './spec.js'; // internal
 * const spec = sgd({ learningRate: (step) => 0.1 * 0.5 ** Math.floor((step - 1) / 100) });
 * console.log(resolveLearningRate(spec, 1), resolveLearningRate(spec, 101)); // 0.1 0.05
 */
export function resolveLearningRate(spec: OptimizerSpec, step: number): number {
  if (!Number.isSafeInteger(step) || step < 1) throw errors.invalidOption('step', 'an integer >= 1', step);
  const lr: unknown = spec.learningRate;
  if (typeof lr !== 'function') return nonNegative('learningRate', lr, 'a finite number >= 0 or a schedule (step) => number');
  let value: unknown;
  try {
    value = (lr as (step: number) => unknown)(step);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new GradPoolError('ERR_INVALID_OPTION', `optimizer.learningRate: schedule threw at step ${step}: ${why}`, { cause });
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new GradPoolError(
      'ERR_INVALID_OPTION',
      `optimizer.learningRate: schedule returned ${fmtValue(value)} at step ${step}, expected a finite number >= 0`,
    );
  }
  return value;
}
