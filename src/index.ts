/**
 * gradpool: per-sample gradients and data-parallel training for single-sample TensorFlow.js models,
 * on every core. See README.md for a tour and docs/architecture.md for how it works.
 */
export { defineModel, initParams, isModelDef } from './model/define.js';
export type { ModelDef, ModelSpec, ParamSpec, ParamLayout, ParamTensors } from './model/define.js';
export type { InitSpec, InitFn } from './model/init.js';
export { GradPool } from './pool.js';
export type { PerSampleGrads, MeanGradient, PoolStats, Evaluation, OutputOptions } from './pool.js';
export type { CallTimings } from './core.js';
export type { StepOptions, StepResult, StepDp } from './train/step.js';
export type { OptimizerState } from './train/opt-state.js';
export type { FitData, FitOptions, FitDp, History, StepLogs, EpochLogs, FitState } from './train/fit.js';
export type { GradPoolOptions } from './options.js';
export type { NDArray, BatchInput, TensorLike } from './input.js';
export type { ParamValue } from './params.js';
export type { WorkerStats } from './dispatch.js';
export { GradPoolError } from './errors.js';
export { Rng } from './rng.js';
export { tensordot } from './ops/tensordot.js';
export * from './optim/index.js';
export * from './privacy/rdp.js';
