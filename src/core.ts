/**
 * `PoolCore`, the machinery under the pools: the shared regions, parameters and optimizer state, the
 * call queue, and the three operations calls are composed of (run a chunk op, update, commit). What
 * it reports of itself (timings, stats) is core-stats.ts, the update phase between a gradient sum and
 * its commit core-update.ts.
 */
import { Arena } from './arena.js';
import { CallTimer, type CoreStats } from './core-stats.js';
import { UpdatePhase, type UpdateOverflow, type UpdatePlacement, type UpdateSpec } from './core-update.js';
import { Dispatcher } from './dispatch.js';
import { errors, type GradPoolError } from './errors.js';
import { readBatch, type BatchInput, type NDArray } from './input.js';
import { CallQueue, type CloseOptions } from './lifecycle.js';
import type { ModelDef } from './model/define.js';
import type { PoolOptions } from './options.js';
import { namedArrays, ParamStore } from './params.js';
import { ChunkPlan, defaultChunkSize } from './shared/chunks.js';
import type { ClippingChoice } from './train/clipping.js';
import { CTL } from './shared/ctl.js';
import { OP_REGIONS, REGION, type ChunkOp, type ChunkTask, type FusedUpdate, type OpOutputs, type RegionKind, type RegionSizes, type RegionSpec, type RuntimeSpec, type View, type VmapChunkResult, type VmapTask } from './shared/protocol.js';
import { reducePartials } from './shared/reduce.js';
import { foldWhileRunning, RowFolder } from './fold-rows.js';
import { prepareInputs, stageChunks } from './staging.js';
import { OptimizerStates } from './train/opt-state.js';

/** The staged inputs of a chunk op and its extras. */
export interface RunInputs {
  x: Float32Array;
  y?: Float32Array;
  /** DP: clip each sample's gradient to this L2 norm (sumGrads). */
  clip?: number | undefined;
  /**
   * sumGrads: makes a non-finite sample an error, built by this from its index. The call then fails
   * with the lowest failing sample, whether it threw or went non-finite (see dispatch.ts mergeClaimed).
   */
  nonFinite?: ((sample: number) => GradPoolError) | undefined;
  /** Reuse this call number for the model's random draws (a second pass over the same call's batch). */
  randomCall?: number | undefined;
  /** DP: clip by ghost norms where the executor can (src/train/clipping.ts). */
  ghost?: boolean | undefined;
  /** Index in the whole batch of `x`'s first sample, for the random draws (a cluster node's share of it). */
  randomBase?: number | undefined;
  /** sumGrads: the step's sharded update, run by the same task after the chunks ({@link fuseUpdate}). */
  update?: FusedUpdate | undefined;
  /**
   * sumGrads: the caller reduces the partial rows on the coordinator, so fold them in while the
   * workers compute where a core is free for it (src/fold-rows.ts); the result's `folded` is then their sum.
   */
  fold?: boolean | undefined;
}

/**
 * What {@link PoolCore.run} returns: views of what the op wrote (valid until the next call), the
 * lowest non-finite sample of a sumGrads (or -1), the call number its random draws were keyed by, and
 * the partial rows' sum where they were folded while the run ran ({@link RunInputs.fold}), else null.
 */
export type RunResult<Op extends ChunkOp> = OpOutputs<Op> & { badSample: number; randomCall: number; folded: Float64Array | null };

/**
 * The machinery under {@link GradPool}: shared memory (every region through protocol.ts's table),
 * parameters, optimizer state, the dispatcher, the call queue and the timings. Calls are composed of
 * three operations — {@link run} a chunk op, {@link update} the parameters, {@link commit} — so
 * inference (pool.ts) and training (train/step.ts) never touch memory or workers themselves.
 */
export class PoolCore {
  protected readonly arena = new Arena();
  readonly params: ParamStore;
  readonly optimizers: OptimizerStates;
  /** Calls run one at a time, in order: they share the arena. */
  private readonly calls: CallQueue;
  private readonly timer = new CallTimer();
  /** The update waiting for {@link commit}. */
  private readonly updates: UpdatePhase;
  /** Folds a sumGrads' rows while its workers run, where a core is free for it ({@link RunInputs.fold}). */
  private readonly folder = new RowFolder();
  private readonly foldsWhileRunning: boolean;
  /** Calls made so far (counted when made, not when run): orders setParams against the calls around it. */
  private callsMade = 0;
  /**
   * Calls so far that ran the model: each {@link run} takes the next number, which keys that call's
   * random draws (src/shared/random/key.ts), so two calls never share a dropout mask and a restored count
   * replays the same ones. The creation probe takes none.
   */
  randomCalls = 0;
  private clipping: ClippingChoice | null = null;
  /**
   * The open accumulator of a virtual batch (`pool.accumulate()`, src/train/accumulate.ts), if any:
   * while it is open, steps and setParams are refused (its sums belong to the current parameters).
   */
  accumulator: { describe(): string } | null = null;
  readonly outputSize: number;
  /**
   * Parameter scalars held: the model's P for one pool, K·P for an ensemble of K members (member-major:
   * member k's parameters are the k-th block of P, in layout order; src/ensemble/core.ts).
   */
  readonly stored: number;

  constructor(
    readonly model: ModelDef,
    readonly options: PoolOptions,
    protected readonly dispatcher: Dispatcher,
    protected readonly runtime: RuntimeSpec,
    /** Shape of one sample's forward output. */
    readonly outputShape: number[],
    initial: Float32Array,
    /** Why tfjs cannot differentiate the model (found at creation): gradient ops are refused with it. */
    private readonly notDifferentiable?: string,
    /** Independent copies of the parameters (an ensemble's K; 1 for a single pool). */
    readonly members = 1,
  ) {
    this.outputSize = outputShape.reduce((a, b) => a * b, 1);
    this.stored = model.layout.total * members;
    this.foldsWhileRunning = foldWhileRunning(options.threads);
    this.calls = new CallQueue(options.callTimeoutMs);
    this.params = new ParamStore(this.arena, model.layout, initial, () => this.callsMade, members);
    this.optimizers = new OptimizerStates(this.arena, this.stored);
    this.updates = new UpdatePhase({ arena: this.arena, params: this.params, optimizers: this.optimizers, dispatcher, runtime, timer: this.timer, stored: this.stored, layout: model.layout, memberLabel: (k) => this.memberLabel(k) });
    this.arena.ensure(REGION.ctl, CTL.LENGTH);
  }

  /**
   * Runs `fn` after every earlier call has finished (src/lifecycle.ts); records its timings. `signal`
   * (the call's `{ signal }` option) and the pool's `callTimeoutMs` stop it: the dispatcher sends the
   * call's stop switch with every task.
   */
  serial<T>(op: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const made = ++this.callsMade;
    return this.calls.enqueue(op, signal, async (call) => {
      // Parameters set before this call was made; those set later (while it runs) wait for the next call.
      this.params.flush(made);
      this.updates.clear();
      this.timer.start(op);
      this.dispatcher.call = call;
      try {
        const out = await fn();
        this.timer.finish();
        return out;
      } finally {
        this.dispatcher.call = null;
      }
    });
  }

  /** Refuses new calls, drains (or with `force` rejects) queued ones, then stops the workers; see {@link CloseOptions}. */
  close(options: CloseOptions = {}): Promise<void> {
    return this.calls.close(options, () => this.dispatcher.close());
  }

  assertOpen(op: string): void {
    if (this.calls.closed) throw errors.closed(op);
  }

  /** Refuses `op` while an accumulator is open (see {@link accumulator}), naming it. */
  assertNoAccumulator(op: string): void {
    if (this.accumulator) throw errors.accumulatorOpen(op, this.accumulator.describe());
  }

  stats(): CoreStats {
    return {
      workers: this.dispatcher.workerStats(),
      lastCall: this.timer.last,
      idleWorkerCrashes: this.dispatcher.idleCrashes,
      sharedBytes: this.arena.bytes,
      sharedAllocations: this.arena.allocations,
      ...(this.clipping ? { dpClipping: this.clipping } : {}),
    };
  }

  /** Records how the DP step being made clips (for {@link stats}); returns it. */
  noteClipping(c: ClippingChoice): ClippingChoice {
    this.clipping = c;
    return c;
  }

  /** Reads and checks x and y, including that their batch sizes agree. */
  readXY(op: string, x: BatchInput, y: BatchInput) {
    this.assertOpen(op);
    const xs = readBatch('x', x, this.model.inputShape);
    const ys = readBatch('y', y, this.model.targetShape);
    if (ys.batch !== xs.batch) throw errors.batchMismatch('y', xs.batch, 'x', ys.batch);
    return [xs, ys] as const;
  }

  /** Splits a flat parameter-sized vector into named, shaped copies. */
  split(flat: Float32Array): Record<string, NDArray> {
    return namedArrays(this.model.layout, flat);
  }

  /** How a batch of B is cut into chunks: the `chunkSize` option, or the default for this model and B (never the thread count). */
  plan(B: number): ChunkPlan {
    return new ChunkPlan(B, this.options.chunkSize ?? defaultChunkSize(this.options.executor, this.model.layout.total, B));
  }

  protected sizes(batch: number, chunks: number): RegionSizes {
    const m = this.model;
    return { batch, chunks, inputSize: m.inputSize, targetSize: m.targetSize, outputSize: this.outputSize, params: this.stored };
  }

  /** Allocates region `spec` for `plan` (if needed) and returns a view of exactly its length. */
  protected region<K extends RegionKind>(spec: RegionSpec<K>, plan: ChunkPlan): View<K> {
    const n = spec.length(this.sizes(plan.batch, plan.count));
    this.arena.ensure(spec, n);
    return this.arena.view(spec, n);
  }

  /** A zero-copy view of the x or y region for `batch` samples (see GradPool.inputBuffer). */
  buffer(spec: typeof REGION.x | typeof REGION.y, batch: number): Float32Array {
    if (!Number.isInteger(batch) || batch < 0) throw errors.invalidOption('batch', 'a non-negative integer', batch);
    const n = spec.length(this.sizes(batch, 0));
    this.arena.ensure(spec, n, true);
    return this.arena.view(spec, n);
  }

  /** Runs chunk op `op` over the batch of `plan` on the workers ({@link RunResult} says what it returns). */
  async run<Op extends ChunkOp>(op: Op, plan: ChunkPlan, inputs: RunInputs, label: string): Promise<RunResult<Op>> {
    if (this.notDifferentiable !== undefined && (op === 'perSampleGrads' || op === 'sumGrads')) throw errors.notDifferentiable(label, this.notDifferentiable);
    const sizes = this.sizes(plan.batch, plan.count);
    const given: [RegionSpec<'f32'>, Float32Array, number][] = [[REGION.x, inputs.x, REGION.x.length(sizes)]];
    if (inputs.y) given.push([REGION.y, inputs.y, REGION.y.length(sizes)]);
    const copies = prepareInputs(this.arena, given, plan.batch);
    const out: Record<string, ArrayBufferView> = {};
    for (const key of OP_REGIONS[op].writes) out[key] = this.region(REGION[key], plan);
    const rowsDone = out.rowsDone as Int32Array | undefined;
    rowsDone?.fill(0); // no worker of this call runs yet, and the last call's have all finished
    const task: ChunkTask = {
      type: 'chunks',
      op,
      label,
      runtime: this.runtime,
      regions: this.arena.handles(),
      paramsRegion: this.params.region.name,
      paramsVersion: this.params.version,
      plan: { batch: plan.batch, chunkSize: plan.chunkSize, count: plan.count },
      outputShape: this.outputShape,
      ...(inputs.clip !== undefined ? { clip: inputs.clip } : {}),
      ...(inputs.ghost ? { ghost: true } : {}),
      randomCall: inputs.randomCall ?? this.randomCalls++,
      ...(inputs.randomBase ? { randomBase: inputs.randomBase } : {}),
      ...(inputs.update ? { update: inputs.update } : {}),
      ...(copies.length > 0 ? { staging: true } : {}),
      ...this.taskExtras(),
    };
    const feed = copies.length > 0 ? (ctl: Int32Array) => stageChunks(ctl, plan, copies) : undefined;
    const dispatched = this.dispatcher.runClaimed(task, this.arena.view(REGION.ctl), plan.count, label, inputs.nonFinite, feed);
    // The tasks are posted and the inputs staged (runClaimed's synchronous part): fold rows as they come.
    const fold = inputs.fold && rowsDone && this.foldsWhileRunning ? this.folder.fold(rowsDone, out.partial as Float64Array, plan.count, this.stored, dispatched) : null;
    const [ran, folded] = await Promise.allSettled([dispatched, fold]);
    if (ran.status === 'rejected') throw ran.reason;
    if (folded.status === 'rejected') throw folded.reason;
    this.timer.addParallel(ran.value);
    return { ...(out as OpOutputs<Op>), badSample: ran.value.badSample, randomCall: task.randomCall, folded: folded.value };
  }

  /** Runs a `pool.vmap` call's chunks on the workers (src/pool-vmap.ts builds the task); returns every chunk's result. */
  async runVmap(task: Omit<VmapTask, 'type' | 'runtime' | 'regions'>): Promise<VmapChunkResult[]> {
    const full: VmapTask = { ...task, type: 'vmap', runtime: this.runtime, regions: this.arena.handles() };
    const r = await this.dispatcher.runClaimed(full, this.arena.view(REGION.ctl), Math.ceil(task.n / task.chunkSize), 'vmap');
    this.timer.addParallel(r);
    return r.results.flatMap((x) => x.vmap ?? []);
  }

  /** What a subclass adds to every chunk task (an ensemble: its members; src/shared/members.ts). */
  protected taskExtras(): object {
    return {};
  }

  /** The partial region's rows for `plan`: a multi-node step writes its reduced total there (src/cluster/step.ts). */
  partials(plan: ChunkPlan): Float64Array {
    return this.region(REGION.partial, plan);
  }

  /**
   * The mean of the last sumGrads' partials, `scale` × their chunk-order sum, in the reused grad
   * region; `folded`, that run's rows already summed while it ran, stands for them as one row.
   */
  reduce(plan: ChunkPlan, scale: number, folded: Float64Array | null = null): Float32Array {
    const t0 = performance.now();
    const grad = this.region(REGION.grad, plan);
    if (folded) reducePartials(folded, 1, this.stored, grad, scale);
    else reducePartials(this.arena.view(REGION.partial), plan.count, this.stored, grad, scale);
    this.timer.add('reduceMs', performance.now() - t0);
    return grad;
  }

  /**
   * The optimizer update after a sumGrads over `plan`: reduce → noise → divide → optimizer, writing
   * the gradient it applied (returned) and the inactive halves of parameters and optimizer state.
   * Nothing is current until {@link commit}: a failure before it leaves the pool as it was.
   */
  async update(plan: ChunkPlan, u: UpdateSpec, placement: UpdatePlacement, folded: Float64Array | null = null): Promise<Float32Array> {
    const grad = this.region(REGION.grad, plan);
    this.region(REGION.partial, plan); // an empty batch (DP) reduces zero rows of it
    // Rows folded while the run ran are one row (their sum) to the coordinator's update.
    if (folded && placement === 'coordinator') await this.updates.run(1, grad, u, placement, folded);
    else await this.updates.run(plan.count, grad, u, placement);
    return grad;
  }

  /**
   * {@link update} on the workers, run by the sumGrads over `plan` itself (`run`'s `inputs.update`):
   * same bits, one round trip fewer. `ran()`, once that run found no non-finite sample, stages it.
   */
  fuseUpdate(plan: ChunkPlan, u: UpdateSpec): { update: FusedUpdate; ran: () => Float32Array } {
    const grad = this.region(REGION.grad, plan); // the regions exist before run() takes their handles
    const f = this.updates.fused(plan.count, u);
    return { update: f.update, ran: () => (f.ran(), grad) };
  }

  /**
   * The first non-finite value the last {@link update} wrote (parameters first, then each optimizer
   * slot), or null. An overflowing update (a huge learning rate) must not be committed, and nothing
   * else would notice: every later call would just run on Infinity.
   */
  updateOverflow(): UpdateOverflow | null {
    return this.updates.overflow();
  }

  /** How messages name member `k` of an ensemble (`member 2's `); empty for a single pool. */
  protected memberLabel(_k: number): string {
    return '';
  }

  /** Makes the update's parameters and optimizer state current, together. */
  commit(): void {
    this.updates.commit();
  }
}
