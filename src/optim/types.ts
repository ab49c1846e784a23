/**
 * Optimizer specs are plain, frozen data rather than objects with methods because the same spec has
 * to reach every worker (each updates its own slice of the parameters) and be written into
 * checkpoints. The arithmetic lives in free functions (`applyUpdate`) that read the spec.
 */

/**
 * A learning rate: a fixed number, or a schedule called with the 1-based number of the update about
 * to be applied (the first update calls `schedule(1)`, the same `step` Adam's bias correction uses).
 * Keras `LearningRateSchedule`s count from 0, so port one as `(step) => kerasSchedule(step - 1)`.
 *
 * A schedule is a function, so a spec holding one cannot be structured-cloned: resolve it on the
 * coordinating thread with `resolveLearningRate` and send workers the number.
 */
export type LearningRate = number | ((step: number) => number);

/** Plain stochastic gradient descent: `p -= lr * g` (as `tf.train.sgd`). */
export interface SgdSpec {
  readonly kind: 'sgd';
  readonly learningRate: LearningRate;
}

/** Heavy-ball or Nesterov momentum (as `tf.train.momentum`). */
export interface MomentumSpec {
  readonly kind: 'momentum';
  readonly learningRate: LearningRate;
  readonly momentum: number;
  readonly useNesterov: boolean;
}

/** Adam (as `tf.train.adam`). */
export interface AdamSpec {
  readonly kind: 'adam';
  readonly learningRate: LearningRate;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** Adam with decoupled weight decay, in `torch.optim.AdamW`'s order (decay first, then Adam). */
export interface AdamWSpec {
  readonly kind: 'adamw';
  readonly learningRate: LearningRate;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

/** RMSProp, plain or centered, with optional momentum (as `tf.train.rmsprop`, see rmsprop.ts). */
export interface RmspropSpec {
  readonly kind: 'rmsprop';
  readonly learningRate: LearningRate;
  readonly decay: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;
}

/** Any validated optimizer spec; `kind` discriminates. Build one with `sgd`, `momentum`, `adam`, `adamw` or `rmsprop`. */
export type OptimizerSpec = SgdSpec | MomentumSpec | AdamSpec | AdamWSpec | RmspropSpec;

/** The optimizer kinds gradpool implements. */
export type OptimizerKind = OptimizerSpec['kind'];

/** Per-update scalars that `applyUpdate` needs; the caller resolves them once per update. */
export interface UpdateScalars {
  /** The learning rate for this update, already resolved from a schedule (`resolveLearningRate`). */
  readonly lr: number;
  /** 1-based number of this update (the first update is step 1); drives Adam's bias correction. */
  readonly step: number;
}

/** Options of {@link sgd}. */
export interface SgdOptions {
  learningRate: LearningRate;
}

/** Options of {@link momentum}; names and defaults follow `tf.train.momentum`. */
export interface MomentumOptions {
  learningRate: LearningRate;
  momentum: number;
  /** Default false. */
  useNesterov?: boolean;
}

/** Options of {@link adam}; names and defaults follow `tf.train.adam`. */
export interface AdamOptions {
  /** Default 0.001. */
  learningRate?: LearningRate;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (the float32 backend epsilon `tf.train.adam` falls back to). */
  epsilon?: number;
}

/** Options of {@link adamw}: Adam's, plus the decoupled weight decay. */
export interface AdamWOptions extends AdamOptions {
  /** Default 0.01 (as `torch.optim.AdamW`). */
  weightDecay?: number;
}

/** Options of {@link rmsprop}; names and defaults follow `tf.train.rmsprop`. */
export interface RmspropOptions {
  learningRate: LearningRate;
  /** Default 0.9. */
  decay?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 1e-7 (the float32 backend epsilon `tf.train.rmsprop` falls back to). */
  epsilon?: number;
  /** Default false. */
  centered?: boolean;
}
