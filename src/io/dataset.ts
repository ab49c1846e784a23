/**
 * The in-memory form every data loader produces, the data-source specs a job file names, and the
 * small helpers the loaders share (file checks, one-hot encoding, shapes). Samples are flat and
 * sample-major so a whole dataset is two typed arrays that can be sliced into batches or sent to
 * workers without per-sample objects.
 */
import { statSync } from 'node:fs';
import { errors } from '../errors.js';

/** A whole dataset: sample `i`'s input is `x.subarray(i * inSize, (i + 1) * inSize)` where `inSize` is the product of `inputShape`. */
export interface Dataset {
  /** Inputs, `count * prod(inputShape)` float32 values, sample-major. */
  readonly x: Float32Array;
  /** Targets, `count * prod(targetShape)` float32 values, sample-major. */
  readonly y: Float32Array;
  /** Number of samples. */
  readonly count: number;
  /** Shape of one input sample (no batch axis). */
  readonly inputShape: readonly number[];
  /** Shape of one target sample (no batch axis); `[k]` after one-hot encoding. */
  readonly targetShape: readonly number[];
}

/**
 * CSV columns: a list of header names, or `'first:last'`, every column from `first` through `last`
 * inclusive in header order. A string that is itself a header name selects that one column.
 */
export type ColumnSelection = readonly string[] | string;

/** A CSV file with a header row. `oneHot: k` turns the single `y` column of class indices into one-hot rows of width k. */
export interface CsvSource {
  readonly format: 'csv';
  readonly path: string;
  readonly x: ColumnSelection;
  readonly y: ColumnSelection;
  readonly oneHot?: number;
  /** Field delimiter, default `','`. */
  readonly delimiter?: string;
}

/** One JSON object per line, `{"x": [...], "y": [...]}` (numbers or nested arrays; other keys are ignored). */
export interface JsonlSource {
  readonly format: 'jsonl';
  readonly path: string;
  readonly oneHot?: number;
}

/** Two `.npy` files whose leading axes are the sample axis. */
export interface NpySource {
  readonly format: 'npy';
  readonly x: string;
  readonly y: string;
  readonly oneHot?: number;
}

/** The 10,000 digits shipped in the `mnist` package, split deterministically (see `loadMnist`). */
export interface MnistSource {
  readonly format: 'mnist';
  readonly split: 'train' | 'test';
  readonly limit?: number;
}

/** Any data source a job file can name; `format` discriminates. */
export type DataSource = CsvSource | JsonlSource | NpySource | MnistSource;

/** Product of a shape's dimensions (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws `field: file not found: /abs` (or `not a file`) so the message names the job field, not an ENOENT. */
export function requireFile(field: string, file: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw errors.jobInvalid(field, `file not found: ${file}`);
  }
  if (!isFile) throw errors.jobInvalid(field, `not a file: ${file}`);
}

/**
 * Validates class indices and expands them to one-hot rows of width `k`. `where(i)` describes sample
 * `i` for the message (`row 5 column "label"`), so each loader keeps its own notion of position.
 */
export function oneHotEncode(field: string, labels: ArrayLike<number>, k: number, where: (i: number) => string): Float32Array {
  const out = new Float32Array(labels.length * k);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= k) throw errors.dataInvalid(field, `${where(i)}: not a class index in [0, ${k}): ${c}`);
    out[i * k + c] = 1;
  }
  return out;
}

/** Checks the `oneHot` option itself; a width below 2 is always a mistake. */
export function checkOneHot(field: string, k: unknown): number | undefined {
  if (k === undefined) return undefined;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 2) throw errors.invalidOption(`${field}.oneHot`, 'an integer >= 2 (the number of classes)', k);
  return k;
}

/** Assembles a Dataset after checking the arrays agree with the shapes (a loader bug, not a user error, if not). */
export function makeDataset(x: Float32Array, y: Float32Array, count: number, inputShape: number[], targetShape: number[]): Dataset {
  if (x.length !== count * sizeOf(inputShape)) throw errors.shape('x', [count, ...inputShape], [x.length]);
  if (y.length !== count * sizeOf(targetShape)) throw errors.shape('y', [count, ...targetShape], [y.length]);
  return { x, y, count, inputShape, targetShape };
}
