/**
 * Row-addressed training data: `fit` asks a {@link RowSource} for exactly the samples it trains on,
 * batch by batch, so a node of a multi-node run reads only the rows of its own chunks
 * (docs/multi-node.md). In-memory arrays are one ({@link arrayRows}); the CLI's `npy` and `csv`
 * sources are others, reading from disk (npy-rows.ts, csv-rows.ts).
 */
import { closeSync, openSync } from 'node:fs';
import { errors } from '../errors.js';
import { checkOneHot, requireFile } from './dataset.js';
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

/** A row source read from files: its sample shapes, what it has read so far, and a close for its files. */
export type FileRows = RowSource & { inputShape: number[]; targetShape: number[]; readonly stats: { rows: number; bytes: number }; close(): void };

/** What a file-backed reader provides: its sizes and one row's read (returning the bytes it read). */
export interface RowReader {
  count: number;
  inputShape: number[];
  targetShape: number[];
  /** Copies dataset row `r` into slot `j` of `x` and `y`; returns the bytes read from disk. */
  readRow(r: number, j: number, x: Float32Array, y: Float32Array): number;
}

/**
 * A {@link FileRows} over open files: `build` scans them and returns the reader; if it throws, the
 * files are closed before the error propagates (csv-rows.ts, jsonl-rows.ts, mnist-rows.ts).
 */
export function fileRows(close: () => void, build: () => RowReader): FileRows {
  try {
    const b = build();
    const stats = { rows: 0, bytes: 0 };
    const size = (shape: number[]) => shape.reduce((a, v) => a * v, 1);
    return {
      count: b.count,
      inputSize: size(b.inputShape),
      targetSize: size(b.targetShape),
      inputShape: b.inputShape,
      targetShape: b.targetShape,
      stats,
      read(rows, x, y) {
        for (let j = 0; j < rows.length; j++) {
          stats.bytes += b.readRow(rows[j]!, j, x, y);
          stats.rows++;
        }
      },
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

/** {@link fileRows} over one data file (`source.path`, checked to exist, named `${field}.path`), with its `oneHot` checked. */
export function singleFileRows(field: string, source: { path: string; oneHot?: number }, build: (fd: number, path: string, oneHot: number | undefined) => RowReader): FileRows {
  const oneHot = checkOneHot(field, source.oneHot);
  const path = `${field}.path`;
  requireFile(path, source.path);
  const fd = openSync(source.path, 'r');
  return fileRows(
    () => closeSync(fd),
    () => build(fd, path, oneHot),
  );
}
