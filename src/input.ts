import { errors, fmtShape, raw } from './errors.js';
import { checkKnownFields } from './validate.js';

/** A host-side array with a shape: what gradpool returns (fresh memory, yours to keep). */
export interface NDArray {
  shape: number[];
  data: Float32Array;
}

/**
 * The numeric typed arrays gradpool reads. Anything but a Float32Array is converted to a fresh
 * Float32Array first (one extra pass and 4 bytes per value). BigInt64Array and BigUint64Array hold
 * bigints, not numbers, and are refused.
 */
export type NumericArray = Float32Array | Float64Array | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** An `{ shape, data }` input: `data` flat and row-major, a typed array or plain numbers, `shape`'s size long. */
export interface NDArrayLike {
  shape: readonly number[];
  data: NumericArray | readonly number[];
}

/** Anything gradpool accepts as a batch: a flat typed array, a tf.Tensor, an `{ shape, data }`, or nested arrays. */
export type BatchInput = NumericArray | NDArrayLike | TensorLike | NestedArray;
export type NestedArray = number | readonly NestedArray[];

/** The structural part of tf.Tensor gradpool needs (so the coordinator need not touch tfjs kernels). */
export interface TensorLike {
  shape: number[];
  dtype: string;
  /** tf.Tensor's flag: a disposed tensor has no data left to read. */
  readonly isDisposed?: boolean;
  dataSync(): ArrayLike<number>;
}

/** The largest finite float32: a finite value beyond it would become ±Infinity on conversion. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Tensor dtypes whose values are numbers (bool reads as 0/1). */
const TENSOR_DTYPES = ['float32', 'int32', 'bool'];

const isNumericArray = (v: unknown): v is NumericArray =>
  ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);

function isTensorLike(v: unknown): v is TensorLike {
  return !!v && typeof v === 'object' && Array.isArray((v as TensorLike).shape) && typeof (v as TensorLike).dataSync === 'function';
}

/** An object with `shape` and `data` fields (checked in detail by {@link readNDArray}); a tensor's `data` is a method. */
function isNDArrayLike(v: unknown): v is NDArrayLike {
  return !!v && typeof v === 'object' && 'shape' in v && 'data' in v && typeof (v as { data: unknown }).data !== 'function';
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function checkShape(name: string, got: readonly number[], sample: readonly number[]): number {
  const ok = got.length === sample.length + 1 && sample.every((d, i) => got[i + 1] === d);
  if (!ok) throw errors.shape(name, ['B', ...sample], got);
  return got[0]!;
}

/**
 * One number into float32 at `out[i]`. Rounding to the nearest float32 is the documented cost of the
 * conversion; a finite value that would turn into ±Infinity is refused rather than changed silently.
 */
function put(name: string, out: Float32Array, i: number, v: number): void {
  if (Math.abs(v) > FLOAT32_MAX && Number.isFinite(v)) throw errors.float32Range(name, i, v);
  out[i] = v;
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

function flatten(name: string, v: NestedArray, out: Float32Array, at: { i: number }): void {
  if (typeof v === 'number') put(name, out, at.i++, v);
  else for (const c of v) flatten(name, c, out, at);
}

/** A flat typed array or array of numbers as float32: the caller's own array when it already is one. */
function toFloat32(name: string, v: NumericArray | readonly unknown[]): Float32Array {
  if (v instanceof Float32Array) return v;
  const out = new Float32Array(v.length);
  if (!Array.isArray(v)) {
    // The native conversion in one pass; only float64 can leave float32's range, so only it is scanned.
    out.set(v as ArrayLike<number>);
    if (v instanceof Float64Array) for (let i = 0; i < out.length; i++) if (out[i] === Infinity || out[i] === -Infinity) put(name, out, i, v[i]!);
    return out;
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number') throw errors.type(`${name}[${i}]`, 'a number', x);
    put(name, out, i, x);
  }
  return out;
}

function readNDArray(name: string, v: NDArrayLike): { shape: number[]; data: Float32Array } {
  const { shape, data } = v;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw errors.type(`${name}.shape`, 'an array of non-negative integers', shape);
  if (!isNumericArray(data) && !Array.isArray(data)) throw errors.type(`${name}.data`, 'a typed array or an array of numbers', data);
  if (data.length !== size(shape)) throw errors.invalidOption(`${name}.data`, `${size(shape)} values for shape ${fmtShape(shape)}`, raw(`${data.length}`));
  return { shape: [...shape], data: toFloat32(`${name}.data`, data) };
}

/** Converts any accepted value to flat float32 with its shape (`null` for a bare flat typed array). */
function toHost(name: string, v: unknown): { shape: number[] | null; data: Float32Array } {
  if (isNumericArray(v)) return { shape: null, data: toFloat32(name, v) };
  if (isTensorLike(v)) {
    // tfjs would throw its own "Tensor is disposed" without naming the argument.
    if (v.isDisposed === true) throw errors.type(name, 'a live tf.Tensor', raw('a disposed one'));
    if (!TENSOR_DTYPES.includes(v.dtype)) throw errors.type(name, `a ${TENSOR_DTYPES.join(', ').replace(/, (?=[^,]*$)/, ' or ')} tensor`, raw(`dtype ${v.dtype}`));
    const d = v.dataSync();
    return { shape: v.shape, data: d instanceof Float32Array ? d : Float32Array.from(d) };
  }
  if (isNDArrayLike(v)) return readNDArray(name, v);
  if (Array.isArray(v) || typeof v === 'number') {
    const shape = nestedShape(name, v as NestedArray);
    const data = new Float32Array(size(shape));
    flatten(name, v as NestedArray, data, { i: 0 });
    return { shape, data };
  }
  throw errors.type(name, 'a typed array (Float32Array, Float64Array, Int32Array, Uint8Array, …), tf.Tensor, {shape, data} or nested number arrays', v);
}

/** What a flat array argument is called in messages: its own type (`a flat Float32Array`). */
const flatName = (v: unknown) => `a flat ${(v as object).constructor.name}`;

/**
 * Reads a batch argument into flat float32, checking it is `[B, ...sampleShape]`. A flat typed array
 * must have a length that is a multiple of the sample size. Returns the batch size and the data (the
 * caller's own array when it was already flat float32, so no copy is made here; any other type is
 * converted into fresh memory).
 *
 * @param name the argument name used in error messages (`x`, `y`, `validation.x`).
 */
export function readBatch(name: string, v: BatchInput, sampleShape: readonly number[]): { batch: number; data: Float32Array } {
  const sz = size(sampleShape);
  const { shape, data } = toHost(name, v);
  if (shape === null) {
    if (data.length % sz !== 0)
      throw errors.invalidOption(name, `${flatName(v)} whose length is a multiple of ${sz} (shape ${fmtShape(['B', ...sampleShape])})`, raw(`length ${data.length}`));
    return { batch: data.length / sz, data };
  }
  // An empty outer array is an empty batch whatever the sample shape.
  if (shape.length === 1 && shape[0] === 0) return { batch: 0, data };
  return { batch: checkShape(name, shape, sampleShape), data };
}

/** One `{ x, y }` pair read as batches, their batch sizes checked against each other. */
export interface BatchPair {
  x: { batch: number; data: Float32Array };
  y: { batch: number; data: Float32Array };
}

/**
 * Reads an `{ x, y }` object (fit's in-memory `data`, its `validation`): both batches, named
 * `${name}.x` and `${name}.y`, their batch sizes equal, and no other field.
 */
export function readPair(name: string, v: unknown, shapes: { inputShape: readonly number[]; targetShape: readonly number[] }, known: readonly string[] = ['x', 'y']): BatchPair {
  if (!v || typeof v !== 'object') throw errors.type(name, 'an object {x, y}', v);
  const o = v as { x: BatchInput; y: BatchInput };
  const x = readBatch(`${name}.x`, o.x, shapes.inputShape);
  const y = readBatch(`${name}.y`, o.y, shapes.targetShape);
  if (x.batch !== y.batch) throw errors.batchMismatch(`${name}.y`, x.batch, `${name}.x`, y.batch);
  checkKnownFields(name, o, known);
  return { x, y };
}

/** Reads one unbatched value of exactly `shape` (used for parameters). A flat typed array must have its size. */
export function readExact(name: string, v: unknown, shape: readonly number[]): Float32Array {
  const got = toHost(name, v);
  if (got.shape === null) {
    if (got.data.length !== size(shape)) throw errors.invalidOption(name, `${flatName(v)} of length ${size(shape)} (shape ${fmtShape(shape)})`, raw(`length ${got.data.length}`));
  } else if (got.shape.length !== shape.length || got.shape.some((d, i) => d !== shape[i])) {
    throw errors.shape(name, shape, got.shape);
  }
  return got.data;
}
