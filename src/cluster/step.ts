/**
 * A training step on one node of a cluster. Every node computes the contiguous run of global chunks
 * that is its share (options.ts chunkRange, in the chain order of chainPosition), and the nodes fold
 * their partial rows in chunk order (exchange.ts), ending on rank 0. Rank 0 alone then runs the
 * update on that one row (0 + total is total exactly, so it sees the single-node gradient sum): the
 * non-finite scan, noise (drawn once), the optimizer. It broadcasts the outcome — the new parameters,
 * or "skipped" and why, or the failure — and only then commits; the followers install those bits and
 * return rank 0's StepResult. Followers hold no optimizer state.
 */
import type { PoolCore } from '../core.js';
import { GradPoolError } from '../errors.js';
import { ChunkPlan } from '../shared/chunks.js';
import { countAbove } from '../shared/reduce.js';
import { fold, type Failure, type FoldSums, type LocalPart } from './exchange.js';
import type { ClusterLink } from './node.js';
import { chainPosition, chunkRange } from './options.js';
import { chunkSetup, stepSetup, stepUpdate, type BatchSums, type StepBatch, type StepOptions, type StepResult } from '../train/step.js';
import { decodeOutcome, encodeOutcome, type Outcome } from './outcome.js';
import { KIND } from './wire.js';
import { clusterErrors } from './errors.js';

/** What a step needs of a pool's cluster membership (member.ts's ClusterMember, without its fit types). */
export interface StepCluster {
  readonly link: ClusterLink;
  readonly assembled: boolean;
  join(): Promise<unknown>;
}

/** The update reduces one row: the fold's total. */
const ONE_ROW = new ChunkPlan(1, 1);

/** An error as it travels, with its sample renumbered from this node's rows to the batch's (`first`). */
function asFailure(e: unknown, first = 0): Failure {
  if (!(e instanceof GradPoolError)) return { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
  if (e.sample === undefined) return { code: e.code, message: e.message };
  const sample = e.sample + first;
  return { code: e.code, message: e.message.replace(new RegExp(`\\bsample ${e.sample}\\b`), `sample ${sample}`), sample };
}

const asError = (f: Failure) => new GradPoolError(f.code, f.message, f.sample === undefined ? {} : { sample: f.sample });

/**
 * The rows [first, end) of a batch of `B` samples that `rank` of `nodes` computes, for the chunk plan
 * `plan` (what `fit` gathers on a node).
 *
 * @example
 * shareOf(new ChunkPlan(96, 32), 3, 0); // [64, 96]: rank 0 is last in the chain
 */
export function shareOf(plan: ChunkPlan, nodes: number, rank: number): [number, number] {
  const [c0, c1] = chunkRange(plan.count, nodes, chainPosition(nodes, rank));
  return [Math.min(plan.batch, c0 * plan.chunkSize), Math.min(plan.batch, c1 * plan.chunkSize)];
}

/** sumGrads over this node's share of `plan` (x, y: the whole batch), as the part it adds to the fold. */
async function localPart(core: PoolCore, link: ClusterLink, plan: ChunkPlan, batch: StepBatch, setup: ReturnType<typeof chunkSetup>, op: string): Promise<LocalPart> {
  const [first, end] = shareOf(plan, link.o.nodes, link.o.rank);
  const { inputSize, targetSize } = core.model;
  const part: LocalPart = { rows: 0, partial: null, loss: null, clipped: 0, badSample: -1, failure: null };
  // The step's call number keys its random draws: taken even by a node with no chunks in this batch,
  // so every node's counter stays the single pool's.
  const randomCall = core.randomCalls++;
  if (end <= first) return part;
  const { clip, nonFinite } = setup;
  const local = new ChunkPlan(end - first, plan.chunkSize);
  try {
    const r = await core.run('sumGrads', local, { x: batch.x.subarray(first * inputSize, end * inputSize), y: batch.y.subarray(first * targetSize, end * targetSize), clip: clip?.maxGradNorm, ghost: clip?.ghost, nonFinite, randomCall, randomBase: first }, op);
    Object.assign(part, { rows: local.count, partial: r.partial, loss: r.loss, clipped: clip === undefined ? 0 : countAbove(r.norms, clip.maxGradNorm), badSample: r.badSample < 0 ? -1 : r.badSample + first });
  } catch (e) {
    part.failure = asFailure(e, first);
  }
  return part;
}

/** Records the step's traffic for `pool.stats().cluster.lastStep` and moves the link to `step`. */
function done(link: ClusterLink, step: number, t0: number, sent0: number, received0: number): void {
  link.seq = step;
  link.lastStep = { step, sentBytes: link.sentBytes - sent0, receivedBytes: link.receivedBytes - received0, commMs: performance.now() - t0 };
}

/** One step on this node: rank 0 runs the update and broadcasts it; the others install it. */
export async function clusterStep(core: PoolCore, member: StepCluster, batch: StepBatch, o: StepOptions, op: string): Promise<StepResult> {
  const link = member.link;
  const step = link.seq + 1;
  const [sent0, received0] = [link.sentBytes, link.receivedBytes];
  if (link.o.rank !== 0) {
    const setup = chunkSetup(core, o, batch.B, op);
    const part = await localPart(core, link, setup.plan, batch, setup, op);
    const t0 = performance.now();
    await fold(link, step, core.model.layout.total, part);
    const out = await receiveOutcome(link, step, core.model.layout.total);
    // Rank 0's counter: its step took the same call number, unless it failed before its chunk phase.
    core.randomCalls = out.randomCalls;
    done(link, step, t0, sent0, received0);
    if (out.status === 'failed') throw asError(out.failure);
    if (out.status === 'applied') core.params.install(out.params);
    return out.result;
  }
  // Rank 0. A failure before its chunk phase (a learning-rate schedule that throws) still lets the fold
  // complete, so the followers' parts are consumed and they fail with the same error.
  let setup: ReturnType<typeof stepSetup> | null = null;
  let early: unknown = null;
  try {
    setup = stepSetup(core, o, batch.B, op);
  } catch (e) {
    early = e;
  }
  const part = setup ? await localPart(core, link, setup.plan, batch, setup, op) : { rows: 0, partial: null, loss: null, clipped: 0, badSample: -1, failure: asFailure(early) };
  const t0 = performance.now();
  let sent = false;
  const publish = (out: Outcome) => {
    sent = true;
    link.send(link.all, KIND.outcome, step, encodeOutcome(out));
  };
  try {
    const acc = (await fold(link, step, core.model.layout.total, part)) as FoldSums;
    if (early) throw early;
    if (acc.failure) throw asError(acc.failure);
    core.partials(ONE_ROW).set(acc.sum);
    const r = await stepUpdate(core, { lossSum: acc.lossSum, clipped: acc.clipped, badSample: acc.badSample, plan: ONE_ROW }, setup!, o, batch.B, op);
    const randomCalls = core.randomCalls;
    // Sent before the commit: if sending fails (the link is lost), rank 0 does not apply the step
    // either, and its checkpoint stays the last step it applied and broadcast.
    publish(r.skipped ? { status: 'skipped', result: r, randomCalls } : { status: 'applied', result: r, randomCalls, params: core.params.written() });
    if (!r.skipped) core.commit();
    done(link, step, t0, sent0, received0);
    return r;
  } catch (e) {
    if (!sent && !link.failure) {
      publish({ status: 'failed', failure: asFailure(e), randomCalls: core.randomCalls });
      done(link, step, t0, sent0, received0);
    }
    throw e;
  }
}

/** Rank 0's outcome of `step`, checked; a malformed one is counted and fails the step. */
async function receiveOutcome(link: ClusterLink, step: number, P: number): Promise<Outcome> {
  const out = decodeOutcome(await link.receive(KIND.outcome, step, 0), P);
  if (typeof out !== 'string') return out;
  link.dropped.malformed++;
  throw clusterErrors.protocol(out);
}

