/** What the public calls of {@link GradPool} return, and their output options. */
import type { CoreStats } from './core-stats.js';
import type { NDArray } from './input.js';
import type { CallOptions } from './lifecycle.js';

/** Output options of `predict` and `perSampleGrads`. */
export interface OutputOptions extends CallOptions {
  /** `false`: return views into shared memory (valid until the next call) instead of fresh copies. Default true. */
  copy?: boolean;
}

/** Result of {@link GradPool.perSampleGrads}: every sample's loss and gradient (like `vmap(grad)`). `N`: the parameter names. */
export interface PerSampleGrads<N extends string = string> {
  /** `[B]`: each sample's own loss. */
  losses: NDArray;
  /** Per parameter, `[B, ...paramShape]`: each sample's gradient of its own loss. */
  grads: Record<N, NDArray>;
}

/** Result of {@link GradPool.gradient}: the batch-mean loss and gradient. `N`: the parameter names. */
export interface MeanGradient<N extends string = string> {
  /** Mean of the per-sample losses (NaN for an empty batch, like `torch.mean` of nothing). */
  loss: number;
  /** Per parameter, `[...paramShape]`: mean of the per-sample gradients (zeros for an empty batch). */
  grads: Record<N, NDArray>;
  batch: number;
}

/** Result of {@link GradPool.evaluate}. */
export interface Evaluation {
  loss: number;
  accuracy?: number;
  batch: number;
}

/** See {@link GradPool.stats}: the pool core's figures, as they are. */
export type PoolStats = CoreStats;
