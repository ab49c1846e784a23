/**
 * The chunk's one batched pass on the vmap backend, as the vectorized executor's gradient paths
 * share it (executor.ts, ghost/passes.ts): the run itself with per-sample random draws, one
 * `tf.valueAndGrads` of the loss over the whole chunk, and the traced variant that hands the
 * gradients out of the run.
 */
import * as tf from '@tensorflow/tfjs';
import type { VmapBackend } from '../../../src/shared/batching/backend.js';
import { forBatch } from '../../../src/shared/random/scope.js';
import { lossOf } from '../loss.js';
import type { ChunkJob } from '../types.js';
import { traced } from './replay.js';

/**
 * Runs `fn` as the chunk's one batched pass: on the vmap backend, with each random op of the model
 * drawing once per sample, stacked into one batched tensor (src/shared/random/scope.ts).
 */
export function runBatched<T>(vm: VmapBackend, job: ChunkJob, fn: () => T): T {
  const { first, n } = job;
  return vm.run(n, () => forBatch(first, n, (values, shape, dtype) => vm.upload(values, [n, ...shape], true, dtype), fn));
}

/**
 * One `tf.valueAndGrads` of the per-sample loss over the whole chunk, params passed through `wrap`;
 * `onForward` sees the parameters while the forward pass's tape is still recording.
 */
export function valueAndGrads(vm: VmapBackend, job: ChunkJob, wrap: (ps: tf.Tensor[]) => tf.Tensor[], onForward?: (ps: tf.Tensor[]) => void) {
  const { model, n } = job;
  const x = vm.upload(job.x, [n, ...model.inputShape], true);
  const y = vm.upload(job.y!, [n, ...model.targetShape], true);
  // The caller's parameter tensors go in as they are: to the vmap backend they are unbatched inner
  // data, and their gradients come out batched, one row per sample (or summed, in sum mode).
  return tf.valueAndGrads((...ps: tf.Tensor[]) => {
    const loss = lossOf(model, wrap(ps), x, y);
    onForward?.(ps);
    return loss;
  })(job.params);
}

/**
 * One traced batched pass of the chunk's loss and gradients (params passed through `wrap`): each
 * sample's loss into `losses`, and each gradient handed out of the run by `exportOne` (the caller
 * releases what it returns).
 */
export function exportedGrads(kind: 'sum' | 'sumClipped' | 'ghost', vm: VmapBackend, job: ChunkJob, losses: Float32Array, wrap: (ps: tf.Tensor[]) => tf.Tensor[], exportOne: (g: tf.Tensor) => tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo[] {
  return traced(kind, vm, job, [losses], () => {
    let out: tf.TensorInfo[] = [];
    runBatched(vm, job, () =>
      tf.tidy(() => {
        const { value, grads } = valueAndGrads(vm, job, wrap);
        vm.readInto(value, job.n, losses);
        out = grads.flatMap(exportOne);
      }),
    );
    return out;
  });
}
