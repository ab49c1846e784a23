import { PoolCore, type CallTimings } from './core.js';
import { Dispatcher, type WorkerStats } from './dispatch.js';
import { errors, raw } from './errors.js';
import { readBatch, readExact, type BatchInput, type NDArray } from './input.js';
import { initParams, type ModelDef } from './model/define.js';
import { loadModel, modelHref } from './model/load.js';
import { resolveOptions, type GradPoolOptions } from './options.js';
import type { ParamValue } from './params.js';
import { orderedSum, reducePartials } from './reduce.js';
import { fit, type FitData, type FitOptions, type History } from './train/fit.js';
import { accuracy, METRICS, type Metric } from './train/metrics.js';
import { OptimizerStates, type OptimizerState } from './train/opt-state.js';
import { trainStep, type StepOptions, type StepResult } from './train/step.js';
import type { OptimizerSpec } from './optim/types.js';

/** Output options of `predict` and `perSampleGrads`. */
export interface OutputOptions {
  /** `false`: return views into shared memory (valid until the next call) instead of fresh copies. Default true. */
  copy?: boolean;
}

/** A fresh copy of a shared-memory view, or the view itself with `copy: false`. */
function take(view: Float32Array, o: OutputOptions): Float32Array {
  return o.copy === false ? view : view.slice();
}

const warned = new Set<string>();

/** Resolves `'auto'`: vectorized when the creation probe succeeded, else the loop (saying why, once). */
function chooseExecutor(requested: 'auto' | 'vectorized' | 'loop', notVectorizable: string | undefined): 'loop' | 'vectorized' {
  if (requested === 'loop') return 'loop';
  if (notVectorizable === undefined) return 'vectorized';
  if (requested === 'vectorized') throw errors.invalidOption('executor', `a model that runs under the batching rules ('auto' falls back to the loop)`, raw(`'vectorized', but it fails: ${notVectorizable}`));
  if (!warned.has(notVectorizable)) {
    warned.add(notVectorizable);
    process.emitWarning(`executor 'auto': the model cannot run vectorized (${notVectorizable}); using the per-sample loop`, 'GradPoolWarning');
  }
  return 'loop';
}

/** Result of {@link GradPool.perSampleGrads}: every sample's loss and gradient (like `vmap(grad)`). */
export interface PerSampleGrads {
  /** `[B]`: each sample's own loss. */
  losses: NDArray;
  /** Per parameter, `[B, ...paramShape]`: each sample's gradient of its own loss. */
  grads: Record<string, NDArray>;
}

/** Result of {@link GradPool.gradient}: the batch-mean loss and gradient. */
export interface MeanGradient {
  /** Mean of the per-sample losses (NaN for an empty batch, like `torch.mean` of nothing). */
  loss: number;
  /** Per parameter, `[...paramShape]`: mean of the per-sample gradients (zeros for an empty batch). */
  grads: Record<string, NDArray>;
  batch: number;
}

/** Result of {@link GradPool.evaluate}. */
export interface Evaluation {
  loss: number;
  accuracy?: number;
  batch: number;
}

/** See {@link GradPool.stats}. */
export interface PoolStats {
  workers: WorkerStats[];
  /** Timings of the last completed call (null before the first). */
  lastCall: CallTimings | null;
  /** Workers that died between calls and were replaced (no call was affected). */
  idleWorkerCrashes: number;
  sharedBytes: number;
  sharedAllocations: number;
}

/**
 * A pool of worker threads that runs a single-sample model over batches: batched inference,
 * per-sample gradients, batch-mean gradients and training steps, with results bit-identical for any
 * thread count. Calls on one pool run one at a time, in the order they were made.
 *
 * @example
 * ```ts
 * const pool = await GradPool.create({ model: new URL('./model.js', import.meta.url), threads: 2, seed: 7 });
 * const pred = await pool.predict(x);                          // x: [B,3,2] -> [B,1]
 * const { losses, grads } = await pool.perSampleGrads(x, y);   // grads.W: [B,3,2,1]
 * const { loss, grads: mean } = await pool.gradient(x, y);     // mean over the batch
 * await pool.step(x, y, { optimizer: adam() });                // one training step
 * await pool.close();
 * ```
 */
export class GradPool {
  private readonly optStates: OptimizerStates;

  private constructor(private readonly core: PoolCore) {
    this.optStates = new OptimizerStates(core);
  }

  /**
   * Starts the workers, loads the model in each, and initialises the parameters from `seed`.
   * Rejects with a message naming the module if the model cannot be loaded.
   */
  static async create(options: GradPoolOptions): Promise<GradPool> {
    const o = resolveOptions(options);
    const href = modelHref(o.model);
    const model = await loadModel(href);
    // Warm-up and the probe run on the loop executor; 'auto' is resolved by the probe's answer.
    const dispatcher = new Dispatcher(o.threads, { model: href, backend: o.backend, backendModule: o.backendModule, executor: 'loop' }, o.resourceLimits);
    try {
      await dispatcher.warmup();
      const probe = o.executor !== 'loop';
      const described = await dispatcher.runOne({ type: 'describe', runtime: dispatcher.runtime, probeVectorized: probe }, 'create');
      const executor = chooseExecutor(o.executor, described.notVectorizable);
      dispatcher.runtime.executor = executor;
      const resolved = { ...o, executor };
      return new GradPool(new PoolCore(model, resolved, dispatcher, described.outputShape!, initParams(model, o.seed)));
    } catch (e) {
      await dispatcher.close();
      throw e;
    }
  }

  /** The executor the workers run (`'auto'` resolved at creation). */
  get executor(): 'loop' | 'vectorized' {
    return this.core.options.executor as 'loop' | 'vectorized';
  }
  /** Samples per chunk for a batch of `batch` samples (the `chunkSize` option, or the default for this model). */
  chunkSizeFor(batch: number): number {
    return this.core.chunkSizeFor(batch);
  }

  /** The validated model definition (shapes, parameter layout). */
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
  get seed(): number {
    return this.core.options.seed;
  }

  /** A copy of the current parameters, by name. */
  getParams(): Record<string, NDArray> {
    return this.core.params.get();
  }

  /** Replaces some or all parameters. Validated in full before anything changes; takes effect for the next call. */
  setParams(values: Record<string, ParamValue>): void {
    this.core.assertOpen('setParams');
    this.core.params.set(values, readExact);
  }

  /** A copy of `optimizer`'s state on this pool (moments and update count), for checkpoints. */
  getOptimizerState(optimizer: OptimizerSpec): OptimizerState {
    return this.optStates.get(optimizer);
  }

  /** Restores `optimizer`'s state (validated in full first). Takes effect for the next step. */
  setOptimizerState(optimizer: OptimizerSpec, state: OptimizerState): void {
    this.core.assertOpen('setOptimizerState');
    this.optStates.set(optimizer, state);
  }

  /**
   * A zero-copy input buffer for `batch` samples: fill it and pass it to `predict`/`perSampleGrads`/
   * `gradient`/`step` to skip the copy into shared memory. Valid until a call with a larger batch; do
   * not fill it while a call is in flight.
   */
  inputBuffer(batch: number): Float32Array {
    return this.core.buffer('x', batch, this.core.model.inputSize);
  }

  /** The target-side twin of {@link inputBuffer}. */
  targetBuffer(batch: number): Float32Array {
    return this.core.buffer('y', batch, this.core.model.targetSize);
  }

  /**
   * Batched forward pass: `[B, ...inputShape]` → `[B, ...outputShape]`.
   * With `{ copy: false }` the result is a view into the pool's shared memory, valid until the next call.
   */
  async predict(x: BatchInput, options: OutputOptions = {}): Promise<NDArray> {
    const op = 'predict';
    const core = this.core;
    core.assertOpen(op);
    const xs = readBatch('x', x, core.model.inputShape);
    const outSize = core.outputShape.reduce((a, b) => a * b, 1);
    return core.serial(op, async () => {
      if (xs.batch === 0) return { shape: [0, ...core.outputShape], data: new Float32Array(0) };
      core.stage(xs.batch, xs.data);
      core.arena.ensure('pred', 'f32', xs.batch * outSize);
      await core.run('forward', xs.batch, op, { outputSize: outSize });
      return { shape: [xs.batch, ...core.outputShape], data: take(core.arena.f32('pred', xs.batch * outSize), options) };
    });
  }

  /**
   * Mean loss (and metrics) over a batch without gradients, like tfjs's `model.evaluate`.
   * `metrics: ['accuracy']` compares argmax of prediction and target (or thresholds at 0.5 for one output).
   */
  async evaluate(x: BatchInput, y: BatchInput, options: { metrics?: Metric[] } = {}): Promise<Evaluation> {
    const op = 'evaluate';
    const core = this.core;
    const [xs, ys] = core.readXY(op, x, y);
    const metrics = options.metrics ?? [];
    metrics.forEach((m, i) => {
      if (!METRICS.includes(m)) throw errors.invalidOption(`metrics[${i}]`, `one of ${METRICS.join(', ')}`, m);
    });
    const outSize = core.outputShape.reduce((a, b) => a * b, 1);
    return core.serial(op, async () => {
      const B = xs.batch;
      if (B === 0) return { loss: NaN, batch: 0, ...(metrics.length ? { accuracy: NaN } : {}) };
      core.stage(B, xs.data, ys.data);
      core.arena.ensure('pred', 'f32', B * outSize);
      await core.run('evaluate', B, op, { outputSize: outSize });
      const loss = orderedSum(core.arena.f32('loss', B)) / B;
      return { loss, batch: B, ...(metrics.includes('accuracy') ? { accuracy: accuracy(core.arena.f32('pred', B * outSize), ys.data, B) } : {}) };
    });
  }

  /**
   * Every sample's loss and gradient with respect to every parameter (`vmap(grad)`).
   * With `{ copy: false }` the arrays are views into the pool's shared memory, valid until the next
   * call: no allocation per call, which matters when per-sample gradients run to hundreds of MB.
   */
  async perSampleGrads(x: BatchInput, y: BatchInput, options: OutputOptions = {}): Promise<PerSampleGrads> {
    const op = 'perSampleGrads';
    const core = this.core;
    const [xs, ys] = core.readXY(op, x, y);
    const { names, shapes, sizes, offsets, total } = core.model.layout;
    return core.serial(op, async () => {
      const B = xs.batch;
      if (B > 0) {
        core.stage(B, xs.data, ys.data);
        core.arena.ensure('psg', 'f32', B * total);
        await core.run('perSampleGrads', B, op);
      }
      const psg = B > 0 ? core.arena.f32('psg', B * total) : new Float32Array(0);
      const grads: Record<string, NDArray> = {};
      names.forEach((n, p) => (grads[n] = { shape: [B, ...shapes[p]!], data: take(psg.subarray(B * offsets[p]!, B * (offsets[p]! + sizes[p]!)), options) }));
      return { losses: { shape: [B], data: B > 0 ? take(core.arena.f32('loss', B), options) : new Float32Array(0) }, grads };
    });
  }

  /** The batch-mean loss and gradient, reduced in a fixed order (bit-identical for any thread count). */
  async gradient(x: BatchInput, y: BatchInput): Promise<MeanGradient> {
    const op = 'gradient';
    const core = this.core;
    const [xs, ys] = core.readXY(op, x, y);
    return core.serial(op, async () => {
      const B = xs.batch;
      const P = core.model.layout.total;
      if (B === 0) return { loss: NaN, grads: core.split(new Float32Array(P)), batch: 0 };
      core.stage(B, xs.data, ys.data);
      await core.run('sumGrads', B, op);
      const t0 = performance.now();
      core.arena.ensure('grad', 'f32', P); // reused across calls; split() below makes the caller's copies
      const mean = core.arena.f32('grad', P);
      reducePartials(core.arena.f64('partial'), core.numChunks(B), P, 1 / B, mean);
      const loss = orderedSum(core.arena.f32('loss', B)) / B;
      core.time('reduceMs', performance.now() - t0);
      return { loss, grads: core.split(mean), batch: B };
    });
  }

  /**
   * One training step: per-sample gradients on the workers (clipped, with `dp`), a deterministic
   * reduction, optional DP noise, and the optimizer update — sharded over the workers by parameter
   * slices for large models. Parameters and optimizer state change only if the whole step succeeds.
   */
  step(x: BatchInput, y: BatchInput, options: StepOptions): Promise<StepResult> {
    return trainStep(this.core, this.optStates, x, y, options);
  }

  /** Trains over a dataset for some epochs, like tfjs's `model.fit`. See {@link FitOptions}. */
  fit(data: FitData, options: FitOptions): Promise<History> {
    return fit(this, data, options);
  }

  /**
   * Diagnostics: what each live worker reported after its last task (tf tensor counts, for leak
   * checks), the last call's time breakdown, and the shared memory held.
   */
  stats(): PoolStats {
    const core = this.core;
    return {
      workers: core.dispatcher.workerStats(),
      lastCall: core.lastCall,
      idleWorkerCrashes: core.dispatcher.idleCrashes,
      sharedBytes: core.arena.bytes,
      sharedAllocations: core.arena.allocations,
    };
  }

  /** Stops the workers. Later calls reject with a "pool is closed" error. */
  async close(): Promise<void> {
    await this.core.close();
  }
}
