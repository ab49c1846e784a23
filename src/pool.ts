import { PoolCore } from './core.js';
import { Dispatcher } from './dispatch.js';
import { errors, raw } from './errors.js';
import { readExact, type BatchInput, type NDArray } from './input.js';
import { initParams, type ParamNames } from './model/define.js';
import type * as tf from '@tensorflow/tfjs';
import { isLayersRef, openLayersModel, withWeights } from './model/layers/source.js';
import { loadModel, modelHref } from './model/load.js';
import { warnOnSecondTfjs } from './model/tfjs-copies.js';
import { resolveOptions, type EnsembleOptions, type GradPoolOptions } from './options.js';
import type { ParamValue } from './params.js';
import type { ExecutorName, LoadSpec, RuntimeSpec } from './shared/protocol.js';
import { fit, type FitData, type FitOptions, type History, type Trainer } from './train/fit.js';
import type { Metric } from './train/metrics.js';
import { trainStep, type StepOptions, type StepResult } from './train/step.js';
import { Accumulator, type AccumulateOptions } from './train/accumulate.js';
import { meanGradient, type GradientOptions } from './train/gradient.js';
import { EnsembleCore } from './ensemble/core.js';
import { stackedInit } from './ensemble/params.js';
import { EnsemblePool } from './ensemble/pool.js';
import type { CallOptions, CloseOptions } from './lifecycle.js';
import { PoolBase } from './pool-base.js';
import { evaluateCall, perSampleGradsCall, predictCall } from './batch-calls.js';
import type { Evaluation, MeanGradient, OutputOptions, PerSampleGrads, PoolStats } from './results.js';
import { ClusterMember } from './cluster/member.js';
import type { ClusterStats } from './cluster/node.js';
import { noteGhostCoverage } from './train/clipping.js';
import type { OptimizerSpec } from './optim/types.js';
import type { OptimizerState } from './train/opt-state.js';

export type { Evaluation, MeanGradient, OutputOptions, PerSampleGrads, PoolStats } from './results.js';


/**
 * Resolves `'auto'`: vectorized when the creation probe succeeded, else the loop, saying why once per
 * pool. The probe ran the model unvectorized first, so `notVectorizable` is only ever the batching
 * rules' fault (a model tfjs cannot differentiate at all is reported by its gradient calls instead).
 */
function chooseExecutor(requested: 'auto' | ExecutorName, notVectorizable: string | undefined): ExecutorName {
  if (requested === 'loop') return 'loop';
  if (notVectorizable === undefined) return 'vectorized';
  if (requested === 'vectorized') throw errors.invalidOption('executor', `a model that runs under the batching rules ('auto' falls back to the loop)`, raw(`'vectorized', but it fails: ${notVectorizable}`));
  process.emitWarning(`executor 'auto': the model cannot run vectorized (${notVectorizable}); using the per-sample loop`, 'GradPoolWarning');
  return 'loop';
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
export class GradPool<N extends string = string> extends PoolBase implements Trainer {
  private constructor(
    core: PoolCore,
    /** Gradpool's copy of a tfjs-layers model (the template of {@link toLayersModel}); null for a defineModel module. */
    private layers: tf.LayersModel | null,
    /** This pool's place in a multi-node run (the `cluster` option), or null. */
    readonly cluster: ClusterMember | null = null,
  ) {
    super(core);
    cluster?.attach(core);
  }

  /**
   * Starts the workers, loads the model in each, and initialises the parameters from `seed`.
   * Rejects with a message naming the module if the model cannot be loaded.
   *
   * The type argument `M` names the parameters in results (`grads.W`, `getParams().b`): pass the
   * type of the model module's default export, `GradPool.create<typeof model>(…)` after
   * `import type model from './model.js'`, or a union of names (`'W' | 'b'`). Default: any name.
   *
   * With `ensemble: K` it returns an {@link EnsemblePool} of K members instead (README "Model ensembles"):
   * `const ens = await GradPool.create({ model, ensemble: 8 }); await ens.predict(x); // [8, B, ...]`
   */
  static create<M = string>(options: EnsembleOptions): Promise<EnsemblePool<ParamNames<M>>>;
  static create<M = string>(options: GradPoolOptions): Promise<GradPool<ParamNames<M>>>;
  static async create<M = string>(options: GradPoolOptions | EnsembleOptions): Promise<GradPool<ParamNames<M>> | EnsemblePool<ParamNames<M>>> {
    const o = resolveOptions(options);
    warnOnSecondTfjs(o.model);
    // A tfjs-layers model travels as one shared buffer with a short cache key (src/model/layers/).
    const layers = isLayersRef(o.model) ? await openLayersModel(o.model as tf.LayersModel | string | URL, o.loss) : null;
    const href = layers?.key ?? modelHref(o.model as string | URL);
    const model = layers?.def ?? (await loadModel(href));
    const load: LoadSpec = { model: href, ...(layers ? { layers: layers.artifact } : {}), backend: o.backend, ...(o.backendModule !== undefined ? { backendModule: o.backendModule } : {}) };
    // NATS first: an unreachable server fails creation at once, naming the URL, before any worker starts.
    const cluster = o.cluster ? await ClusterMember.connect(o.cluster) : null;
    const dispatcher = new Dispatcher(o.threads, o.resourceLimits);
    try {
      // Load everywhere, learn the output shape, and resolve 'auto' by the probe's answer; only then
      // is the runtime the calls run on fixed.
      await dispatcher.warmup(load);
      const described = await dispatcher.runOne({ type: 'describe', load, probeVectorized: o.executor !== 'loop', randomness: o.randomness }, 'create');
      const executor = chooseExecutor(o.executor, described.notVectorizable);
      noteGhostCoverage(model, described.ghost);
      const runtime: RuntimeSpec = { ...load, executor, randomness: o.randomness, seed: o.seed, replay: o.replay };
      const outputShape = described.outputShape!;
      // Prime every worker's executor so the first calls don't pay V8/wasm tier-up (workers/prime.ts).
      await dispatcher.warmup(load, { runtime, outputSize: outputShape.reduce((a, b) => a * b, 1), gradients: described.notDifferentiable === undefined });
      const K = o.ensemble; // an ensemble of K members: src/ensemble/
      if (K !== undefined) return new EnsemblePool<ParamNames<M>>(new EnsembleCore(model, { ...o, executor }, dispatcher, runtime, outputShape, stackedInit(model, o.seed, K), described.notDifferentiable, K));
      return new GradPool<ParamNames<M>>(new PoolCore(model, { ...o, executor }, dispatcher, runtime, outputShape, layers?.initial ?? initParams(model, o.seed), described.notDifferentiable), layers?.model ?? null, cluster);
    } catch (e) {
      await dispatcher.close();
      await cluster?.close();
      layers?.model.dispose();
      throw e;
    }
  }

  /** A copy of the current parameters, by name. */
  getParams(): Record<N, NDArray> {
    return this.core.params.get() as Record<N, NDArray>;
  }

  /**
   * The pool's model as a `tf.LayersModel` on this thread, with the pool's current weights (those of
   * {@link getParams}): `predict` on it gives what `pool.predict` gives. For pools made from a
   * tfjs-layers model; a defineModel pool has no Layers topology and rejects.
   *
   * @example
   * ```ts
   * const pool = await GradPool.create({ model: 'mnist/model.json', loss: 'categoricalCrossentropy' });
   * await pool.fit({ x, y }, { optimizer: adam(), epochs: 1, batchSize: 64 });
   * const trained = await pool.toLayersModel();
   * (trained.predict(tf.tensor(xs, [n, 784])) as tf.Tensor).print();
   * ```
   */
  async toLayersModel(): Promise<tf.LayersModel> {
    const op = 'toLayersModel';
    this.core.assertOpen(op);
    if (!this.layers) throw errors.notLayersModel(op);
    return withWeights(this.layers, this.core.params.get());
  }

  /** Replaces some or all parameters. Validated in full before anything changes; takes effect for the next call. */
  setParams(values: Partial<Record<N, ParamValue>>): void {
    this.core.assertOpen('setParams');
    this.core.assertNoAccumulator('setParams'); // an open accumulator's sums belong to the current parameters
    this.cluster?.checkSetParams();
    this.core.params.set(values as Record<string, ParamValue>, readExact);
  }

  /** As {@link PoolBase.getOptimizerState}; on a multi-node follower refused (rank 0 alone holds the optimizer state). */
  override getOptimizerState(optimizer: OptimizerSpec): OptimizerState {
    this.cluster?.rankZeroOnly('getOptimizerState', 'the optimizer state');
    return super.getOptimizerState(optimizer);
  }

  /** As {@link PoolBase.setOptimizerState}; on a multi-node follower refused (rank 0 alone holds the optimizer state). */
  override setOptimizerState(optimizer: OptimizerSpec, state: OptimizerState): void {
    this.cluster?.rankZeroOnly('setOptimizerState', 'the optimizer state');
    super.setOptimizerState(optimizer, state);
  }

  /**
   * Batched forward pass: `[B, ...inputShape]` → `[B, ...outputShape]`.
   * With `{ copy: false }` the result is a view into the pool's shared memory, valid until the next call.
   */
  predict(x: BatchInput, options: OutputOptions = {}): Promise<NDArray> {
    return predictCall(this.core, null, x, options);
  }

  /**
   * Mean loss (and metrics) over a batch without gradients, like tfjs's `model.evaluate`.
   * `metrics: ['accuracy']` compares argmax of prediction and target (or thresholds at 0.5 for one output).
   */
  async evaluate(x: BatchInput, y: BatchInput, options: { metrics?: Metric[] } & CallOptions = {}): Promise<Evaluation> {
    const { loss, accuracy, batch } = await evaluateCall(this.core, null, x, y, options);
    return { loss: loss[0]!, batch, ...(accuracy ? { accuracy: accuracy[0]! } : {}) };
  }

  /**
   * Every sample's loss and gradient with respect to every parameter (`vmap(grad)`).
   * With `{ copy: false }` the arrays are views into the pool's shared memory, valid until the next
   * call: no allocation per call, which matters when per-sample gradients run to hundreds of MB.
   */
  perSampleGrads(x: BatchInput, y: BatchInput, options: OutputOptions = {}): Promise<PerSampleGrads<N>> {
    return perSampleGradsCall<N>(this.core, null, x, y, options);
  }

  /**
   * The batch-mean loss and gradient, reduced in a fixed order (bit-identical for any thread count).
   * A sample with a non-finite loss or gradient fails the call naming it, or with
   * `{ nonFinite: 'propagate' }` makes the mean non-finite where it is (see {@link GradientOptions}).
   */
  async gradient(x: BatchInput, y: BatchInput, options: GradientOptions = {}): Promise<MeanGradient<N>> {
    return (await meanGradient(this.core, x, y, options)) as MeanGradient<N>;
  }

  /**
   * One training step: per-sample gradients on the workers (clipped, with `dp`), a deterministic
   * reduction, optional DP noise, and the optimizer update — sharded over the workers by parameter
   * slices for large models. Parameters and optimizer state change only if the whole step succeeds.
   */
  step(x: BatchInput, y: BatchInput, options: StepOptions): Promise<StepResult> {
    return trainStep(this.core, x, y, options, this.cluster);
  }

  /**
   * Opens a virtual batch: a logical batch added as several physical batches (`await acc.add(x, y)`,
   * each staged alone in shared memory), then one step (`await acc.step()`), as Opacus's
   * `BatchMemoryManager`. The same semantics and ε as one `pool.step` on the concatenated batch, and
   * the same bits when every physical batch but the last is a multiple of `chunkSize`. Refused on a
   * multi-node pool (`cluster`). See {@link Accumulator} and README "Virtual batches".
   *
   * @example
   * ```ts
   * const acc = pool.accumulate({ optimizer, dp: { maxGradNorm: 1, noiseMultiplier: 1.1, expectedBatchSize: 512 }, chunkSize: pool.chunkSizeFor(512) });
   * for (const [x, y] of physicalBatches) await acc.add(x, y);   // e.g. 4 × 128 samples
   * const { loss, step } = await acc.step();
   * ```
   */
  accumulate(options: AccumulateOptions): Accumulator {
    if (this.cluster) throw errors.invalidOption('cluster', 'a single-node pool for accumulate (virtual batches do not run across nodes)', raw('a multi-node pool'));
    return new Accumulator(this.core, options);
  }

  /** Trains over a dataset for some epochs, like tfjs's `model.fit`. See {@link FitOptions}. */
  async fit(data: FitData, options: FitOptions): Promise<History> {
    this.core.assertOpen('fit'); // else the first step would name itself: `step: the pool is closed`
    this.core.assertNoAccumulator('fit');
    return fit(this, data, options);
  }

  /**
   * Diagnostics: what each live worker reported after its last task (tf tensor counts, for leak
   * checks), the last call's time breakdown, and the shared memory held.
   */
  override stats(): PoolStats & { cluster?: ClusterStats } {
    return { ...this.core.stats(), ...(this.cluster ? { cluster: this.cluster.stats() } : {}) };
  }

  /**
   * Stops the pool; later calls reject with `ERR_POOL_CLOSED`. Queued calls still run unless `force`;
   * a call still running after `graceMs` is ended (`ERR_ABORTED`), so close never hangs. See {@link CloseOptions}.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    await this.core.close(options);
    await this.cluster?.close();
    this.layers?.dispose();
    this.layers = null;
  }
}
