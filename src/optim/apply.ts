/**
 * `applyUpdate`: the one entry point workers call, each on its own slice of the flat parameter
 * vector. Argument checks are O(1) per call; the kernels do the O(hi - lo) work.
 */
import { errors } from '../errors.js';
import { adamKernel } from './adam.js';
import { rmspropKernel } from './rmsprop.js';
import { momentumKernel, sgdKernel } from './sgd.js';
import { badKind, stateSlots } from './spec.js';
import type { OptimizerSpec, UpdateScalars } from './types.js';

/**
 * Applies one optimizer update to `params[lo:hi]` and the matching entries of each state slot, in
 * place. `grads` is the already-reduced (mean) gradient over the whole parameter vector; `slots` are
 * the state vectors named by `stateSlots(spec)`, in that order, zero-filled before the first update.
 *
 * `lr` is this update's learning rate (from `resolveLearningRate(spec, step)`), and `step` is this
 * update's 1-based number. `spec.learningRate` is not read, so workers may receive a copy of the
 * spec whose schedule was dropped to make it cloneable.
 *
 * The result is bit-identical to tf.train's optimizer on tfjs's CPU backend (except centered
 * RMSProp's epsilon, see rmsprop.ts) and bit-identical whatever [lo, hi) partition is used, so
 * workers can update disjoint slices in parallel. The state vectors must not be shared between
 * different parameter vectors.
 *
 * @example
 * import { adam, stateSlots, resolveLearningRate } from './spec.js'; // internal
 * import { applyUpdate } from './apply.js';
 * const spec = adam({ learningRate: 0.1 });
 * const params = new Float32Array([1, -2, 3]);
 * const slots = stateSlots(spec).map(() => new Float32Array(params.length));
 * for (let step = 1; step <= 3; step++) {
 *   const grads = params.map((p) => 2 * p); // gradient of sum(p^2)
 *   applyUpdate(spec, { lr: resolveLearningRate(spec, step), step }, params, grads, slots, 0, params.length);
 * }
 * console.log(params); // each entry moved ~0.3 towards 0
 */
export function applyUpdate(
  spec: OptimizerSpec,
  scalars: UpdateScalars,
  params: Float32Array,
  grads: Float32Array,
  slots: Float32Array[],
  lo: number,
  hi: number,
): void {
  const names = stateSlots(spec); // also rejects an unknown kind
  const { lr, step } = scalars;
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw errors.invalidOption('lr', 'a finite number >= 0', lr);
  if (!Number.isSafeInteger(step) || step < 1) throw errors.invalidOption('step', 'an integer >= 1', step);
  if (!(params instanceof Float32Array)) throw errors.type('params', 'a Float32Array', params);
  const n = params.length;
  if (!(grads instanceof Float32Array)) throw errors.type('grads', 'a Float32Array', grads);
  if (grads.length !== n) throw errors.shape('grads', [n], [grads.length]);
  if (!Array.isArray(slots)) throw errors.type('slots', 'an array of Float32Arrays', slots);
  if (slots.length !== names.length) {
    const expected = names.length === 0 ? '0 (sgd keeps no state)' : `${names.length} (one Float32Array per slot: ${names.join(', ')})`;
    throw errors.invalidOption('slots.length', expected, slots.length);
  }
  slots.forEach((s, k) => {
    const name = `slots[${k}] (${names[k]})`;
    if (!(s instanceof Float32Array)) throw errors.type(name, 'a Float32Array', s);
    if (s.length !== n) throw errors.shape(name, [n], [s.length]);
  });
  if (!Number.isSafeInteger(lo) || lo < 0 || lo > n) throw errors.invalidOption('lo', `an integer in [0, ${n}]`, lo);
  if (!Number.isSafeInteger(hi) || hi < lo || hi > n) throw errors.invalidOption('hi', `an integer in [${lo}, ${n}]`, hi);

  switch (spec.kind) {
    case 'sgd':
      return sgdKernel(lr, params, grads, lo, hi);
    case 'momentum':
      return momentumKernel(spec, lr, params, grads, slots[0]!, lo, hi);
    case 'adam':
    case 'adamw':
      return adamKernel(spec, lr, step, params, grads, slots[0]!, slots[1]!, lo, hi);
    case 'rmsprop':
      return rmspropKernel(spec, lr, params, grads, slots[0]!, slots[1]!, slots[2], lo, hi);
    default:
      throw badKind((spec as { kind?: unknown }).kind);
  }
}
