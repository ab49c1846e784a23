import type * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../src/model/define.js';

/**
 * One chunk of samples handed to an executor. Everything is flat float32, sample-major, and is
 * usually a view straight into the shared arena, so an executor reads inputs without copies.
 */
export interface ChunkJob {
  model: ModelDef;
  /** The model's parameters as unbatched tensors, in `model.layout.names` order. Owned by the caller. */
  params: tf.Tensor[];
  /** `n * model.inputSize` values. */
  x: Float32Array;
  /** `n * model.targetSize` values (absent for forward-only work). */
  y?: Float32Array;
  /** Number of samples in the chunk (≥ 1). */
  n: number;
  /** Index in the whole batch of the chunk's first sample, for error messages. */
  first: number;
  /** DP: clip by ghost norms where the executor can (workers/executors/vectorized/ghost.ts). */
  ghost?: boolean;
}

/**
 * Turns (params, chunk of samples) into per-sample outputs. This is the swappable unit of the worker:
 * the pool, the arena and the reductions never look inside it. Implementations must be deterministic
 * (same chunk in, same bits out) and must not leak tensors: everything they create is disposed
 * before they return.
 *
 * A failure attributable to one sample is thrown as a {@link SampleError}.
 */
export interface Executor {
  readonly name: string;
  /** Writes the forward outputs, `n * outputSize` values, into `out`. */
  forward(job: ChunkJob, out: Float32Array): void;
  /**
   * Evaluation without gradients: writes the forward outputs (`n * outputSize` values) into `pred` and
   * each sample's loss into `losses[i]`.
   */
  losses(job: ChunkJob, losses: Float32Array, pred: Float32Array): void;
  /**
   * Writes each sample's loss into `losses[i]` and each sample's gradient of its own loss with respect
   * to parameter `p` into `grads[p]`, sample-major: `grads[p][i * size_p + k]`.
   */
  lossAndGrads(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void;
  /**
   * Optional fast path for the chunk's gradient SUM (training steps, batch-mean gradients): writes each
   * sample's loss and gradient L2 norm, and the sum over samples of their gradients — each first scaled
   * by min(1, clip / (norm + 1e-6)) when `clip` is given — into `row` (flat, layout order). Every value
   * of `row` is written: it holds an earlier chunk's sums (the worker does not zero it first: an MNIST
   * MLP's 814 KB row per chunk). Leaves non-finite samples out and returns the chunk-relative index of the first, or
   * -1. Without it, the worker sums `lossAndGrads`' output in JavaScript (executors/sum.ts).
   */
  sumGrads?(job: ChunkJob, losses: Float32Array, norms: Float32Array, row: Float64Array, clip?: number): number;
}

/** An error that belongs to one sample of the batch; `sample` is the index in the whole batch. */
export class SampleError extends Error {
  /**
   * The lowest sample this worker's task had already found non-finite when `sample` threw: under
   * `nonFinite: 'throw'` that one is the batch's first failure, so it must not be lost with the throw.
   */
  nonFiniteBefore: number | undefined;

  constructor(
    readonly sample: number,
    message: string,
  ) {
    super(message);
    this.name = 'SampleError';
  }

  /** Records a non-finite sample seen before this failure (the lowest is kept). */
  noteNonFinite(sample: number): void {
    if (sample < this.sample && (this.nonFiniteBefore === undefined || sample < this.nonFiniteBefore)) this.nonFiniteBefore = sample;
  }
}
