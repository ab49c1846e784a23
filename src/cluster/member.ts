/**
 * A pool's membership in a multi-node run (`pool.cluster`): its rank, the link to the other nodes,
 * the one-time rendezvous that gives every node rank 0's starting state, and the rows of a batch this
 * node computes.
 */
import type { PoolCore } from '../core.js';
import { errors, raw } from '../errors.js';
import type { FitState } from '../train/fit.js';
import { join } from './join.js';
import { ClusterLink, type ClusterStats } from './node.js';
import { resolveCluster, type ClusterOptions } from './options.js';
import { clusterStep, shareOf } from './step.js';
import type { StepBatch, StepNode, StepOptions, StepResult } from '../train/step.js';

export class ClusterMember implements StepNode {
  private core: PoolCore | null = null;
  private joined: Promise<FitState | undefined> | null = null;

  private constructor(readonly link: ClusterLink) {}

  /** Validates the option and connects to NATS (rejecting with `ERR_CLUSTER_UNREACHABLE` naming the URL). */
  static async connect(options: ClusterOptions): Promise<ClusterMember> {
    return new ClusterMember(await ClusterLink.connect(resolveCluster(options)));
  }

  /** The pool whose state the rendezvous sends (rank 0) or replaces (the others). */
  attach(core: PoolCore): void {
    this.core = core;
  }

  get rank(): number {
    return this.link.o.rank;
  }
  get nodes(): number {
    return this.link.o.nodes;
  }
  get runId(): string {
    return this.link.o.runId;
  }
  /** Whether the run has assembled (the first step or fit joins it). */
  get assembled(): boolean {
    return this.link.members !== null;
  }

  /**
   * Joins the run once: rank 0 sends its parameters and `fit` (its starting point), the others adopt
   * rank 0's and get its fit state back. Later calls return `fit` unchanged.
   */
  join(fit?: FitState): Promise<FitState | undefined> {
    if (this.joined) return this.joined.then(() => fit);
    return (this.joined = join(this.link, this.core!, fit));
  }

  /** A step of the run on this node (cluster/step.ts): its chunks, the fold, rank 0's update and outcome. */
  step(core: PoolCore, batch: StepBatch, o: StepOptions, op: string): Promise<StepResult> {
    return clusterStep(core, this, batch, o, op);
  }

  /**
   * The rows [first, end) of a batch of `batch` samples that this node computes (and so the only rows
   * of it that `fit` reads): its contiguous run of the global chunk plan's chunks.
   *
   * @example
   * const [first, end] = pool.cluster!.share(96); // on rank 0 of 3, with chunks of 32: [64, 96]
   */
  share(batch: number): [number, number] {
    return shareOf(this.core!.plan(batch), this.nodes, this.rank);
  }

  /**
   * Refuses `op` on a follower: rank 0 alone runs the update, holds the optimizer state and broadcasts
   * the parameters after every step, so a follower's own parameters or optimizer state would be
   * overwritten, or would make its gradients disagree with rank 0's parameters.
   */
  rankZeroOnly(op: string, what: string): void {
    if (this.rank !== 0) throw errors.invalidOption(op, `a call on rank 0 of a multi-node run (rank 0 alone holds ${what})`, raw(`rank ${this.rank}`));
  }

  /** Refuses setParams on a follower, and on rank 0 once the run has assembled (the others got its parameters at the start and would not see later ones). */
  checkSetParams(): void {
    this.rankZeroOnly('setParams', 'the parameters and broadcasts them');
    if (this.assembled) throw errors.invalidOption('setParams', 'a call before the multi-node run assembles (rank 0 sends its parameters to the others at the start; later ones would not reach them)', raw(`a call at step ${this.link.seq}`));
  }

  stats(): ClusterStats {
    return this.link.stats();
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
