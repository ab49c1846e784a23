/**
 * `.npy` loader. The format parsing is npyjs's (maintained, typed, parses an ArrayBuffer with no I/O
 * of its own); npyjs does not check that the data matches the header's shape (a truncated file just
 * yields fewer elements) nor reject Fortran order, so those checks are made here, strictly.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseNpy } from 'npyjs';
import { errors, fmtShape, raw } from '../errors.js';
import { checkOneHot, type Dataset, makeDataset, type NpySource, oneHotEncode, requireFile, sizeOf } from './dataset.js';

/** The dtypes accepted: floats and integers, any width, native little-endian ('|' is byte-sized). */
const DTYPES = new Set(['f4', 'f8', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8']);

/** One parsed `.npy` array, converted to float64 so integer labels and float64 data are exact until the final float32 copy. */
export interface NpyArray {
  readonly data: Float64Array;
  readonly shape: readonly number[];
  /** numpy's type code without the byte-order character, e.g. `f4`. */
  readonly dtype: string;
}

/**
 * Reads and checks one C-order `.npy` file (format versions 1-3). `field` names the job field for
 * errors (`data.x: ...`).
 */
export async function readNpy(file: string, field: string): Promise<NpyArray> {
  requireFile(field, file);
  const buf = await readFile(file);
  // npyjs wants an ArrayBuffer of exactly the file; a Node Buffer may be a view into a shared pool.
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let parsed: ReturnType<typeof parseNpy>;
  try {
    parsed = parseNpy(ab);
  } catch (e) {
    // npyjs builds typed-array views over the data; a RangeError means a partial last element (V8's wording varies).
    const why = e instanceof RangeError ? 'the data is not a whole number of elements (truncated?)' : (e as Error).message;
    throw errors.dataInvalid(field, `cannot parse ${file}: ${why}`);
  }
  const dtype = String(parsed.dtype);
  if (!DTYPES.has(dtype)) {
    throw errors.dataInvalid(field, `unsupported dtype ${JSON.stringify(dtype)} in ${file} (expected float32, float64 or an integer type)`);
  }
  if (parsed.fortranOrder) throw errors.dataInvalid(field, `Fortran-order array in ${file} (save it with numpy.ascontiguousarray)`);
  const shape = parsed.shape;
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw errors.dataInvalid(field, `bad shape in header of ${file}`);
  const raw = parsed.data as unknown as ArrayLike<number | bigint>;
  if (raw.length !== sizeOf(shape)) {
    throw errors.dataInvalid(field, `${file}: header shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, the file holds ${raw.length}`);
  }
  const data = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) data[i] = Number(raw[i]);
  return { data, shape, dtype };
}

/**
 * Loads inputs and targets from two `.npy` files whose first axis is the sample axis. With
 * `oneHot: k`, `y` holds class indices, shape `[N]` or `[N, 1]`.
 *
 * @example
 * const ds = await loadNpy({ format: 'npy', x: 'x.npy', y: 'y.npy', oneHot: 10 });
 */
export async function loadNpy(source: NpySource, field = 'data'): Promise<Dataset> {
  const oneHot = checkOneHot(field, source.oneHot);
  const [xa, ya] = [await readNpy(source.x, `${field}.x`), await readNpy(source.y, `${field}.y`)];
  if (xa.shape.length === 0) throw errors.invalidOption(`${field}.x`, 'an array with a leading sample axis', raw(`shape ${fmtShape(xa.shape)}`));
  if (ya.shape.length === 0) throw errors.invalidOption(`${field}.y`, 'an array with a leading sample axis', raw(`shape ${fmtShape(ya.shape)}`));
  const count = xa.shape[0];
  if (ya.shape[0] !== count) throw errors.batchMismatch(`${field}.y`, count, `${field}.x`, ya.shape[0]);
  if (count === 0) throw errors.dataInvalid(`${field}.x`, `no samples in ${source.x}`);
  const x = Float32Array.from(xa.data);
  const inputShape = xa.shape.slice(1);
  if (oneHot === undefined) return makeDataset(x, Float32Array.from(ya.data), count, inputShape, ya.shape.slice(1));
  if (ya.shape.length > 2 || (ya.shape.length === 2 && ya.shape[1] !== 1)) {
    throw errors.shape(`${field}.y`, ['N'], ya.shape); // class indices: [N] (or [N,1])
  }
  const y = oneHotEncode(`${field}.y`, ya.data, oneHot, (i) => `element ${i}`);
  return makeDataset(x, y, count, inputShape, [oneHot]);
}
