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
  // Views are made once per task; only the regions this op uses exist in every task's handles.
  const f32 = (name: string) => regionView(task.regions[name], 'f32', name);
  const x = f32('x');
  const isForward = task.op === 'forward' || task.op === 'evaluate';
  const pred = isForward ? f32('pred') : null;
  const y = task.op === 'forward' ? null : f32('y');
  const loss = task.op === 'forward' ? null : f32('loss');
  const psg = task.op === 'perSampleGrads' ? f32('psg') : null;
  const norms = task.op === 'sumGrads' ? f32('norms') : null;
  const partial = task.op === 'sumGrads' ? regionView(task.regions.partial, 'f64', 'partial') : null;
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
    if (y) job.y = y.subarray(s * targetSize, e * targetSize);
    if (pred) {
      const out = pred.subarray(s * task.outputSize, e * task.outputSize);
      executor.forward(job, out);
      if (loss) lossesOf(job, task.outputShape ?? [task.outputSize], out, job.y!, loss.subarray(s, e));
    } else {
      const losses = loss!.subarray(s, e);
      if (psg) {
        const views = layout.sizes.map((sz, p) => {
          const base = B * layout.offsets[p]!;
          return psg.subarray(base + s * sz, base + e * sz);
        });
        executor.lossAndGrads(job, losses, views);
      } else {
        const sampleNorms = norms!.subarray(s, e);
        const row = partial!.subarray(c * layout.total, (c + 1) * layout.total);
        row.fill(0);
        const bad = executor.sumGrads ? executor.sumGrads(job, losses, sampleNorms, row, task.clip) : sumGradsByLoop(job, executor, losses, sampleNorms, row, task.clip);
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

