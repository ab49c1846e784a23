import { PoolCore, type RunInputs, type RunResult } from '../core.js';
import type { Dispatcher } from '../dispatch.js';
import { GradPoolError } from '../errors.js';
import type { ModelDef } from '../model/define.js';
import type { PoolOptions } from '../options.js';
import type { ChunkPlan } from '../shared/chunks.js';
import { decodeSample, type MemberSpec } from '../shared/members.js';
import { REGION, type ChunkOp, type RegionKind, type RegionSpec, type RuntimeSpec, type View } from '../shared/protocol.js';

/** A sample failure of an ensemble: which member, and which sample of the batch. */
export type MemberError = GradPoolError & { member?: number };

/** Regions with one row per sample per member ([K, B, …]); the parameter-sized ones are K·P through `stored`. */
const PER_MEMBER_ROWS: readonly RegionSpec[] = [REGION.pred, REGION.loss, REGION.norms];

/**
 * The machinery under {@link EnsemblePool}: a {@link PoolCore} whose parameters, optimizer state and
 * outputs hold K members, member-major (src/shared/members.ts has the layout). One call is one task
 * per worker, as for a single pool: each claimed chunk runs every member on the one copy of its
 * inputs, and one update phase updates every member's slice of the stacked vector.
 */
export class EnsembleCore extends PoolCore {
  /** The members' seeds: member k is seeded as a single pool with `seed + k`. */
  readonly seeds: number[];

  constructor(model: ModelDef, options: PoolOptions, dispatcher: Dispatcher, runtime: RuntimeSpec, outputShape: number[], initial: Float32Array, notDifferentiable: string | undefined, K: number) {
    super(model, options, dispatcher, runtime, outputShape, initial, notDifferentiable, K);
    this.seeds = Array.from({ length: K }, (_, k) => options.seed + k);
  }

  protected override region<K extends RegionKind>(spec: RegionSpec<K>, plan: ChunkPlan): View<K> {
    if (!PER_MEMBER_ROWS.includes(spec)) return super.region(spec, plan);
    const n = this.members * spec.length(this.sizes(plan.batch, plan.count));
    this.arena.ensure(spec, n);
    return this.arena.view(spec, n);
  }

  protected override taskExtras(): { members: MemberSpec } {
    return { members: { count: this.members, seeds: this.seeds } };
  }

  protected override memberLabel(k: number): string {
    return `member ${k}'s `;
  }

  /** As {@link PoolCore.run}; a failing sample is named with its member (workers encode both in one number). */
  override async run<Op extends ChunkOp>(op: Op, plan: ChunkPlan, inputs: RunInputs, label: string): Promise<RunResult<Op>> {
    try {
      return await super.run(op, plan, inputs, label);
    } catch (e) {
      throw e instanceof GradPoolError && e.sample !== undefined ? this.memberError(e) : e;
    }
  }

  /**
   * `e` (whose `sample` encodes a sample and its member) as the error of that member: its message says
   * `member 2, sample 5` where a single pool's says `sample 5`, and `sample` is the index in the batch.
   */
  memberError(e: GradPoolError): MemberError {
    const { sample, member } = decodeSample(e.sample!, this.members);
    const out: MemberError = new GradPoolError(e.code, e.message.replace(`sample ${e.sample}`, `member ${member}, sample ${sample}`), { sample, cause: e.cause });
    out.member = member;
    return out;
  }
}
