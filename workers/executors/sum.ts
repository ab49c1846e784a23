import type { ModelDef } from '../../src/model/define.js';
import { allFinite } from '../../src/shared/reduce.js';
import { SampleError, type ChunkJob, type Executor } from './types.js';

/** Per-worker scratch for one chunk's per-sample grads, reused across calls (grown on demand). */
let scratch: Float32Array[] = [];

function scratchFor(model: ModelDef, n: number): Float32Array[] {
  const sizes = model.layout.sizes;
  if (scratch.length !== sizes.length || scratch.some((s, p) => s.length < n * sizes[p]!)) scratch = sizes.map((sz) => new Float32Array(n * sz));
  return scratch.map((s, p) => s.subarray(0, n * sizes[p]!));
}

/** The chunk's samples computed before `e`'s sample threw: the first with a non-finite loss or gradient is noted on `e`. */
function noteNonFiniteBefore(e: SampleError, job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
  const sizes = job.model.layout.sizes;
  for (let i = 0; i < e.sample - job.first; i++) {
    if (!Number.isFinite(losses[i]!) || grads.some((g, p) => !allFinite(g.subarray(i * sizes[p]!, (i + 1) * sizes[p]!)))) return e.noteNonFinite(job.first + i);
  }
}

/**
 * The reference `sumGrads`: per-sample grads from `executor.lossAndGrads`, then, in sample order and
 * float64, each sample's L2 norm over all parameters (into `norms`), its DP clip factor
 * min(1, clip / (norm + 1e-6)) as Opacus computes it, and the clipped sum (into `row`, which is
 * zeroed first). A sample with a non-finite loss or norm is left out of the sum.
 * Returns the chunk-relative index of the first such sample, or -1.
 */
export function sumGradsByLoop(job: ChunkJob, executor: Executor, losses: Float32Array, norms: Float32Array, row: Float64Array, clip?: number): number {
  const { sizes, offsets } = job.model.layout;
  const grads = scratchFor(job.model, job.n);
  try {
    executor.lossAndGrads(job, losses, grads);
  } catch (e) {
    if (e instanceof SampleError) noteNonFiniteBefore(e, job, losses, grads);
    throw e;
  }
  row.fill(0);
  let bad = -1;
  for (let i = 0; i < job.n; i++) {
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
