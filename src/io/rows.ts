/**
 * Row-addressed training data: `fit` asks a {@link RowSource} for exactly the samples it trains on,
 * batch by batch, so a node of a multi-node run reads only the rows of its own chunks
 * (docs/multi-node.md). In-memory arrays are one ({@link arrayRows}); the CLI's `npy` and `csv`
 * sources are others, reading from disk (npy-rows.ts, csv-rows.ts).
 */
import { errors } from '../errors.js';
import { gatherRows } from '../train/sampler.js';

/**
 * A dataset read row by row. `read` copies samples `rows` (dataset indices, in the order given) into
 * `x` and `y`, sample-major: `rows.length · inputSize` and `rows.length · targetSize` values. It may
 * throw (a bad cell found on reading): `fit` then stops before the step that needed the row.
 *
 * @example
 * const rows = arrayRows(xs, ys, 784, 10); // 784 inputs, 10 targets per sample
 * await pool.fit(rows, { optimizer: adam(), epochs: 1, batchSize: 64 });
 */
export interface RowSource {
  /** Samples in the dataset. */
  readonly count: number;
  /** Input values per sample (the model's `inputSize`). */
  readonly inputSize: number;
  /** Target values per sample (the model's `targetSize`). */
  readonly targetSize: number;
  read(rows: Uint32Array, x: Float32Array, y: Float32Array): void;
}

/**
 * Rows of two in-memory sample-major arrays.
 *
 * @example
 * const rows = arrayRows(Float32Array.of(1, 2, 3, 4), Float32Array.of(0, 1), 2, 1); // 2 samples
 */
export function arrayRows(x: Float32Array, y: Float32Array, inputSize: number, targetSize: number): RowSource {
  const count = x.length / inputSize;
  if (!Number.isInteger(count) || y.length !== count * targetSize) throw errors.batchMismatch('y', count, 'x', y.length / targetSize);
  return {
    count,
    inputSize,
    targetSize,
    read(rows, xo, yo) {
      gatherRows(x, rows, inputSize, xo);
      gatherRows(y, rows, targetSize, yo);
    },
  };
}

/** Whether `d` is a {@link RowSource} (fit's other data forms are `{x, y}` and iterables of batches). */
export function isRowSource(d: unknown): d is RowSource {
  return d !== null && typeof d === 'object' && typeof (d as RowSource).read === 'function' && 'count' in d;
}

/** Checks a row source against the model, naming the field. */
export function checkRowSource(field: string, d: RowSource, model: { inputSize: number; targetSize: number }): void {
  if (!Number.isSafeInteger(d.count) || d.count < 1) throw errors.invalidOption(`${field}.count`, 'a positive integer (the samples in the dataset)', d.count);
  if (d.inputSize !== model.inputSize) throw errors.invalidOption(`${field}.inputSize`, `${model.inputSize} (the model's input values per sample)`, d.inputSize);
  if (d.targetSize !== model.targetSize) throw errors.invalidOption(`${field}.targetSize`, `${model.targetSize} (the model's target values per sample)`, d.targetSize);
}
