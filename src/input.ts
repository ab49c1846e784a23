import { errors, fmtShape, raw } from './errors.js';

/** A host-side array with a shape: what gradpool returns (fresh memory, yours to keep). */
export interface NDArray {
  shape: number[];
  data: Float32Array;
}

/** Anything gradpool accepts as a batch: a flat Float32Array, a tf.Tensor, an NDArray, or nested arrays. */
export type BatchInput = Float32Array | NDArray | TensorLike | NestedArray;
export type NestedArray = number | readonly NestedArray[];

/** The structural part of tf.Tensor gradpool needs (so the coordinator need not touch tfjs kernels). */
export interface TensorLike {
  shape: number[];
  dtype: string;
  dataSync(): ArrayLike<number>;
}

function isTensorLike(v: unknown): v is TensorLike {
  return !!v && typeof v === 'object' && Array.isArray((v as TensorLike).shape) && typeof (v as TensorLike).dataSync === 'function';
}

function isNDArray(v: unknown): v is NDArray {
  return !!v && typeof v === 'object' && Array.isArray((v as NDArray).shape) && (v as NDArray).data instanceof Float32Array;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function checkShape(name: string, got: readonly number[], sample: readonly number[]): number {
  const ok = got.length === sample.length + 1 && sample.every((d, i) => got[i + 1] === d);
  if (!ok) throw errors.shape(name, ['B', ...sample], got);
  return got[0]!;
}

/** Infers the shape of a nested array, checking it is rectangular and numeric. */
function nestedShape(name: string, v: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  const walk = (node: NestedArray, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw errors.type(`${name}${path}`, 'a number', node);
      return;
    }
    if (!Array.isArray(node)) throw errors.type(`${name}${path}`, `an array of length ${shape[depth]}`, node);
    if (node.length !== shape[depth]) throw errors.invalidOption(`${name}${path}`, `length ${shape[depth]} (a rectangular array)`, raw(`length ${node.length}`));
    node.forEach((c, i) => walk(c, depth + 1, `${path}[${i}]`));
  };
  walk(v, 0, '');
  return shape;
}

function flatten(v: NestedArray, out: Float32Array, at: { i: number }): void {
  if (typeof v === 'number') out[at.i++] = v;
  else for (const c of v) flatten(c, out, at);
}

/** Converts any accepted value to flat float32 with its shape (`null` for a bare flat Float32Array). */
function toHost(name: string, v: unknown): { shape: number[] | null; data: Float32Array } {
  if (v instanceof Float32Array) return { shape: null, data: v };
  if (isNDArray(v)) {
    if (v.data.length !== size(v.shape)) throw errors.invalidOption(`${name}.data`, `${size(v.shape)} values for shape ${fmtShape(v.shape)}`, raw(`${v.data.length}`));
    return { shape: v.shape, data: v.data };
  }
  if (isTensorLike(v)) {
    if (v.dtype !== 'float32' && v.dtype !== 'int32') throw errors.type(name, 'a float32 or int32 tensor', raw(`dtype ${v.dtype}`));
    const d = v.dataSync();
    return { shape: v.shape, data: d instanceof Float32Array ? d : Float32Array.from(d) };
  }
  if (Array.isArray(v) || typeof v === 'number') {
    const shape = nestedShape(name, v as NestedArray);
    const data = new Float32Array(size(shape));
    flatten(v as NestedArray, data, { i: 0 });
    return { shape, data };
  }
  throw errors.type(name, 'a Float32Array, tf.Tensor, {shape, data} or nested number arrays', v);
}

/**
 * Reads a batch argument into flat float32, checking it is `[B, ...sampleShape]`. A flat Float32Array
 * must have a length that is a multiple of the sample size. Returns the batch size and the data (the
 * caller's own array when it was already flat float32, so no copy is made here).
 *
 * @param name the argument name used in error messages (`x`, `y`).
 */
export function readBatch(name: string, v: BatchInput, sampleShape: readonly number[]): { batch: number; data: Float32Array } {
  const sz = size(sampleShape);
  const { shape, data } = toHost(name, v);
  if (shape === null) {
    if (data.length % sz !== 0)
      throw errors.invalidOption(name, `a flat Float32Array whose length is a multiple of ${sz} (shape ${fmtShape(['B', ...sampleShape])})`, raw(`length ${data.length}`));
    return { batch: data.length / sz, data };
  }
  // An empty outer array is an empty batch whatever the sample shape.
  if (shape.length === 1 && shape[0] === 0) return { batch: 0, data };
  return { batch: checkShape(name, shape, sampleShape), data };
}

/** Reads one unbatched value of exactly `shape` (used for parameters). A flat Float32Array must have its size. */
export function readExact(name: string, v: unknown, shape: readonly number[]): Float32Array {
  const got = toHost(name, v);
  if (got.shape === null) {
    if (got.data.length !== size(shape)) throw errors.invalidOption(name, `a flat Float32Array of length ${size(shape)} (shape ${fmtShape(shape)})`, raw(`length ${got.data.length}`));
  } else if (got.shape.length !== shape.length || got.shape.some((d, i) => d !== shape[i])) {
    throw errors.shape(name, shape, got.shape);
  }
  return got.data;
}
