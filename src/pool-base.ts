/**
 * What a pool and an ensemble pool have in common: the read-only facts of the pool, the random-call
 * counter, the zero-copy input buffers, diagnostics and `vmap` over the workers. Each subclass adds
 * its calls (results with or without the members' [K] axis).
 */
import type { PoolCore } from './core.js';
import { errors } from './errors.js';
import type { VmapOptions } from './frontend/vmap.js';
import type { ModelDef } from './model/define.js';
import type { OptimizerSpec } from './optim/types.js';
import type { OptimizerState } from './train/opt-state.js';
import { poolVmap, type FnRef } from './pool-vmap.js';
import type { PoolStats } from './results.js';
import type { ExecutorName, Randomness } from './shared/protocol.js';
import { REGION } from './shared/protocol.js';
import type * as tf from '@tensorflow/tfjs';

export abstract class PoolBase<C extends PoolCore = PoolCore> {
  protected constructor(protected readonly core: C) {}

  /** The executor the workers run (`'auto'` resolved at creation). */
  get executor(): ExecutorName {
    return this.core.options.executor;
  }
  /** Samples per chunk for a batch of `batch` samples (the `chunkSize` option, or the default for this model). */
  chunkSizeFor(batch: number): number {
    return this.core.plan(batch).chunkSize;
  }
  /** The validated model definition (shapes, parameter layout of one model). */
  get model(): ModelDef {
    return this.core.model;
  }
  /** Shape of one sample's forward output. */
  get outputShape(): number[] {
    return this.core.outputShape;
  }
  get threads(): number {
    return this.core.options.threads;
  }
  /** The pool's seed (an ensemble's member k has `seed + k`). */
  get seed(): number {
    return this.core.options.seed;
  }
  /** How random ops inside the model draw (see {@link GradPoolOptions.randomness}). */
  get randomness(): Randomness {
    return this.core.options.randomness;
  }

  /**
   * Calls so far that ran the model (predict, evaluate, perSampleGrads, gradient, step): the next
   * call's random draws are keyed by this number. `fit` saves it in its state and restores it on
   * resume, so training with dropout continues bit-exactly; set it yourself (between calls) to replay.
   */
  get randomCalls(): number {
    return this.core.randomCalls;
  }
  set randomCalls(n: number) {
    this.core.assertOpen('randomCalls');
    if (!Number.isSafeInteger(n) || n < 0) throw errors.invalidOption('randomCalls', 'a non-negative integer', n);
    this.core.randomCalls = n;
  }

  /**
   * A copy of `optimizer`'s state on this pool (moments and update count), for checkpoints. On an
   * ensemble each slot is `[K, P]` flat, member k's block its own pool's slot vector.
   */
  getOptimizerState(optimizer: OptimizerSpec): OptimizerState {
    return this.core.optimizers.get(optimizer);
  }

  /** Restores `optimizer`'s state (validated in full first). Takes effect for the next step. */
  setOptimizerState(optimizer: OptimizerSpec, state: OptimizerState): void {
    this.core.assertOpen('setOptimizerState');
    this.core.assertNoAccumulator('setOptimizerState');
    this.core.optimizers.set(optimizer, state);
  }

  /**
   * A zero-copy input buffer for `batch` samples: fill it and pass it to `predict`/`perSampleGrads`/
   * `gradient`/`step` to skip the copy into shared memory. Valid until a call with a larger batch; do
   * not fill it while a call is in flight.
   */
  inputBuffer(batch: number): Float32Array {
    return this.core.buffer(REGION.x, batch);
  }

  /** The target-side twin of {@link inputBuffer}. */
  targetBuffer(batch: number): Float32Array {
    return this.core.buffer(REGION.y, batch);
  }

  /**
   * Diagnostics: what each live worker reported after its last task (tf tensor counts, for leak
   * checks), the last call's time breakdown, and the shared memory held.
   */
  stats(): PoolStats {
    return this.core.stats();
  }

  /**
   * The in-process `vmap` of a function, run across the pool's workers: batched inference of any
   * function, per-sample Jacobians, … The function must be importable by every worker, so it is named
   * by module and export. The result equals `vmap(f, options)(...args)` on the pool's backend bit for
   * bit, for any thread count (with the same `seed`; it defaults to the pool's).
   *
   * @example
   * ```ts
   * // jac.js: export const jac = jacrev((x) => tf.tanh(tf.matMul(W, x)));
   * const perSampleJac = pool.vmap({ module: new URL('./jac.js', import.meta.url), export: 'jac' });
   * const J = await perSampleJac(xs); // [B, out, in]
   * ```
   */
  vmap<A extends unknown[] = tf.Tensor[], R = unknown>(fnRef: FnRef, options?: VmapOptions): (...args: A) => Promise<R> {
    this.core.assertOpen('vmap');
    return poolVmap<A, R>(this.core, fnRef, options);
  }
}
