/**
 * How a batch is cut into chunks. The chunk size never depends on the thread count: chunk c always
 * covers the same samples, each chunk's partial results are computed in sample order, and partials
 * are combined in chunk order (reduce.ts). That is what makes results bit-identical for any number of
 * threads — threads only change WHO computes a chunk, never WHAT is computed or in which order it is
 * summed.
 */
import type { ChunkPlanData, ExecutorName } from './protocol.js';

/** A batch of `batch` samples in `count` chunks of `chunkSize` (the last may be shorter). Built once per call. */
export class ChunkPlan implements ChunkPlanData {
  readonly count: number;

  constructor(
    readonly batch: number,
    readonly chunkSize: number,
  ) {
    this.count = Math.ceil(batch / chunkSize);
  }

  /** The plan a worker received in a task. */
  static from(d: ChunkPlanData): ChunkPlan {
    return new ChunkPlan(d.batch, d.chunkSize);
  }

  /** Sample range [start, end) of chunk `c`. */
  range(c: number): [number, number] {
    const start = c * this.chunkSize;
    return [start, Math.min(this.batch, start + this.chunkSize)];
  }
}

/** Default samples per chunk for the per-sample loop executor: small enough to balance 2–64 threads. */
export const LOOP_CHUNK_SIZE = 32;
/** Per-sample-gradient bytes a vectorized chunk aims for. */
const CHUNK_BYTES = 32 * 2 ** 20;

/**
 * The default chunk size for an executor, a model of `P` parameters and a batch of `B` samples. It
 * depends on nothing else — above all not on the thread count — so results stay bit-identical for
 * any number of threads. Vectorized chunks are large because each costs a fixed ~1–2 ms of tfjs
 * dispatch whatever its size (see docs/vectorized.md): an eighth of the batch (so up to 8 threads
 * share it), at least 32 samples, and at most as many as keep a chunk's per-sample gradients under 32 MB.
 */
export function defaultChunkSize(executor: ExecutorName, P: number, B: number): number {
  if (executor === 'loop') return LOOP_CHUNK_SIZE;
  const memCap = Math.max(32, 2 ** Math.floor(Math.log2(Math.max(1, CHUNK_BYTES / (4 * Math.max(P, 1))))));
  return Math.min(memCap, Math.max(32, Math.ceil(B / 8)));
}
