/**
 * The chunk phase of a training step on one node of a cluster: this node computes the contiguous
 * run of global chunks that is its share (options.ts chunkRange), then the ranks fold their partial
 * rows in chunk order (exchange.ts). The total lands in row 0 of this node's partial region, and the
 * step's update reduces that one row: 0 + total is total exactly, so every node's update sees the
 * single-node gradient sum and computes the same parameters and optimizer state.
 */
import type { PoolCore } from '../core.js';
import { GradPoolError } from '../errors.js';
import { ChunkPlan } from '../shared/chunks.js';
import { countAbove } from '../shared/reduce.js';
import { exchange, type Failure, type LocalPart } from './exchange.js';
import type { ClusterLink } from './node.js';
import type { OptimizerSpec } from '../optim/types.js';
import { chunkRange } from './options.js';
import type { ClipSpec } from '../train/clipping.js';

/** What the chunk phase of a step found over the whole batch, and the plan the update reduces. */
export interface BatchSums {
  lossSum: number;
  clipped: number;
  badSample: number;
  plan: ChunkPlan;
}

/** What a step needs of a pool's cluster membership (member.ts's ClusterMember, without its fit types). */
export interface StepCluster {
  readonly link: ClusterLink;
  readonly assembled: boolean;
  join(optimizer: OptimizerSpec): Promise<unknown>;
}

/** The update reduces one row: the fold's total. */
const ONE_ROW = new ChunkPlan(1, 1);

/** A failure of this node's chunks, with its sample renumbered from this node's rows to the batch's. */
function asFailure(e: unknown, first: number): Failure {
  if (!(e instanceof GradPoolError)) return { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
  if (e.sample === undefined) return { code: e.code, message: e.message };
  const sample = e.sample + first;
  return { code: e.code, message: e.message.replace(new RegExp(`\\bsample ${e.sample}\\b`), `sample ${sample}`), sample };
}

/**
 * sumGrads over this node's share of the batch `plan` (x, y: the whole batch, the same on every
 * node), then the fold. Throws the step's failure, whichever node it happened on.
 */
export async function clusterSums(core: PoolCore, member: StepCluster, plan: ChunkPlan, x: Float32Array, y: Float32Array, clip: ClipSpec | undefined, nonFinite: ((s: number) => GradPoolError) | undefined, op: string): Promise<BatchSums> {
  const link = member.link;
  const P = core.model.layout.total;
  const [c0, c1] = chunkRange(plan.count, link.o.nodes, link.o.rank);
  const first = Math.min(plan.batch, c0 * plan.chunkSize);
  const end = Math.min(plan.batch, c1 * plan.chunkSize);
  const local = new ChunkPlan(end - first, plan.chunkSize);
  const { inputSize, targetSize } = core.model;
  const part: LocalPart = { rows: 0, partial: null, loss: null, clipped: 0, badSample: -1, failure: null };
  // The step's call number keys its random draws: taken even by a node with no chunks in this batch,
  // so every node's counter stays the single pool's.
  const randomCall = core.randomCalls++;
  if (end > first) {
    try {
      const r = await core.run('sumGrads', local, { x: x.subarray(first * inputSize, end * inputSize), y: y.subarray(first * targetSize, end * targetSize), clip: clip?.maxGradNorm, ghost: clip?.ghost, nonFinite, randomCall, randomBase: first }, op);
      Object.assign(part, { rows: local.count, partial: r.partial, loss: r.loss, clipped: clip === undefined ? 0 : countAbove(r.norms, clip.maxGradNorm), badSample: r.badSample < 0 ? -1 : r.badSample + first });
    } catch (e) {
      part.failure = asFailure(e, first);
    }
  }
  const t = await exchange(link, link.seq + 1, P, part);
  if (t.failure) throw new GradPoolError(t.failure.code, t.failure.message, t.failure.sample === undefined ? {} : { sample: t.failure.sample });
  core.partials(ONE_ROW).set(t.sum);
  return { lossSum: t.lossSum, clipped: t.clipped, badSample: t.badSample, plan: ONE_ROW };
}
