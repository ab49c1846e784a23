import type * as tf from '@tensorflow/tfjs';
import { regionView } from '../src/arena.js';
import type { ModelDef } from '../src/model/define.js';
import { CTL, type ChunkTask } from '../src/protocol.js';
import { chunkRange } from '../src/shard.js';
import type { ChunkJob, Executor } from './executors/types.js';

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
export function runChunks(task: ChunkTask, model: ModelDef, executor: Executor, params: tf.Tensor[]): number {
  const ctl = regionView(task.regions.ctl, 'i32', 'ctl');
  const { batch: B, chunkSize } = task;
  const numChunks = Math.ceil(B / chunkSize);
  const x = regionView(task.regions.x, 'f32', 'x');
  const { inputSize, targetSize, layout } = model;
  let done = 0;
  for (;;) {
    if (Atomics.load(ctl, CTL.ABORT) !== 0) break;
    const c = Atomics.add(ctl, CTL.CLAIM, 1);
    if (c >= numChunks) break;
    const [s, e] = chunkRange(task, c);
    const n = e - s;
    const job: ChunkJob = { model, params, x: x.subarray(s * inputSize, e * inputSize), n, first: s };
    if (task.op === 'forward') {
      const pred = regionView(task.regions.pred, 'f32', 'pred');
      executor.forward(job, pred.subarray(s * task.outputSize, e * task.outputSize));
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
        sumIntoPartial(regionView(task.regions.partial, 'f64', 'partial'), c, model, g, n);
      }
    }
    done++;
  }
  return done;
}

/**
 * Adds the chunk's per-sample grads into its own row of the f64 partial-sum region, in sample order.
 * Fixed order + float64 accumulation = the same bits whichever worker does it.
 */
function sumIntoPartial(partial: Float64Array, c: number, model: ModelDef, grads: Float32Array[], n: number): void {
  const { sizes, offsets, total } = model.layout;
  const row = partial.subarray(c * total, (c + 1) * total);
  row.fill(0);
  for (let p = 0; p < sizes.length; p++) {
    const sz = sizes[p]!;
    const off = offsets[p]!;
    const g = grads[p]!;
    for (let i = 0; i < n; i++) {
      const base = i * sz;
      for (let k = 0; k < sz; k++) row[off + k] += g[base + k]!;
    }
  }
}
