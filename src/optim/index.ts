/**
 * Optimizers for gradpool's data-parallel step: validated, frozen specs (`sgd`, `momentum`, `adam`,
 * `adamw`, `rmsprop`), the state they need (`stateSlots`), and an elementwise, slice-parallel update
 * (`applyUpdate`) that reproduces tf.train's arithmetic bit-for-bit on tfjs's CPU backend.
 */
export { adam, adamw, momentum, resolveLearningRate, rmsprop, sgd, stateSlots, validateOptimizerSpec } from './spec.js';
export { applyUpdate } from './apply.js';
export type * from './types.js';
