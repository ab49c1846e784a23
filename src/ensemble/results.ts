/** What the calls of {@link EnsemblePool} return: a single pool's results with a leading `[K]` member axis. */
import type { NDArray } from '../input.js';
import type { StepResult } from '../train/step.js';

/** An array whose shape starts with the member axis: `[K, ...]`. */
export type StackedArray = NDArray;

/** Result of {@link EnsemblePool.perSampleGrads}: `vmap` over members of `vmap(grad)`. `N`: the parameter names. */
export interface EnsemblePerSampleGrads<N extends string = string> {
  /** `[K, B]`: each member's loss of each sample. */
  losses: StackedArray;
  /** Per parameter, `[K, B, ...paramShape]`: member k's gradient of sample b's loss. */
  grads: Record<N, StackedArray>;
}

/** Result of {@link EnsemblePool.step}: a single pool's {@link StepResult}, with one entry per member where members differ. */
export interface EnsembleStepResult extends Omit<StepResult, 'loss' | 'gradNorm' | 'clippedFraction'> {
  /** `[K]`: each member's mean per-sample loss of the batch (NaN for an empty batch). */
  loss: number[];
  /** `[K]`: the L2 norm of the gradient each member's optimizer applied. */
  gradNorm: number[];
  /** With `dp`, `[K]`: each member's fraction of samples whose gradient norm exceeded `maxGradNorm`. */
  clippedFraction?: number[];
}

/** Result of {@link EnsemblePool.evaluate}. */
export interface EnsembleEvaluation {
  /** `[K]`: each member's mean loss. */
  loss: number[];
  /** With `metrics: ['accuracy']`, `[K]`: each member's accuracy. */
  accuracy?: number[];
  batch: number;
}
