import * as tf from '@tensorflow/tfjs';
import { regionView } from '../src/arena.js';
import type { ModelDef } from '../src/model/define.js';
import { CTL, type ChunkTask } from '../src/protocol.js';
import { chunkRange } from '../src/shard.js';
import { sumGradsByLoop } from './executors/sum.js';
import { SampleError, type ChunkJob, type Executor } from './executors/types.js';

/**
 * Claims chunks from the shared counter until none are left (or another worker failed) and runs `op`
 * on each, writing straight into the shared regions. Returns how many chunks this worker did.
 *
 * Regions (see docs/architecture.md): x [B,in], y [B,tgt], pred [B,out], loss [B],
 * psg (per-sample grads, one [B,…shape] block per parameter), partial (f64 [numChunks, P]).
 */
export function runChunks(task: ChunkTask, model: ModelDef, executor: Executor, params: tf.Tensor[]): { done: number; badSample: number } {
  const ctl = regionView(task.regions.ctl, 'i32', 'ctl');
  const { batch: B, chunkSize } = task;
  const numChunks = Math.ceil(B / chunkSize);
  const x = regionView(task.regions.x, 'f32', 'x');
  const { inputSize, targetSize, layout } = model;
  let done = 0;
  let badSample = -1;
  for (;;) {
    if (Atomics.load(ctl, CTL.ABORT) !== 0) break;
    const c = Atomics.add(ctl, CTL.CLAIM, 1);
    if (c >= numChunks) break;
    const [s, e] = chunkRange(task, c);
    const n = e - s;
    const job: ChunkJob = { model, params, x: x.subarray(s * inputSize, e * inputSize), n, first: s };
    if (task.op === 'forward' || task.op === 'evaluate') {
      const pred = regionView(task.regions.pred, 'f32', 'pred').subarray(s * task.outputSize, e * task.outputSize);
      executor.forward(job, pred);
      if (task.op === 'evaluate') {
        const y = regionView(task.regions.y, 'f32', 'y').subarray(s * targetSize, e * targetSize);
        lossesOf(job, task.outputShape ?? [task.outputSize], pred, y, regionView(task.regions.loss, 'f32', 'loss').subarray(s, e));
      }
    } else {
      job.y = regionView(task.regions.y, 'f32', 'y').subarray(s * targetSize, e * targetSize);
      const losses = regionView(task.regions.loss, 'f32', 'loss').subarray(s, e);
      if (task.op === 'perSampleGrads') {
        const psg = regionView(task.regions.psg, 'f32', 'psg');
        const views = layout.sizes.map((sz, p) => {
          const base = B * layout.offsets[p]!;
          return psg.subarray(base + s * sz, base + e * sz);
        });
        executor.lossAndGrads(job, losses, views);
      } else {
        const norms = regionView(task.regions.norms, 'f32', 'norms').subarray(s, e);
        const row = regionView(task.regions.partial, 'f64', 'partial').subarray(c * layout.total, (c + 1) * layout.total);
        row.fill(0);
        const bad = executor.sumGrads ? executor.sumGrads(job, losses, norms, row, task.clip) : sumGradsByLoop(job, executor, losses, norms, row, task.clip);
        if (bad >= 0 && (badSample < 0 || s + bad < badSample)) badSample = s + bad;
      }
    }
    done++;
  }
  return { done, badSample };
}

/** Per-sample losses of already computed predictions (evaluation needs no gradients). */
function lossesOf(job: ChunkJob, predShape: number[], pred: Float32Array, y: Float32Array, out: Float32Array): void {
  const { model, n } = job;
  const outSize = pred.length / n;
  for (let i = 0; i < n; i++) {
    try {
      out[i] = tf.tidy(() => {
        const l = model.loss(tf.tensor(pred.slice(i * outSize, (i + 1) * outSize), predShape), tf.tensor(y.slice(i * model.targetSize, (i + 1) * model.targetSize), model.targetShape as number[]));
        return l.dataSync()[0]!;
      });
    } catch (e) {
      throw new SampleError(job.first + i, (e as Error).message);
    }
  }
}

