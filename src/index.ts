/**
 * gradpool: per-sample gradients and data-parallel training for single-sample TensorFlow.js models,
 * on every core. See README.md for a tour and docs/architecture.md for how it works.
 *
 * The front door holds the coherent core and nothing else: the pool, model definition, the ops a
 * model is written with, the optimizers, the privacy accounting a user calls, the error class, and
 * their types.
 */
export { GradPool } from './pool.js';
export type { FnRef } from './pool-vmap.js';
export type { PerSampleGrads, MeanGradient, PoolStats, Evaluation, OutputOptions } from './pool.js';
export type { GradPoolOptions, EnsembleOptions } from './options.js';
// Model ensembles, GradPool.create({ model, ensemble: K }): README "Model ensembles".
export type { EnsemblePool } from './ensemble/pool.js';
export type { EnsemblePerSampleGrads, EnsembleStepResult, EnsembleEvaluation, StackedArray } from './ensemble/results.js';
export type { EnsembleStepSummary } from './ensemble/fit.js';
export type { CallOptions, CloseOptions } from './lifecycle.js';
export type { LayersLoss, LayersLossFn } from './model/layers/losses.js';
// Plain @tensorflow/tfjs has no file:// IOHandler in Node: these read and write tfjs Layers model.json files.
export { fileLoadHandler } from './model/layers/io-handler.js';
export { layersSaveHandler } from './io/tfjs-layers.js';
export { arrayRows, type RowSource } from './io/rows.js';
export type { CallTimings } from './core-stats.js';
export type { WorkerStats } from './dispatch.js';
export { defineModel } from './model/define.js';
export type { ModelDef, ModelSpec, ParamSpec, ParamLayout, ParamTensors, ParamNames } from './model/define.js';
export type { InitSpec, InitFn } from './model/init.js';
export { tensordot } from './ops/tensordot.js';
export { adam, adamw, momentum, rmsprop, sgd } from './optim/spec.js';
export type * from './optim/types.js';
export type { StepOptions, StepResult, StepDp } from './train/step.js';
export type { Accumulator, AccumulateOptions, AccumulatorProgress } from './train/accumulate.js';
export type { GradientOptions } from './train/gradient.js';
export type { OptimizerState } from './train/opt-state.js';
export type { FitData, FitOptions, FitDp, History, StepLogs, EpochLogs, FitState, Trainer } from './train/fit.js';
export type { Metric } from './train/metrics.js';
export { noiseMultiplierFor, rdpEpsilon, rdpEpsilonDetail } from './privacy/rdp.js';
export type { EpsilonOptions, EpsilonDetail, NoiseSearchOptions, RdpConversion } from './privacy/rdp.js';
export { prvEpsilon, prvEpsilonDetail, type PrvEpsilonOptions, type PrvEpsilonDetail, type PrivacyPhase } from './privacy/prv.js';
export type { NDArray, NDArrayLike, NumericArray, BatchInput, TensorLike } from './input.js';
export type { ParamValue } from './params.js';
export { GradPoolError } from './errors.js';
// Function transforms (torch.func for tfjs), in-process on the active backend: README "Function transforms".
export { grad, valueAndGrad, vjp, jvp, jacrev, jacfwd, hessian, vmap } from './frontend/index.js';
export type { GradOf, JacOf, Argnums, TransformOptions, Tree, VjpOptions, VmapOptions, VmapRandomness, AxisSpec } from './frontend/index.js';
// tfjs's own gradients of tanh, sigmoid, exp, softmax, max, conv2d, … cannot be differentiated again
// (tf.grad(tf.grad(f)) throws or is wrong); importing gradpool replaces them on this thread, as
// initBackend does in the workers. First-order gradients keep their bits.
import { installSecondOrderGradients } from './shared/gradients/index.js';
installSecondOrderGradients();
export { installSecondOrderGradients };
