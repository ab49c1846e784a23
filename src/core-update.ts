/**
 * The optimizer update of a training step, between the gradient sum and the commit: where it runs
 * (sharded over the workers, or on the coordinator), which optimizer and state halves it wrote, the
 * overflow check of what it wrote, and the commit that makes it current. `PoolCore` (core.ts) owns one
 * and keeps the regions; nothing here is current until {@link UpdatePhase.commit}.
 */
import type { Arena } from './arena.js';
import type { CallTimer } from './core-stats.js';
import type { Dispatcher } from './dispatch.js';
import type { ParamLayout } from './model/define.js';
import type { OptimizerSpec } from './optim/types.js';
import { stateSlots } from './optim/spec.js';
import type { ParamStore } from './params.js';
import { REGION, type FusedUpdate, type RegionSpec, type RuntimeSpec, type UpdateTask } from './shared/protocol.js';
import { firstNonFinite } from './shared/reduce.js';
import { updateSlice, type UpdatePlan } from './shared/update.js';
import type { OptimizerStates } from './train/opt-state.js';

/** The first non-finite value an update wrote: `what` names the parameter or optimizer state, `index` the element within it. */
export interface UpdateOverflow {
  what: string;
  index: number;
  value: number;
}

/** One optimizer update: the pool's optimizer object (its state is looked up by it) and the step's figures. */
export type UpdateSpec = Omit<UpdatePlan, 'P' | 'numChunks' | 'spec'> & { optimizer: OptimizerSpec };

/** Where the update runs: sharded over the workers by parameter slices, or on the coordinator. */
export type UpdatePlacement = 'workers' | 'coordinator';

/** Parameter elements per update slice a worker claims. */
const SLICE = 8192;

/** What an update phase works on: the core's memory, workers and timings. */
export interface UpdateContext {
  arena: Arena;
  params: ParamStore;
  optimizers: OptimizerStates;
  dispatcher: Dispatcher;
  runtime: RuntimeSpec;
  timer: CallTimer;
  /** Parameter scalars held (`PoolCore.stored`). */
  stored: number;
  layout: ParamLayout;
  /** How messages name member `k` of an ensemble (`member 2's `); empty for a single pool. */
  memberLabel(k: number): string;
}

/** The update written but not yet committed, if any (one per `PoolCore`). */
export class UpdatePhase {
  /** The optimizer whose update waits for {@link commit}. */
  private staged: OptimizerSpec | null = null;
  /** The optimizer state regions that update wrote (stateSlots order). */
  private stagedState: RegionSpec<'f32'>[] | null = null;

  constructor(private readonly c: UpdateContext) {}

  /** Drops the update waiting for a commit (a new call begins: an uncommitted one is abandoned). */
  clear(): void {
    this.staged = null;
  }

  /** The plan, region names and state halves of update `u` over `numChunks` partials (state regions allocated). */
  private prepare(numChunks: number, u: UpdateSpec) {
    const { params, optimizers } = this.c;
    const { optimizer, ...figures } = u;
    const st = optimizers.prepare(optimizer);
    // The plan crosses to the workers: the schedule (a function) is replaced by the step's resolved lr.
    const plan: UpdatePlan = { ...figures, P: this.c.stored, numChunks, spec: { ...optimizer, learningRate: u.lr } as OptimizerSpec };
    const names = { pIn: params.region.name, pOut: params.inactiveRegion.name, sIn: st.sIn.map((s) => s.name), sOut: st.sOut.map((s) => s.name) };
    return { plan, names, st, stage: () => ((this.staged = optimizer), (this.stagedState = st.sOut)) };
  }

  /**
   * Runs update `u` over the `numChunks` partials of a sumGrads, writing the gradient it applies
   * into `grad` and the inactive halves of parameters and optimizer state. `rows` (on the coordinator
   * only) holds those partials instead of the partial region: rows folded while the run ran.
   */
  async run(numChunks: number, grad: Float32Array, u: UpdateSpec, placement: UpdatePlacement, rows?: Float64Array): Promise<void> {
    const { arena, params, dispatcher, runtime, timer } = this.c;
    const P = this.c.stored;
    const { plan, names, st, stage } = this.prepare(numChunks, u);
    if (placement === 'workers') {
      if (rows) throw new Error('core: a sharded update reads the partial region, not rows of the coordinator');
      const task: UpdateTask = { type: 'update', runtime, regions: arena.handles(), plan, names, sliceSize: SLICE };
      timer.addParallel(await dispatcher.runClaimed(task, arena.view(REGION.ctl), Math.ceil(P / SLICE), 'step'));
    } else {
      const t0 = performance.now();
      const f32 = (s: RegionSpec<'f32'>) => arena.view(s, P);
      updateSlice(plan, { partial: rows ?? arena.view(REGION.partial), grad, pIn: f32(params.region), pOut: f32(params.inactiveRegion), sIn: st.sIn.map(f32), sOut: st.sOut.map(f32) }, 0, P);
      timer.add('optimizerMs', performance.now() - t0);
    }
    stage();
  }

  /**
   * Update `u` as the chunk task over `numChunks` chunks runs it, sharded, once its chunks are done
   * (ChunkTask.update: one round trip for the step instead of two). What it writes is staged for
   * {@link commit} only by the returned `ran`, called once that task has succeeded and ran it.
   */
  fused(numChunks: number, u: UpdateSpec): { update: FusedUpdate; ran: () => void } {
    const { plan, names, stage } = this.prepare(numChunks, u);
    return { update: { plan, names, sliceSize: SLICE, parties: this.c.dispatcher.parties(numChunks) }, ran: stage };
  }

  /** The first non-finite value the last {@link run} wrote (parameters first, then each optimizer slot), or null. */
  overflow(): UpdateOverflow | null {
    if (!this.staged || !this.stagedState) throw new Error('core: updateOverflow() without an update');
    const { arena, params, layout } = this.c;
    const P = this.c.stored;
    const sOut = this.stagedState;
    const written: [string, RegionSpec<'f32'>][] = [['', params.inactiveRegion], ...stateSlots(this.staged).map((slot, j): [string, RegionSpec<'f32'>] => [`optimizer state ${slot} of `, sOut[j]!])];
    for (const [prefix, spec] of written) {
      const view = arena.view(spec, P);
      const k = firstNonFinite(view);
      if (k < 0) continue;
      const { names, offsets, sizes, total } = layout;
      const j = k % total; // the element within its member's block
      const p = names.findIndex((_, i) => j >= offsets[i]! && j < offsets[i]! + sizes[i]!);
      return { what: `${prefix}${this.c.memberLabel(Math.floor(k / total))}parameter ${names[p]}`, index: j - offsets[p]!, value: view[k]! };
    }
    return null;
  }

  /** Makes the update's parameters and optimizer state current, together. */
  commit(): void {
    if (!this.staged) throw new Error('core: commit() without an update');
    this.c.params.commit();
    this.c.optimizers.commit(this.staged);
    this.staged = null;
  }
}
