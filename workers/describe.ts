import * as tf from '@tensorflow/tfjs';
import { GradPoolError, fmtShape } from '../src/errors.js';
import type { ModelDef } from '../src/model/define.js';
import { checkedLoss, namedParams } from './executors/loss.js';
import { LoopExecutor } from './executors/loop.js';
import type { ChunkJob } from './executors/types.js';
import { disposeAbandonedTape } from '../src/shared/batching/engine.js';
import type { VectorizedExecutor } from './executors/vectorized/executor.js';
import { explainMissingGradient } from './gradient-check.js';
import type { GhostCoverage } from '../src/shared/ghost-coverage.js';

/** What pool creation learns about a model (see {@link describeModel}). */
export interface ModelDescription {
  outputShape: number[];
  /** Why the batched path fails where the plain per-sample loop works (absent: it runs, or was not probed). */
  notVectorizable?: string;
  /** Why the model cannot be differentiated at all, in plain tfjs too (absent: it can). */
  notDifferentiable?: string;
  /** With a vectorized probe that ran: each parameter's ghost-norm rule, and the ops without one (src/train/clipping.ts). */
  ghost?: GhostCoverage;
}

/** Samples in the probe chunk: enough to have a batch axis. */
const PROBE_SAMPLES = 2;

/**
 * Runs the model once on an all-zero sample to learn its output shape, and checks the contract the
 * executors rely on: forward returns a tensor of this worker's tfjs (not another copy of tfjs), and
 * loss returns a scalar. Then runs a small chunk's gradients UNVECTORIZED (the reference loop), so a
 * model tfjs cannot differentiate is reported as such and never blamed on the batching rules. With
 * `probe`, also runs that chunk through the vectorized executor's batched path: when it fails where the
 * loop worked, the batching rules are the cause, and `notVectorizable` says which kernel and rule.
 */
export function describeModel(model: ModelDef, probe: VectorizedExecutor | null): ModelDescription {
  const outputShape = checkContract(model);
  const params = model.layout.shapes.map((s) => tf.randomNormal(s, 0, 0.1, 'float32', 1));
  try {
    const n = PROBE_SAMPLES;
    const job: ChunkJob = { model, params, x: new Float32Array(n * model.inputSize).fill(0.5), y: new Float32Array(n * model.targetSize).fill(0.5), n, first: 0 };
    const grads = () => model.layout.sizes.map((s) => new Float32Array(n * s));
    const loopError = attempt(() => new LoopExecutor().lossAndGrads(job, new Float32Array(n), grads()));
    if (loopError !== null) disposeAbandonedTape(); // tfjs leaves a failed gradient's tape behind
    const notDifferentiable = loopError === null ? undefined : (explainMissingGradient(job, loopError) ?? undefined);
    const out: ModelDescription = { outputShape, ...(notDifferentiable ? { notDifferentiable } : {}) };
    if (!probe) return out;
    if (loopError === null) {
      const batchedError = attempt(() => probe.probe(job, new Float32Array(n), grads()));
      if (batchedError !== null) return { ...out, notVectorizable: (batchedError as Error).message };
      // Ghost clipping's rules per parameter; a model whose ghost pass fails keeps none (its DP
      // chunks then take the per-sample reference path, which is exact).
      let ghost: GhostCoverage | undefined;
      if (attempt(() => (ghost = probe.ghostCoverage(job))) !== null) disposeAbandonedTape();
      return ghost ? { ...out, ghost } : out;
    }
    // The model's gradient fails without vectorization too: that is the model's own error, which the
    // calls will report as the loop does. Vectorization only has to carry the forward pass.
    const forwardError = attempt(() => probe.probeForward(job, new Float32Array(n * sizeOf(outputShape))));
    return forwardError === null ? out : { ...out, notVectorizable: (forwardError as Error).message };
  } finally {
    params.forEach((t) => t.dispose());
  }
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `fn`, returning what it threw (null when it did not). */
function attempt(fn: () => void): unknown {
  try {
    fn();
    return null;
  } catch (e) {
    return e ?? new Error(String(e));
  }
}

/** Forward on zeros: the output shape, and the tensor/scalar contract (thrown as ERR_MODEL_INVALID). */
function checkContract(model: ModelDef): number[] {
  try {
    return tf.tidy(() => {
      const zeros = model.layout.shapes.map((s) => tf.zeros(s));
      const pred = model.forward(namedParams(model, zeros), tf.zeros(model.inputShape as number[]));
      if (!(pred instanceof tf.Tensor)) {
        const other = pred && typeof pred === 'object' && 'dataSync' in (pred as object);
        throw new GradPoolError('ERR_MODEL_INVALID', other
          ? 'model.forward: returned a tensor from a different copy of @tensorflow/tfjs than gradpool uses; make the model import the same @tensorflow/tfjs'
          : `model.forward: expected to return a tf.Tensor, got ${typeof pred}`);
      }
      checkedLoss(model, pred, tf.zeros(model.targetShape as number[]));
      return pred.shape.slice();
    });
  } catch (e) {
    if (e instanceof GradPoolError) throw e;
    throw new GradPoolError('ERR_MODEL_INVALID', `model.forward: failed on an all-zero input of shape ${fmtShape(model.inputShape)}: ${(e as Error).message}`);
  }
}
