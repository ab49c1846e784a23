/**
 * The vectorized executor: the user's unchanged single-sample model, run ONCE over a whole chunk on the
 * vmap backend, with per-sample gradients from a single `tf.grads`-style pass. This file chooses the
 * path for each op and falls back to the loop; the batched pass itself is pass.ts, the ghost-clipping
 * passes ghost/passes.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../../src/model/define.js';
import { LoopExecutor } from '../loop.js';
import { checkedLoss, namedParams } from '../loss.js';
import type { ChunkJob, Executor } from '../types.js';
import type { VmapBackend } from '../../../src/shared/batching/backend.js';
import { disposeAbandonedTape } from '../../../src/shared/batching/engine.js';
import { BatchingRuleError, warnOnce } from '../../../src/shared/batching/errors.js';
import { BATCH_SUM, ensureVmapBackend } from '../../../src/shared/batching/register.js';
import { sumBatchedGrads } from './sum-grads.js';
import { coverageByGhostPass, ghostSum } from './ghost/passes.js';
import type { GhostCoverage } from '../../../src/shared/ghost-coverage.js';
import { sumGradsByLoop } from '../sum.js';
import { heapAllFinite } from '../../../src/shared/kernels/finite.js';
import { traced } from './replay.js';
import { exportedGrads, runBatched, valueAndGrads } from './pass.js';

/** An identity whose gradient is the batch sum of the incoming (per-sample) gradient. */
const batchSummed = () =>
  tf.customGrad(((p: tf.Tensor) => ({ value: p.clone(), gradFunc: (dy: tf.Tensor) => tf.engine().runKernel(BATCH_SUM, { x: dy }) as tf.Tensor })) as never);


/**
 * Runs chunks as batched kernels on a vmap backend over `innerBackendName`. Falls back to the loop
 * executor (sample by sample, on tfjs's current backend) for a model it cannot vectorize — one that
 * reads tensor values inside, or uses a kernel with data-dependent output shapes — warning once.
 */
export class VectorizedExecutor implements Executor {
  readonly name = 'vectorized';
  private vm: VmapBackend | null = null;
  private readonly loop = new LoopExecutor();
  /** Models that failed to vectorize once: later chunks go straight to the loop. */
  private readonly loopOnly = new WeakSet<ModelDef>();

  /**
   * @param sticky after a model fails to vectorize once, run it sample by sample from then on. The
   *   pool turns this off: it decides loop-or-vectorized once, at creation (see `probe`), and then a
   *   chunk's result must depend on the chunk alone, not on what this worker saw before — otherwise
   *   a data-dependent fallback would make results depend on the thread count.
   */
  constructor(
    readonly innerBackendName: string,
    private readonly sticky = true,
  ) {}

  /** Runs one chunk on the batched path only, throwing instead of falling back: can this model vectorize? */
  probe(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
    try {
      this.lossAndGradsBatched(job, losses, grads);
    } catch (e) {
      disposeAbandonedTape();
      throw e;
    }
  }

  /** The forward pass of {@link probe}: can this model's predictions be computed on the batched path? */
  probeForward(job: ChunkJob, out: Float32Array): void {
    this.forwardBatched(job, out);
  }

  /** The vmap backend, (re)registered if tfjs's inner backend instance changed since last time. */
  private backend(): VmapBackend {
    if (!this.vm || tf.engine().findBackend(this.innerBackendName) !== this.vm.inner) this.vm = ensureVmapBackend(this.innerBackendName);
    return this.vm;
  }

  forward(job: ChunkJob, out: Float32Array): void {
    this.withFallback(job, () => this.forwardBatched(job, out), () => this.loop.forward(job, out));
  }

  losses(job: ChunkJob, losses: Float32Array, pred: Float32Array): void {
    this.withFallback(job, () => this.lossesBatched(job, losses, pred), () => this.loop.losses(job, losses, pred));
  }

  lossAndGrads(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
    this.withFallback(job, () => this.lossAndGradsBatched(job, losses, grads), () => this.loop.lossAndGrads(job, losses, grads));
  }

  /**
   * The chunk's (clipped) gradient sum via batched kernels (see sum-grads.ts); the loop's JavaScript
   * summation when the batched path fails. Returns the first non-finite sample (chunk-relative) or -1.
   */
  sumGrads(job: ChunkJob, losses: Float32Array, norms: Float32Array, row: Float64Array, clip?: number): number {
    if (!this.loopOnly.has(job.model)) {
      try {
        // Unclipped, each parameter's sum is copied into its slice (every value); the clipped sums add into a zeroed row.
        if (clip !== undefined) row.fill(0);
        const done = clip === undefined ? this.sumUnclipped(job, losses, norms, row) : job.ghost ? ghostSum(this.backend(), job, losses, norms, row, clip) : this.sumClipped(job, losses, norms, row, clip);
        if (done) return -1;
      } catch {
        // Fall through to the reference path, which names a failing sample or falls back to the loop.
      }
    }
    // A non-finite sample, or a chunk the batched path cannot run: the reference path finds and names it.
    return sumGradsByLoop(job, this, losses, norms, row, clip);
  }

  /** DP: per-sample gradients, then norms, clip factors and the sum off the batched data (sum-grads.ts). */
  private sumClipped(job: ChunkJob, losses: Float32Array, norms: Float32Array, row: Float64Array, clip: number): boolean {
    const { model, n } = job;
    const vm = this.backend();
    let infos: tf.TensorInfo[] = [];
    try {
      infos = exportedGrads('sumClipped', vm, job, losses, (ps) => ps, (g) => vm.exportBatched(g, n));
      return sumBatchedGrads(vm, infos, model.layout.sizes, model.layout.offsets, n, losses, norms, row, clip);
    } finally {
      for (const i of infos) vm.release(i.dataId);
    }
  }

  /**
   * Which ghost-norm rule each parameter gets and the form its gradient takes (the creation probe's
   * question, answered on its chunk; ghost/passes.ts). A parameter used by a kernel without a rule is
   * listed as missing; the coordinator then refuses `dp.clipping: 'ghost'` or falls back to per-sample.
   */
  ghostCoverage(job: ChunkJob): GhostCoverage {
    return coverageByGhostPass(this.backend(), job);
  }

  /**
   * No clipping: only the batch SUM of the gradients is needed — JAX's grad(sum ∘ vmap(loss)). Each
   * parameter goes in through an identity whose gradient is the batch sum of the incoming per-sample
   * gradient, and the backend keeps outer products lazy meanwhile, so a dense layer's weight gradient
   * becomes one GEMM xᵀ·dy instead of n outer products summed afterwards. Norms are not computed (NaN).
   */
  private sumUnclipped(job: ChunkJob, losses: Float32Array, norms: Float32Array, row: Float64Array): boolean {
    const { model, n } = job;
    const vm = this.backend();
    const sumGrad = batchSummed();
    vm.sumMode = true;
    let infos: tf.TensorInfo[];
    try {
      infos = exportedGrads('sum', vm, job, losses, (ps) => ps.map((p) => sumGrad(p)), (g) => vm.exportValue(g).info);
    } finally {
      vm.sumMode = false;
    }
    try {
      for (let i = 0; i < n; i++) if (!Number.isFinite(losses[i]!)) return false;
      norms.fill(NaN);
      const { offsets } = model.layout;
      return infos.every((info, p) => {
        if (!tf.util.arraysEqual(info.shape, model.layout.shapes[p]!.slice()))
          throw new Error('vectorized: internal error, a summed gradient came out batched');
        const s = vm.heapView(info) ?? (vm.inner.readSync(info.dataId) as Float32Array); // no copy on wasm
        if (!heapAllFinite(vm.inner, s)) return false;
        // Each parameter's slice is written once, so a copy: a native float32 → float64 conversion,
        // ~5× a JavaScript loop of `+=`. A -0 stays -0 here where `0 + -0` gave +0; the chunk-ordered
        // reduction starts from +0, so every reduced figure has the same bits.
        row.set(s, offsets[p]!);
        return true;
      });
    } finally {
      for (const i of infos) vm.release(i.dataId);
    }
  }

  private forwardBatched(job: ChunkJob, out: Float32Array): void {
    traced('forward', this.backend(), job, [out], () => {
      this.runForward(job, out, () => undefined);
      return [];
    });
  }

  /** Forward and loss over the whole chunk at once: evaluation is one batched pass, no per-sample loop. */
  private lossesBatched(job: ChunkJob, losses: Float32Array, out: Float32Array): void {
    const { model, n } = job;
    this.runForward(job, out, (vm, pred) => vm.readInto(checkedLoss(model, pred, vm.upload(job.y!, [n, ...model.targetShape], true)), n, losses));
  }

  /** One batched forward pass of the chunk into `out`; `then` may use the prediction before the tidy ends. */
  private runForward(job: ChunkJob, out: Float32Array, then: (vm: VmapBackend, pred: tf.Tensor) => void): void {
    const { model, n } = job;
    const vm = this.backend();
    runBatched(vm, job, () =>
      tf.tidy(() => {
        const x = vm.upload(job.x, [n, ...model.inputShape], true);
        const pred = model.forward(namedParams(model, job.params), x);
        if (!(pred instanceof tf.Tensor) || pred.size * n !== out.length)
          throw new Error(`model.forward: expected ${out.length / n} values per sample, got ${pred instanceof tf.Tensor ? `shape [${pred.shape}]` : typeof pred}`);
        vm.readInto(pred, n, out);
        then(vm, pred);
      }),
    );
  }

  private lossAndGradsBatched(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
    const vm = this.backend();
    traced('lossAndGrads', vm, job, [losses, ...grads], () => {
      runBatched(vm, job, () =>
        tf.tidy(() => {
          const { value, grads: g } = valueAndGrads(vm, job, (ps) => ps);
          vm.readInto(value, job.n, losses);
          g.forEach((gp, p) => vm.readInto(gp, job.n, grads[p]!));
        }),
      );
      return [];
    });
  }

  /**
   * Tries the batched path; on failure runs the chunk through the loop executor. A model error then
   * surfaces as the loop's SampleError for the first failing sample, exactly as the loop reports it. If the
   * loop succeeds where the batched run failed, the model is not vectorizable here: say so once and
   * keep using the loop for it.
   */
  private withFallback(job: ChunkJob, batched: () => void, loop: () => void): void {
    if (!this.loopOnly.has(job.model)) {
      try {
        batched();
        return;
      } catch (e) {
        try {
          loop();
        } catch (loopError) {
          disposeAbandonedTape(); // tfjs leaves the failed sample's tape behind
          throw loopError;
        }
        if (this.sticky) this.loopOnly.add(job.model);
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
export function createVectorizedExecutor(innerBackendName: string, sticky = true): VectorizedExecutor {
  return new VectorizedExecutor(innerBackendName, sticky);
}
