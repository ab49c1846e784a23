/**
 * The pool's executor run in-process on the main thread, with no pool: the "no pool" side of the
 * pool-overhead target. It does what a worker does for a call (workers/chunks.ts), minus the threads,
 * the shared memory and the messages: the same executor (by name, as `createExecutor` builds it in a
 * worker), over the whole batch in chunks of the pool's chunk size, in training mode, inside the same
 * randomness scope, then the same chunk-ordered reduction (src/shared/reduce.ts).
 *
 * Compared like with like:
 * - `perSampleGrads` against `pool.perSampleGrads(x, y, { copy: false })` (views of the pool's reused
 *   shared buffers, as the issue's measurements take them): here `lossAndGrads` writes each chunk
 *   straight into `[B]` losses and `[B, ...shape]` gradient arrays allocated once per batch size;
 * - `gradient` against `pool.gradient(x, y)`: `sumGrads` per chunk into float64 partial rows (reused
 *   across calls of one batch size, as the pool's region is), reduced in chunk order and scaled by
 *   1/B into a fresh float32 mean gradient, plus the mean loss.
 * Needs the main thread's tfjs backend to be the workers' (`initBackend`, as runSuite does first).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../src/model/define.js';
import { withTraining } from '../src/model/mode.js';
import { ChunkPlan } from '../src/shared/chunks.js';
import type { ExecutorName } from '../src/shared/protocol.js';
import { orderedSum, reducePartials } from '../src/shared/reduce.js';
import { createExecutor } from '../workers/executors/index.js';
import { sumGradsByLoop } from '../workers/executors/sum.js';
import type { ChunkJob, Executor } from '../workers/executors/types.js';
import { withRandomness } from '../src/shared/random/scope.js';

export class InProcessExecutor {
  private readonly executor: Executor;
  private readonly params: tf.Tensor[];

  constructor(
    private readonly def: ModelDef,
    init: Float32Array,
    executor: ExecutorName,
    backend: string,
    private readonly chunkSize: number,
    private readonly seed = 0,
  ) {
    this.executor = createExecutor(executor, backend);
    const { shapes, offsets, sizes } = def.layout;
    this.params = shapes.map((s, k) => tf.tensor(init.slice(offsets[k]!, offsets[k]! + sizes[k]!), s));
  }

  /** Runs `work` on every chunk of the first `B` samples, in order, as a worker's claim loop does. */
  private chunks(x: Float32Array, y: Float32Array, B: number, work: (job: ChunkJob, c: number, s: number, e: number) => void): ChunkPlan {
    const plan = new ChunkPlan(B, this.chunkSize);
    const { inputSize, targetSize } = this.def;
    withRandomness({ mode: 'different', seed: this.seed, call: 0 }, () => {
      for (let c = 0; c < plan.count; c++) {
        const [s, e] = plan.range(c);
        const job: ChunkJob = { model: this.def, params: this.params, x: x.subarray(s * inputSize, e * inputSize), y: y.subarray(s * targetSize, e * targetSize), n: e - s, first: s };
        withTraining(true, () => work(job, c, s, e));
      }
    });
    return plan;
  }

  /** Per-sample outputs, allocated once per batch size (as the pool's shared buffers are). */
  private outputs: { B: number; losses: Float32Array; grads: Float32Array[] } | null = null;

  perSampleGrads(x: Float32Array, y: Float32Array, B: number): { losses: Float32Array; grads: Float32Array[] } {
    const { sizes } = this.def.layout;
    if (this.outputs?.B !== B) this.outputs = { B, losses: new Float32Array(B), grads: sizes.map((sz) => new Float32Array(B * sz)) };
    const { losses, grads } = this.outputs;
    this.chunks(x, y, B, (job, _c, s, e) =>
      this.executor.lossAndGrads(
        job,
        losses.subarray(s, e),
        sizes.map((sz, p) => grads[p]!.subarray(s * sz, e * sz)),
      ),
    );
    return { losses, grads };
  }

  /** The partial rows, losses and norms of `gradient`, allocated once per batch size (as the pool's regions are). */
  private sums: { B: number; partial: Float64Array; losses: Float32Array; norms: Float32Array } | null = null;

  gradient(x: Float32Array, y: Float32Array, B: number): { loss: number; grad: Float32Array } {
    const P = this.def.layout.total;
    const count = Math.ceil(B / this.chunkSize);
    if (this.sums?.B !== B) this.sums = { B, partial: new Float64Array(count * P), losses: new Float32Array(B), norms: new Float32Array(B) };
    const { partial, losses, norms } = this.sums;
    this.chunks(x, y, B, (job, c, s, e) => {
      const row = partial.subarray(c * P, (c + 1) * P);
      const [l, n] = [losses.subarray(s, e), norms.subarray(s, e)];
      if (this.executor.sumGrads) this.executor.sumGrads(job, l, n, row);
      else sumGradsByLoop(job, this.executor, l, n, row);
    });
    const grad = new Float32Array(P);
    reducePartials(partial, count, P, grad, 1 / B);
    return { loss: orderedSum(losses) / B, grad };
  }

  dispose(): void {
    this.params.forEach((t) => t.dispose());
  }
}
