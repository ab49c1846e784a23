import type * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../src/model/define.js';
import { ChunkPlan } from '../src/shared/chunks.js';
import { opViews, REGION, regionView } from '../src/shared/protocol.js';
import { encodeSample, type MemberChunkTask } from '../src/shared/members.js';
import { claim } from './claim.js';
import { CTL } from '../src/shared/ctl.js';
import { sumGradsByLoop } from './executors/sum.js';
import { SampleError, type ChunkJob, type Executor } from './executors/types.js';
import { withTraining } from '../src/model/mode.js';
import { withRandomness } from '../src/shared/random/scope.js';

/** Runs member `k`'s part of chunk `c`, covering samples [s, e). */
type ChunkWork = (job: ChunkJob, k: number, c: number, s: number, e: number) => void;

/**
 * Claims chunks of the batch until none are left (or another worker failed) and runs `task.op` on
 * each, reading and writing the shared regions in place (see src/shared/protocol.ts for the layout).
 * An ensemble's task runs every member on each chunk it claims, in member order, on the one copy of
 * the chunk's inputs (src/shared/members.ts has the member-major layout; one member is a single pool).
 * Returns how many chunks this worker did and the lowest non-finite sample it saw (sumGrads), or -1;
 * for an ensemble, samples are encoded with their member (encodeSample).
 */
export function runChunks(task: MemberChunkTask, model: ModelDef, executor: Executor, params: tf.Tensor[][]): { done: number; badSample: number } {
  const { regions } = task;
  const plan = ChunkPlan.from(task.plan);
  const { inputSize, targetSize, layout } = model;
  const K = task.members?.count ?? 1;
  const seeds = task.members?.seeds ?? [task.runtime.seed];
  const B = plan.batch;
  const outputSize = task.outputShape.reduce((a, b) => a * b, 1);
  const x = regionView(regions, REGION.x);
  const y = task.op === 'forward' ? null : regionView(regions, REGION.y);
  let badSample = -1;
  // The op's views are made once per task, not once per chunk. Member k's rows start at k·B.
  let work: ChunkWork;
  switch (task.op) {
    case 'forward': {
      const { pred } = opViews(regions, 'forward');
      work = (job, k, _c, s, e) => executor.forward(job, pred.subarray((k * B + s) * outputSize, (k * B + e) * outputSize));
      break;
    }
    case 'evaluate': {
      const { pred, loss } = opViews(regions, 'evaluate');
      work = (job, k, _c, s, e) => executor.losses(job, loss.subarray(k * B + s, k * B + e), pred.subarray((k * B + s) * outputSize, (k * B + e) * outputSize));
      break;
    }
    case 'perSampleGrads': {
      const { loss, psg } = opViews(regions, 'perSampleGrads');
      // One [K, B, ...shape] block per parameter: this member's, this chunk's rows of each.
      const at = (k: number, p: number, s: number) => K * B * layout.offsets[p]! + (k * B + s) * layout.sizes[p]!;
      work = (job, k, _c, s, e) => executor.lossAndGrads(job, loss.subarray(k * B + s, k * B + e), layout.sizes.map((_, p) => psg.subarray(at(k, p, s), at(k, p, e))));
      break;
    }
    case 'sumGrads': {
      const { loss, norms, partial } = opViews(regions, 'sumGrads');
      const P = layout.total;
      work = (job, k, c, s, e) => {
        const row = partial.subarray((c * K + k) * P, (c * K + k + 1) * P); // written whole by sumGrads
        const [l, nm] = [loss.subarray(k * B + s, k * B + e), norms.subarray(k * B + s, k * B + e)];
        const bad = executor.sumGrads ? executor.sumGrads(job, l, nm, row, task.clip) : sumGradsByLoop(job, executor, l, nm, row, task.clip);
        const code = bad >= 0 ? encodeSample(s + bad, k, K) : -1;
        if (code >= 0 && (badSample < 0 || code < badSample)) badSample = code;
      };
      break;
    }
  }
  // Gradient ops run the model in training mode (a Layers model's Dropout); forward and evaluate do not.
  const training = task.op === 'perSampleGrads' || task.op === 'sumGrads';
  // Random ops in the model draw by (seed, call, sample, ordinal), never by chunk or thread; member k
  // draws with its own pool's seed.
  const random = seeds.map((seed) => ({ mode: task.runtime.randomness, seed, call: task.randomCall, base: task.randomBase ?? 0 }));
  const ctl = regionView(regions, REGION.ctl);
  // A chunk's rows (every member's) are written: flag it, so the coordinator can fold it in (src/fold-rows.ts).
  const rowsDone = task.op === 'sumGrads' ? regionView(regions, REGION.rowsDone) : null;
  try {
    const done = claim(ctl, plan.count, (c) => {
      const [s, e] = plan.range(c);
      for (let k = 0; k < K; k++) {
        const job: ChunkJob = { model, params: params[k]!, x: x.subarray(s * inputSize, e * inputSize), n: e - s, first: s, ...(task.ghost ? { ghost: true } : {}) };
        if (y) job.y = y.subarray(s * targetSize, e * targetSize);
        try {
          withRandomness(random[k]!, () => withTraining(training, () => work(job, k, c, s, e)));
        } catch (err) {
          throw K > 1 && err instanceof SampleError ? new SampleError(encodeSample(err.sample, k, K), err.message) : err;
        }
      }
      if (rowsDone) {
        Atomics.store(rowsDone, c, 1);
        Atomics.notify(rowsDone, c);
      }
    }, CTL.CLAIM, task.staging === true);
    return { done, badSample };
  } catch (e) {
    // A non-finite sample of an earlier chunk outranks a later sample's throw under nonFinite 'throw'.
    if (e instanceof SampleError && badSample >= 0) e.noteNonFinite(badSample);
    throw e;
  }
}
