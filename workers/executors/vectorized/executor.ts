/**
 * The vectorized executor: the user's unchanged single-sample model, run ONCE over a whole chunk on the
 * vmap backend, with per-sample gradients from a single `tf.grads`-style pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../../src/model/define.js';
import type { ChunkJob, Executor } from '../types.js';
import type { VmapBackend } from './backend.js';
import { ensureVmapBackend } from './register.js';
import { BatchingRuleError, warnOnce } from './errors.js';
import { lossOf, loopForward, loopLossAndGrads, namedParams } from './loop.js';

/**
 * Runs chunks as batched kernels on a vmap backend over `innerBackendName`. Falls back to the
 * sample-by-sample loop (on the inner backend) for a model it cannot vectorize — one that reads tensor
 * values inside, or uses a kernel with data-dependent output shapes — warning once.
 */
export class VectorizedExecutor implements Executor {
  readonly name = 'vectorized';
  private vm: VmapBackend | null = null;
  /** Models that failed to vectorize once: later chunks go straight to the loop. */
  private readonly loopOnly = new WeakSet<ModelDef>();

  constructor(readonly innerBackendName: string) {}

  /** The vmap backend, (re)registered if tfjs's inner backend instance changed since last time. */
  private backend(): VmapBackend {
    if (!this.vm || tf.engine().findBackend(this.innerBackendName) !== this.vm.inner) this.vm = ensureVmapBackend(this.innerBackendName);
    return this.vm;
  }

  forward(job: ChunkJob, out: Float32Array): void {
    this.withFallback(job, () => this.forwardBatched(job, out), () => loopForward(job, out));
  }

  lossAndGrads(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
    this.withFallback(job, () => this.lossAndGradsBatched(job, losses, grads), () => loopLossAndGrads(job, losses, grads));
  }

  private forwardBatched(job: ChunkJob, out: Float32Array): void {
    const { model, n } = job;
    const vm = this.backend();
    vm.run(n, () =>
      tf.tidy(() => {
        const x = vm.upload(job.x, [n, ...model.inputShape], true);
        const pred = model.forward(namedParams(model, job.params), x);
        if (!(pred instanceof tf.Tensor) || pred.size * n !== out.length)
          throw new Error(`model.forward: expected ${out.length / n} values per sample, got ${pred instanceof tf.Tensor ? `shape [${pred.shape}]` : typeof pred}`);
        vm.readInto(pred, n, out);
      }),
    );
  }

  private lossAndGradsBatched(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
    const { model, n } = job;
    const vm = this.backend();
    vm.run(n, () =>
      tf.tidy(() => {
        const x = vm.upload(job.x, [n, ...model.inputShape], true);
        const y = vm.upload(job.y!, [n, ...model.targetShape], true);
        // The caller's parameter tensors go in as they are: to the vmap backend they are unbatched
        // inner data, and their gradients come out batched, one row per sample.
        const { value, grads: g } = tf.engine().gradients(() => lossOf(model, job.params, x, y), job.params, undefined, true);
        vm.readInto(value, n, losses);
        g.forEach((gp, p) => {
          if (gp) vm.readInto(gp, n, grads[p]!);
          else grads[p]!.fill(0);
        });
      }),
    );
  }

  /**
   * Tries the batched path; on failure runs the chunk sample by sample. A model error then surfaces as
   * the loop's SampleError for the first failing sample, exactly as a loop executor reports it. If the
   * loop succeeds where the batched run failed, the model is not vectorizable here: say so once and
   * keep using the loop for it.
   */
  private withFallback(job: ChunkJob, batched: () => void, loop: () => void): void {
    if (!this.loopOnly.has(job.model)) {
      try {
        batched();
        return;
      } catch (e) {
        loop();
        this.loopOnly.add(job.model);
        const why = e instanceof BatchingRuleError ? e.message : `internal error: ${(e as Error).message}`;
        warnOnce(`model|${why}`, `gradpool: cannot vectorize this model (${why}); running it sample by sample (performance drop)`);
        return;
      }
    }
    loop();
  }
}

/**
 * Creates a vectorized executor over the worker's tfjs backend `innerBackendName` ('cpu' or 'wasm';
 * must be initialised before the first chunk). Registering the wrapping backend is idempotent.
 */
export function createVectorizedExecutor(innerBackendName: string): Executor {
  return new VectorizedExecutor(innerBackendName);
}
