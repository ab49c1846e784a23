import { Arena } from './arena.js';
import { Dispatcher, type WorkerStats } from './dispatch.js';
import { errors } from './errors.js';
import { readBatch, readExact, type BatchInput, type NDArray } from './input.js';
import { initParams, type ModelDef } from './model/define.js';
import { loadModel, modelHref } from './model/load.js';
import { resolveOptions, type GradPoolOptions, type ResolvedOptions } from './options.js';
import { ParamStore, type ParamValue } from './params.js';
import { CTL, type ChunkOp } from './protocol.js';
import { orderedSum, reducePartials } from './reduce.js';
import { planShards } from './shard.js';

/**
 * Where the time of the last call went, in ms. `computeMs` is the busiest worker's time in the
 * executor; `dispatchMs` is the rest of the parallel phase (messaging, waking workers, imbalance).
 */
export interface CallTimings {
  op: string;
  totalMs: number;
  dispatchMs: number;
  computeMs: number;
  reduceMs: number;
  optimizerMs: number;
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

/**
 * A pool of worker threads that runs a single-sample model over batches: batched inference,
 * per-sample gradients, and batch-mean gradients, with results bit-identical for any thread count.
 *
 * @example
 * ```ts
 * const pool = await GradPool.create({ model: new URL('./model.js', import.meta.url), threads: 2, seed: 7 });
 * const pred = await pool.predict(x);                          // x: [B,3,2] -> [B,1]
 * const { losses, grads } = await pool.perSampleGrads(x, y);   // grads.W: [B,3,2,1]
 * const { loss, grads: mean } = await pool.gradient(x, y);     // mean over the batch
 * await pool.close();
 * ```
 */
export class GradPool {
  protected readonly arena = new Arena();
  protected readonly params: ParamStore;
  /** Calls run one at a time, in order: they share the arena. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Filled in by each call; see {@link CallTimings}. */
  protected timings: CallTimings | null = null;
  private pendingTimings: CallTimings | null = null;

  protected constructor(
    readonly model: ModelDef,
    readonly options: ResolvedOptions,
    protected readonly dispatcher: Dispatcher,
    /** Shape of one sample's forward output. */
    readonly outputShape: number[],
  ) {
    this.params = new ParamStore(this.arena, model.layout, initParams(model, options.seed));
    this.arena.ensure('ctl', 'i32', CTL.LENGTH);
  }

  /**
   * Starts the workers, loads the model in each, and initialises the parameters from `seed`.
   * Rejects with a message naming the module if the model cannot be loaded.
   */
  static async create(options: GradPoolOptions): Promise<GradPool> {
    const o = resolveOptions(options);
    const href = modelHref(o.model);
    const model = await loadModel(href);
    const dispatcher = new Dispatcher(o.threads, { model: href, backend: o.backend, backendModule: o.backendModule, executor: o.executor }, o.resourceLimits);
    try {
      await dispatcher.warmup();
      const described = await dispatcher.runOne({ type: 'describe', runtime: dispatcher.runtime }, 'create');
      return new this(model, o, dispatcher, described.outputShape!);
    } catch (e) {
      await dispatcher.close();
      throw e;
    }
  }

  get threads(): number {
    return this.options.threads;
  }

  /** A copy of the current parameters, by name. */
  getParams(): Record<string, NDArray> {
    return this.params.get();
  }

  /** Replaces some or all parameters. Validated in full before anything changes; takes effect for the next call. */
  setParams(values: Record<string, ParamValue>): void {
    this.assertOpen('setParams');
    this.params.set(values, readExact);
  }

  /**
   * A zero-copy input buffer for `batch` samples: fill it and pass it to `predict`/`perSampleGrads`/
   * `gradient` to skip the copy into shared memory. Valid until a call with a larger batch; do not fill
   * it while a call is in flight.
   */
  inputBuffer(batch: number): Float32Array {
    return this.buffer('x', batch, this.model.inputSize);
  }

  /** The target-side twin of {@link inputBuffer}. */
  targetBuffer(batch: number): Float32Array {
    return this.buffer('y', batch, this.model.targetSize);
  }

  /** Batched forward pass: `[B, ...inputShape]` → `[B, ...outputShape]`. */
  async predict(x: BatchInput): Promise<NDArray> {
    const op = 'predict';
    this.assertOpen(op);
    const xs = readBatch('x', x, this.model.inputShape);
    const outSize = this.outputShape.reduce((a, b) => a * b, 1);
    return this.serial(op, async () => {
      if (xs.batch === 0) return { shape: [0, ...this.outputShape], data: new Float32Array(0) };
      this.stage(xs.batch, xs.data);
      this.arena.ensure('pred', 'f32', xs.batch * outSize);
      await this.run('forward', xs.batch, op, outSize);
      return { shape: [xs.batch, ...this.outputShape], data: this.arena.f32('pred', xs.batch * outSize).slice() };
    });
  }

  /** Every sample's loss and gradient with respect to every parameter (`vmap(grad)`). */
  async perSampleGrads(x: BatchInput, y: BatchInput): Promise<PerSampleGrads> {
    const op = 'perSampleGrads';
    const [xs, ys] = this.readXY(op, x, y);
    const { names, shapes, sizes, offsets, total } = this.model.layout;
    return this.serial(op, async () => {
      const B = xs.batch;
      if (B > 0) {
        this.stage(B, xs.data, ys.data);
        this.arena.ensure('psg', 'f32', B * total);
        await this.run('perSampleGrads', B, op);
      }
      const psg = B > 0 ? this.arena.f32('psg', B * total) : new Float32Array(0);
      const grads: Record<string, NDArray> = {};
      names.forEach((n, p) => (grads[n] = { shape: [B, ...shapes[p]!], data: psg.slice(B * offsets[p]!, B * (offsets[p]! + sizes[p]!)) }));
      return { losses: { shape: [B], data: B > 0 ? this.arena.f32('loss', B).slice() : new Float32Array(0) }, grads };
    });
  }

  /** The batch-mean loss and gradient, reduced in a fixed order (bit-identical for any thread count). */
  async gradient(x: BatchInput, y: BatchInput): Promise<MeanGradient> {
    const op = 'gradient';
    const [xs, ys] = this.readXY(op, x, y);
    return this.serial(op, async () => {
      const B = xs.batch;
      const mean = new Float32Array(this.model.layout.total);
      if (B === 0) return { loss: NaN, grads: this.split(mean), batch: 0 };
      const loss = await this.sumGrads(op, B, xs.data, ys.data, mean, 1 / B);
      return { loss, grads: this.split(mean), batch: B };
    });
  }

  /**
   * Diagnostics: what each live worker reported after its last task (tf tensor counts, for leak
   * checks), and the shared memory held (allocations stop growing once the batch sizes settle).
   */
  stats(): PoolStats {
    return {
      workers: this.dispatcher.workerStats(),
      lastCall: this.timings,
      idleWorkerCrashes: this.dispatcher.idleCrashes,
      sharedBytes: this.arena.bytes,
      sharedAllocations: this.arena.allocations,
    };
  }

  /** Stops the workers. Later calls reject with a "pool is closed" error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.dispatcher.close();
  }

  // ---- internals shared with the training layer -------------------------------------------------

  /** Runs the chunked sum of per-sample grads; writes `scale * Σ grads` into `out`, returns mean loss. */
  protected async sumGrads(op: string, B: number, x: Float32Array, y: Float32Array, out: Float32Array | Float64Array, scale: number): Promise<number> {
    const plan = planShards(B, this.options.chunkSize);
    this.stage(B, x, y);
    this.arena.ensure('partial', 'f64', plan.numChunks * this.model.layout.total);
    await this.run('sumGrads', B, op);
    const t0 = performance.now();
    reducePartials(this.arena.f64('partial'), plan.numChunks, this.model.layout.total, scale, out);
    const loss = orderedSum(this.arena.f32('loss', B)) / B;
    this.time('reduceMs', performance.now() - t0);
    return loss;
  }

  protected readXY(op: string, x: BatchInput, y: BatchInput) {
    this.assertOpen(op);
    const xs = readBatch('x', x, this.model.inputShape);
    const ys = readBatch('y', y, this.model.targetShape);
    if (ys.batch !== xs.batch) throw errors.batchMismatch('y', xs.batch, 'x', ys.batch);
    return [xs, ys] as const;
  }

  protected split(flat: Float32Array): Record<string, NDArray> {
    const { names, shapes, offsets, sizes } = this.model.layout;
    const out: Record<string, NDArray> = {};
    names.forEach((n, p) => (out[n] = { shape: [...shapes[p]!], data: flat.slice(offsets[p]!, offsets[p]! + sizes[p]!) }));
    return out;
  }

  protected serial<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.closed) throw errors.closed(op);
      this.params.flush();
      const t0 = performance.now();
      this.pendingTimings = { op, totalMs: 0, dispatchMs: 0, computeMs: 0, reduceMs: 0, optimizerMs: 0 };
      const out = await fn();
      this.timings = { ...this.pendingTimings, totalMs: performance.now() - t0 };
      return out;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  protected assertOpen(op: string): void {
    if (this.closed) throw errors.closed(op);
  }

  /** Copies x (and y) into the shared regions, unless the caller filled our own buffers. */
  protected stage(B: number, x: Float32Array, y?: Float32Array): void {
    const { inputSize, targetSize } = this.model;
    this.copyIn('x', x, B * inputSize);
    if (y) this.copyIn('y', y, B * targetSize);
    this.arena.ensure('loss', 'f32', B);
  }

  private copyIn(name: string, src: Float32Array, n: number): void {
    if (this.arena.has(name) && src.buffer === this.arena.f32(name).buffer && src.byteOffset === 0) return;
    this.arena.ensure(name, 'f32', n);
    this.arena.f32(name, n).set(src.subarray(0, n));
  }

  private buffer(name: string, batch: number, sampleSize: number): Float32Array {
    if (!Number.isInteger(batch) || batch < 0) throw errors.invalidOption('batch', 'a non-negative integer', batch);
    this.arena.ensure(name, 'f32', batch * sampleSize, true);
    return this.arena.f32(name, batch * sampleSize);
  }

  /** Adds `ms` to a field of the current call's timings. */
  protected time(field: 'dispatchMs' | 'computeMs' | 'reduceMs' | 'optimizerMs', ms: number): void {
    if (this.pendingTimings) this.pendingTimings[field] += ms;
  }

  protected async run(op: ChunkOp, B: number, publicOp: string, outputSize = 0): Promise<void> {
    const fields = { paramsRegion: this.params.region, paramsVersion: this.params.version, batch: B, chunkSize: this.options.chunkSize, outputSize };
    const t = await this.dispatcher.runChunks(op, this.arena, fields, publicOp);
    this.time('computeMs', t.computeMs);
    this.time('dispatchMs', t.wallMs - t.computeMs);
  }
}
