import type * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../src/model/define.js';
import { ChunkPlan } from '../src/shared/chunks.js';
import { opViews, REGION, regionView, type ChunkTask } from '../src/shared/protocol.js';
import { claim } from './claim.js';
import { sumGradsByLoop } from './executors/sum.js';
import { SampleError, type ChunkJob, type Executor } from './executors/types.js';
import { withTraining } from '../src/model/mode.js';
import { withRandomness } from '../src/shared/random/scope.js';

/** Runs one chunk `c` covering samples [s, e). */
type ChunkWork = (job: ChunkJob, c: number, s: number, e: number) => void;

/**
 * Claims chunks of the batch until none are left (or another worker failed) and runs `task.op` on
 * each, reading and writing the shared regions in place (see src/shared/protocol.ts for the layout).
 * Returns how many chunks this worker did and the lowest non-finite sample it saw (sumGrads), or -1.
 */
export function runChunks(task: ChunkTask, model: ModelDef, executor: Executor, params: tf.Tensor[]): { done: number; badSample: number } {
  const { regions } = task;
  const plan = ChunkPlan.from(task.plan);
  const { inputSize, targetSize, layout } = model;
  const outputSize = task.outputShape.reduce((a, b) => a * b, 1);
  const x = regionView(regions, REGION.x);
  const y = task.op === 'forward' ? null : regionView(regions, REGION.y);
  let badSample = -1;
  // The op's views are made once per task, not once per chunk.
  let work: ChunkWork;
  switch (task.op) {
    case 'forward': {
      const { pred } = opViews(regions, 'forward');
      work = (job, _c, s, e) => executor.forward(job, pred.subarray(s * outputSize, e * outputSize));
      break;
    }
    case 'evaluate': {
      const { pred, loss } = opViews(regions, 'evaluate');
      work = (job, _c, s, e) => executor.losses(job, loss.subarray(s, e), pred.subarray(s * outputSize, e * outputSize));
      break;
    }
    case 'perSampleGrads': {
      const { loss, psg } = opViews(regions, 'perSampleGrads');
      const B = plan.batch;
      // One [B, ...shape] block per parameter: this chunk's rows of each.
      work = (job, _c, s, e) => executor.lossAndGrads(job, loss.subarray(s, e), layout.sizes.map((sz, p) => psg.subarray(B * layout.offsets[p]! + s * sz, B * layout.offsets[p]! + e * sz)));
      break;
    }
    case 'sumGrads': {
      const { loss, norms, partial } = opViews(regions, 'sumGrads');
      work = (job, c, s, e) => {
        const row = partial.subarray(c * layout.total, (c + 1) * layout.total);
        row.fill(0);
        const [l, nm] = [loss.subarray(s, e), norms.subarray(s, e)];
        const bad = executor.sumGrads ? executor.sumGrads(job, l, nm, row, task.clip) : sumGradsByLoop(job, executor, l, nm, row, task.clip);
        if (bad >= 0 && (badSample < 0 || s + bad < badSample)) badSample = s + bad;
      };
      break;
    }
  }
  // Gradient ops run the model in training mode (a Layers model's Dropout); forward and evaluate do not.
  const training = task.op === 'perSampleGrads' || task.op === 'sumGrads';
  // Random ops in the model draw by (seed, call, sample, ordinal), never by chunk or thread.
  const random = { mode: task.runtime.randomness, seed: task.runtime.seed, call: task.randomCall };
  try {
    const done = withRandomness(random, () =>
      claim(regionView(regions, REGION.ctl), plan.count, (c) => {
        const [s, e] = plan.range(c);
        const job: ChunkJob = { model, params, x: x.subarray(s * inputSize, e * inputSize), n: e - s, first: s };
        if (y) job.y = y.subarray(s * targetSize, e * targetSize);
        withTraining(training, () => work(job, c, s, e));
      }),
    );
    return { done, badSample };
  } catch (e) {
    // A non-finite sample of an earlier chunk outranks a later sample's throw under nonFinite 'throw'.
    if (e instanceof SampleError && badSample >= 0) e.noteNonFinite(badSample);
    throw e;
  }
}
