/**
 * The coordinator's chunk-order sum of a sumGrads' partial rows, taken while the workers are still
 * computing: each row is added in as soon as it and every row before it are written, so what is left
 * when the last chunk finishes is one row, not all of them. The reduction of 8 rows of an MNIST MLP
 * (P = 100k) took ~1.2 ms after a 1-thread `gradient` at B = 512 (docs/vectorized.md).
 *
 * Same bits: the rows are added in chunk order from +0 (foldPartials), which is what reducePartials
 * does over all of them at once; the folded row is then reduced as a single row, and 0 + s is s for a
 * sum that started at +0 (never -0). Only worth it with a core to spare for the coordinator
 * ({@link foldWhileRunning}): on a machine whose cores all run workers it would take time from them.
 */
import { availableParallelism } from 'node:os';
import { foldPartials } from './shared/reduce.js';
import { waitAsync } from './shared/wait-async.js';

/** Whether a pool of `threads` workers folds rows while they run: a core is left for the coordinator. */
export function foldWhileRunning(threads: number, cores = availableParallelism()): boolean {
  return waitAsync !== undefined && threads < cores;
}

/** Folds the rows of one sumGrads at a time, into an accumulator reused while the row width stays. */
export class RowFolder {
  private acc = new Float64Array(0);

  /**
   * Adds rows 0 … count − 1 of `partial` (`width` values each) into the accumulator, in order, each
   * once the workers have flagged it and every row before it (`flags[c]` ≠ 0; workers/chunks.ts sets
   * it after writing row c and notifies). Ends when every row is in (resolves to the accumulator: the
   * rows' sum) or when `run` settles first (resolves to null: a failed run leaves rows unwritten; the
   * caller takes `run`'s outcome). `flags` must be all zero when the run's tasks are posted.
   */
  async fold(flags: Int32Array, partial: Float64Array, count: number, width: number, run: Promise<unknown>): Promise<Float64Array | null> {
    if (this.acc.length === width) this.acc.fill(0);
    else this.acc = new Float64Array(width);
    let settled = false;
    let waitingOn = -1;
    // Wakes the wait below when the run ends first (a failure, or rows flagged after it was checked).
    void run.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      settled = true;
      if (waitingOn >= 0) Atomics.notify(flags, waitingOn);
    });
    let next = 0;
    while (next < count) {
      let end = next;
      while (end < count && Atomics.load(flags, end) !== 0) end++;
      if (end > next) {
        foldPartials(partial.subarray(next * width, end * width), end - next, width, this.acc);
        next = end;
        continue;
      }
      if (settled) break;
      waitingOn = next;
      const w = waitAsync!(flags, next, 0);
      if (w.async) await w.value;
      waitingOn = -1;
    }
    return next === count ? this.acc : null;
  }
}
