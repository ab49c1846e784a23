import * as tf from '@tensorflow/tfjs';
import { regionView } from '../src/arena.js';
import type { ModelDef } from '../src/model/define.js';
import { CTL, type ChunkTask } from '../src/protocol.js';
import { chunkRange } from '../src/shard.js';
import { SampleError, type ChunkJob, type Executor } from './executors/types.js';

/** Per-worker scratch for one chunk's per-sample grads, reused across calls (grown on demand). */
let scratch: Float32Array[] = [];
let scratchLoss = new Float32Array(0);

function scratchFor(model: ModelDef, n: number): Float32Array[] {
  const sizes = model.layout.sizes;
  if (scratch.length !== sizes.length || scratch.some((s, p) => s.length < n * sizes[p]!)) {
    scratch = sizes.map((sz) => new Float32Array(n * sz));
  }
  return scratch.map((s, p) => s.subarray(0, n * sizes[p]!));
}

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
        const g = scratchFor(model, n);
        executor.lossAndGrads(job, losses, g);
        const norms = regionView(task.regions.norms, 'f32', 'norms').subarray(s, e);
        const bad = sumIntoPartial(regionView(task.regions.partial, 'f64', 'partial'), c, model, g, losses, norms, task.clip);
        if (bad >= 0 && (badSample < 0 || s + bad < badSample)) badSample = s + bad;
      }
    }
    done++;
  }
  return { done, badSample };
}

/**
 * Adds the chunk's per-sample grads into its own row of the f64 partial-sum region, in sample order,
 * and records each sample's gradient L2 norm (over all parameters together) in `norms`. With `clip`
 * (DP-SGD), each sample's gradient is first scaled by min(1, clip / (norm + 1e-6)), as Opacus does.
 * Fixed order + float64 accumulation = the same bits whichever worker does it.
 * Returns the chunk-relative index of the first sample with a non-finite loss or gradient, or -1.
 */
function sumIntoPartial(partial: Float64Array, c: number, model: ModelDef, grads: Float32Array[], losses: Float32Array, norms: Float32Array, clip?: number): number {
  const { sizes, offsets, total } = model.layout;
  const row = partial.subarray(c * total, (c + 1) * total);
  row.fill(0);
  let bad = -1;
  for (let i = 0; i < losses.length; i++) {
    let ss = 0;
    for (let p = 0; p < sizes.length; p++) {
      const g = grads[p]!;
      for (let k = i * sizes[p]!, end = k + sizes[p]!; k < end; k++) ss += g[k]! * g[k]!;
    }
    const norm = Math.sqrt(ss);
    norms[i] = norm;
    if (!Number.isFinite(norm) || !Number.isFinite(losses[i]!)) {
      if (bad < 0) bad = i;
      continue; // keep the partial finite; the coordinator decides what a bad sample means
    }
    const f = clip === undefined ? 1 : Math.min(1, clip / (norm + 1e-6));
    for (let p = 0; p < sizes.length; p++) {
      const g = grads[p]!;
      const sz = sizes[p]!;
      const off = offsets[p]!;
      const base = i * sz;
      for (let k = 0; k < sz; k++) row[off + k] += f * g[base + k]!;
    }
  }
  return bad;
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

