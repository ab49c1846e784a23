/**
 * `fit`'s `physicalBatchSize`: each logical batch (Poisson, shuffled or given) runs as physical
 * batches of at most that many samples through an accumulator, then one step. Each physical batch is
 * gathered straight into the pool's reused input buffers, so shared memory holds one physical batch's
 * inputs, never the logical batch's. The accumulator cuts chunks as `pool.step` on the logical batch
 * would (`chunkSizeFor(B)`), so a `physicalBatchSize` that is a multiple of it gives the same bits.
 */
import { errors } from '../errors.js';
import { readBatch, type BatchInput } from '../input.js';
import type { ModelDef } from '../model/define.js';
import { AS_FIT_STEP, ERRORS_AS, type AccumulateOptions, type Accumulator } from './accumulate.js';
import type { RowSource } from '../io/rows.js';
import type { StepOptions, StepResult } from './step.js';

/** What a pool needs to run a logical batch in physical batches ({@link GradPool} is one). */
export interface Accumulating {
  accumulate(options: AccumulateOptions): Accumulator;
  chunkSizeFor(batch: number): number;
  inputBuffer(batch: number): Float32Array;
  targetBuffer(batch: number): Float32Array;
}

/** A logical batch of `size` samples that hands out its physical batches one at a time. */
export interface LogicalBatch {
  size: number;
  slice(lo: number, hi: number): { x: BatchInput; y: BatchInput };
}

/** Dataset rows `idx` of a row source, each physical batch read into the pool's input buffers when it is needed. */
export function datasetRows(pool: Accumulating, rows: RowSource, idx: Uint32Array): LogicalBatch {
  return {
    size: idx.length,
    slice: (lo, hi) => {
      const bx = pool.inputBuffer(hi - lo);
      const by = pool.targetBuffer(hi - lo);
      rows.read(idx.subarray(lo, hi), bx, by);
      return { x: bx, y: by };
    },
  };
}

/** A batch an iterable gave (read and checked once, as a step would), cut into physical batches. */
export function givenBatch(x: BatchInput, y: BatchInput, m: ModelDef): LogicalBatch {
  const xs = readBatch('x', x, m.inputShape);
  const ys = readBatch('y', y, m.targetShape);
  if (ys.batch !== xs.batch) throw errors.batchMismatch('y', xs.batch, 'x', ys.batch);
  return {
    size: xs.batch,
    slice: (lo, hi) => ({ x: xs.data.subarray(lo * m.inputSize, hi * m.inputSize), y: ys.data.subarray(lo * m.targetSize, hi * m.targetSize) }),
  };
}

/**
 * One step over `batch` in physical batches of at most `physicalBatchSize` samples. Its errors read
 * as a step's; on failure the accumulator is discarded, so nothing of the logical batch remains.
 */
export async function physicalStep(pool: Accumulating, batch: LogicalBatch, o: StepOptions, physicalBatchSize: number): Promise<StepResult> {
  const { signal, ...step } = o;
  const call = signal ? { signal } : {};
  const acc = pool.accumulate({ ...step, chunkSize: pool.chunkSizeFor(batch.size), [ERRORS_AS]: AS_FIT_STEP });
  try {
    // Each add is awaited before the next physical batch is gathered: they share the input buffers.
    for (let lo = 0; lo < batch.size; lo += physicalBatchSize) {
      const { x, y } = batch.slice(lo, Math.min(batch.size, lo + physicalBatchSize));
      await acc.add(x, y, call);
    }
    return await acc.step(call);
  } finally {
    acc.discard(); // after a step: nothing to do
  }
}
