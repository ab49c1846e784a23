/**
 * A pool's membership in a multi-node run (`pool.cluster`): its rank, the link to the other nodes,
 * and the one-time rendezvous that gives every node rank 0's starting state.
 */
import type { OptimizerSpec } from '../optim/types.js';
import type { FitState } from '../train/fit.js';
import { join, type PoolAccess } from './join.js';
import { ClusterLink, type ClusterStats } from './node.js';
import { resolveCluster, type ClusterOptions } from './options.js';

export class ClusterMember {
  private pool: PoolAccess | null = null;
  private joined: Promise<FitState | undefined> | null = null;

  private constructor(readonly link: ClusterLink) {}

  /** Validates the option and connects to NATS (rejecting with `ERR_CLUSTER_UNREACHABLE` naming the URL). */
  static async connect(options: ClusterOptions): Promise<ClusterMember> {
    return new ClusterMember(await ClusterLink.connect(resolveCluster(options)));
  }

  /** The pool whose state the rendezvous sends (rank 0) or replaces (the others). */
  attach(pool: PoolAccess): void {
    this.pool = pool;
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
   * Joins the run once: rank 0 sends its state and `fit` (its starting point), the others adopt
   * rank 0's and get its fit state back. Later calls return `fit` unchanged.
   */
  join(optimizer: OptimizerSpec, fit?: FitState): Promise<FitState | undefined> {
    if (this.joined) return this.joined.then(() => fit);
    return (this.joined = join(this.link, this.pool!, optimizer, fit));
  }

  stats(): ClusterStats {
    return this.link.stats();
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
