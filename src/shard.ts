/**
 * How a batch is cut into chunks. The chunk size never depends on the thread count: chunk c always
 * covers the same samples, each chunk's partial results are computed in sample order, and partials
 * are combined in chunk order. That is what makes results bit-identical for any number of threads —
 * threads only change WHO computes a chunk, never WHAT is computed or in which order it is summed.
 */

/** Default samples per chunk for the per-sample loop executor: small enough to balance 2–64 threads. */
export const DEFAULT_CHUNK_SIZE = 32;

/** Sample range [start, end) of chunk `c`. */
export function chunkRange(plan: { batch: number; chunkSize: number }, c: number): [number, number] {
  const start = c * plan.chunkSize;
  return [start, Math.min(plan.batch, start + plan.chunkSize)];
}
