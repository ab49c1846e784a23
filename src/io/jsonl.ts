/**
 * JSON-lines loader: one `{"x": ..., "y": ...}` object per line, where x and y are numbers or
 * (nested, rectangular) arrays of numbers. The shapes are the ones most lines have (the earliest
 * on a tie), so one short line is blamed on itself even when it is the first; every error names the
 * 1-based line number and the element (`line 3: x[1][0]: ...`).
 */
import { readFile } from 'node:fs/promises';
import { errors, fmtValue } from '../errors.js';
import { checkOneHot, type Dataset, type JsonlSource, makeDataset, oneHotEncode, requireFile } from './dataset.js';

/** Shape of a nested array, read along its first elements; `flatten` then checks every element agrees. */
export function shapeOf(v: unknown): number[] {
  const shape: number[] = [];
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

/** Appends `v` (checked to have `shape`) to `out`; `at` is the element path so far, e.g. `x[2]`. */
export function flatten(v: unknown, shape: readonly number[], out: number[], at: string, fail: (msg: string) => never): void {
  if (shape.length === 0) {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${at}: expected a finite number, got ${fmtValue(v)}`);
    out.push(v as number);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[0]) fail(`${at}: expected an array of length ${shape[0]}, got ${fmtValue(v)}`);
  const rest = shape.slice(1);
  (v as unknown[]).forEach((e, i) => flatten(e, rest, out, `${at}[${i}]`, fail));
}

/** The shape most lines have; of equally common shapes, the one seen first. */
export function commonShape(shapes: number[][]): number[] {
  const counts = new Map<string, { shape: number[]; n: number }>();
  let best: { shape: number[]; n: number } | undefined;
  for (const shape of shapes) {
    const key = shape.join(',');
    const c = counts.get(key) ?? { shape, n: 0 };
    counts.set(key, c);
    c.n++;
    if (!best || c.n > best.n) best = c;
  }
  return best!.shape;
}

/** A thrower for errors on one line: `data.path: line 3: …`. */
export const failAt =
  (pathField: string, line: number) =>
  (msg: string): never => {
    throw errors.dataInvalid(pathField, `line ${line}: ${msg}`);
  };

/** One line's `x` and `y` (with `oneHot`, a label written `[3]` unwrapped to 3); `fail` names the line. */
export function parseSample(text: string, oneHot: boolean, fail: (msg: string) => never): { x: unknown; y: unknown } {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    fail('not valid JSON');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(`expected an object {"x": ..., "y": ...}, got ${fmtValue(obj)}`);
  const { x, y } = obj as { x?: unknown; y?: unknown };
  if (x === undefined) fail('missing "x"');
  if (y === undefined) fail('missing "y"');
  return { x, y: oneHot && Array.isArray(y) && y.length === 1 ? y[0] : y };
}

/**
 * Loads a JSON-lines file. Blank lines are skipped; keys other than `x` and `y` are ignored so
 * files may carry ids or metadata. With `oneHot: k`, each `y` is a class index (a number or `[n]`).
 *
 * @example
 * // data.jsonl: {"x": [[0, 1], [2, 3]], "y": [1]}
 * const ds = await loadJsonl({ format: 'jsonl', path: 'data.jsonl' });
 * console.log(ds.inputShape); // [2, 2]
 */
export async function loadJsonl(source: JsonlSource, field = 'data'): Promise<Dataset> {
  const oneHot = checkOneHot(field, source.oneHot);
  const pathField = `${field}.path`;
  requireFile(pathField, source.path);
  const lines = (await readFile(source.path, 'utf8')).replace(/^\uFEFF/, '').split(/\r?\n/);
  // Pass 1: parse every line, so the shapes can be the most common ones rather than the first line's.
  const samples: { line: number; x: unknown; y: unknown }[] = [];
  for (let n = 0; n < lines.length; n++) {
    if (lines[n].trim() === '') continue;
    samples.push({ line: n + 1, ...parseSample(lines[n], oneHot !== undefined, failAt(pathField, n + 1)) });
  }
  if (samples.length === 0) throw errors.dataInvalid(pathField, `no samples in ${source.path}`);
  const inputShape = commonShape(samples.map((s) => shapeOf(s.x)));
  const targetShape = oneHot === undefined ? commonShape(samples.map((s) => shapeOf(s.y))) : [];
  // Pass 2: every line against those shapes; the first line that differs is the one named.
  const xs: number[] = [];
  const ys: number[] = [];
  for (const { line, x, y } of samples) {
    const fail = failAt(pathField, line);
    flatten(x, inputShape, xs, 'x', fail);
    flatten(y, targetShape, ys, 'y', fail);
  }
  const lineOf = samples.map((s) => s.line);
  const count = lineOf.length;
  const x = Float32Array.from(xs);
  if (oneHot === undefined) return makeDataset(x, Float32Array.from(ys), count, inputShape, targetShape);
  const y = oneHotEncode(pathField, ys, oneHot, (i) => `line ${lineOf[i]}: y`);
  return makeDataset(x, y, count, inputShape, [oneHot]);
}
