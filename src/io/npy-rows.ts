/**
 * Row-addressed `.npy` reading: the header is parsed once (the same checks as npy.ts's whole-file
 * loader: dtype, C order, the file holding exactly the shape's values), then each asked-for row is a
 * positioned read of its fixed-size bytes (`fs.readSync(fd, buf, 0, len, offset)`), consecutive rows
 * in one read. Values convert as the loader converts them (to float64, then float32), so a row reads
 * the same bits either way.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { errors, fmtShape, raw } from '../errors.js';
import { checkOneHot, type NpySource, oneHotEncode, requireFile, sizeOf } from './dataset.js';
import type { RowSource } from './rows.js';

const ITEM: Record<string, [bytes: number, read: (v: DataView, at: number) => number]> = {
  f4: [4, (v, at) => v.getFloat32(at, true)],
  f8: [8, (v, at) => v.getFloat64(at, true)],
  i1: [1, (v, at) => v.getInt8(at)],
  u1: [1, (v, at) => v.getUint8(at)],
  i2: [2, (v, at) => v.getInt16(at, true)],
  u2: [2, (v, at) => v.getUint16(at, true)],
  i4: [4, (v, at) => v.getInt32(at, true)],
  u4: [4, (v, at) => v.getUint32(at, true)],
  i8: [8, (v, at) => Number(v.getBigInt64(at, true))],
  u8: [8, (v, at) => Number(v.getBigUint64(at, true))],
};

/** One `.npy` file opened for row reads: its shape, and what has been read so far. */
export class NpyRows {
  /** Values per row (the product of the shape after the first axis). */
  readonly rowSize: number;
  /** Rows and bytes read so far (what a node's reader was asked for). */
  readonly stats = { rows: 0, bytes: 0 };
  private readonly item: (typeof ITEM)[string];
  private constructor(
    private readonly fd: number,
    readonly file: string,
    readonly shape: readonly number[],
    readonly dtype: string,
    private readonly dataOffset: number,
  ) {
    this.rowSize = sizeOf(shape.slice(1));
    this.item = ITEM[dtype]!;
  }

  /** Opens `file` and checks its header and size; `field` names the job field in errors. */
  static open(file: string, field: string): NpyRows {
    requireFile(field, file);
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(12);
      readSync(fd, head, 0, 12, 0);
      if (head.toString('latin1', 0, 6) !== '\x93NUMPY') throw errors.dataInvalid(field, `cannot parse ${file}: not an .npy file`);
      const major = head[6]!;
      const [lenBytes, headerLen] = major === 1 ? [2, head.readUInt16LE(8)] : [4, head.readUInt32LE(8)];
      const start = 8 + lenBytes;
      const text = Buffer.alloc(headerLen);
      readSync(fd, text, 0, headerLen, start);
      const dict = text.toString(major === 3 ? 'utf8' : 'latin1');
      const descr = /'descr'\s*:\s*'([<>|=]?)([a-z]\d+)'/.exec(dict);
      const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(dict);
      const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict);
      if (!descr || !fortran || !shapeText) throw errors.dataInvalid(field, `cannot parse ${file}: bad header ${JSON.stringify(dict.trim())}`);
      const dtype = descr[2]!;
      if (!ITEM[dtype] || (descr[1] === '>' && ITEM[dtype]![0] > 1)) throw errors.dataInvalid(field, `unsupported dtype ${JSON.stringify(descr[1] === '>' ? descr[1] + dtype : dtype)} in ${file} (expected float32, float64 or an integer type)`);
      if (fortran[1] === 'True') throw errors.dataInvalid(field, `Fortran-order array in ${file} (save it with numpy.ascontiguousarray)`);
      const shape = shapeText[1]!.split(',').map((d) => d.trim()).filter((d) => d !== '').map(Number);
      if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw errors.dataInvalid(field, `bad shape in header of ${file}`);
      const dataOffset = start + headerLen;
      const held = Math.floor((fstatSync(fd).size - dataOffset) / ITEM[dtype]![0]);
      if (held !== sizeOf(shape)) throw errors.dataInvalid(field, `${file}: header shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, the file holds ${held}`);
      return new NpyRows(fd, file, shape, dtype, dataOffset);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Rows `rows` into `out` (rowSize values each, as float32), consecutive rows in one positioned read. */
  read(rows: Uint32Array, out: Float32Array | Float64Array): void {
    const [bytes, get] = this.item;
    const rowBytes = this.rowSize * bytes;
    for (let j = 0; j < rows.length; ) {
      let k = j + 1;
      while (k < rows.length && rows[k] === rows[k - 1]! + 1) k++;
      const buf = Buffer.alloc((k - j) * rowBytes);
      const got = readSync(this.fd, buf, 0, buf.length, this.dataOffset + rows[j]! * rowBytes);
      if (got !== buf.length) throw errors.dataInvalid(this.file, `read ${got} bytes of rows ${rows[j]}-${rows[k - 1]}, expected ${buf.length} (was the file changed?)`);
      const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const base = j * this.rowSize;
      for (let i = 0; i < (k - j) * this.rowSize; i++) out[base + i] = get(v, i * bytes);
      this.stats.rows += k - j;
      this.stats.bytes += buf.length;
      j = k;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The rows of an `npy` data source (two files whose first axis is the sample axis), read from disk
 * on demand; with `oneHot: k`, `y` holds class indices, shape `[N]` or `[N, 1]`. Close it when done.
 *
 * @example
 * const rows = openNpyRows({ format: 'npy', x: 'x.npy', y: 'y.npy', oneHot: 10 });
 * await pool.fit(rows, { optimizer: adam(), batchSize: 64 });
 * rows.close();
 */
export function openNpyRows(source: NpySource, field = 'data'): RowSource & { x: NpyRows; y: NpyRows; inputShape: number[]; targetShape: number[]; close(): void } {
  const oneHot = checkOneHot(field, source.oneHot);
  const x = NpyRows.open(source.x, `${field}.x`);
  let y: NpyRows;
  try {
    y = NpyRows.open(source.y, `${field}.y`);
  } catch (e) {
    x.close();
    throw e;
  }
  const close = () => (x.close(), y.close());
  try {
    if (x.shape.length === 0) throw errors.invalidOption(`${field}.x`, 'an array with a leading sample axis', raw(`shape ${fmtShape(x.shape)}`));
    if (y.shape.length === 0) throw errors.invalidOption(`${field}.y`, 'an array with a leading sample axis', raw(`shape ${fmtShape(y.shape)}`));
    const count = x.shape[0]!;
    if (y.shape[0] !== count) throw errors.batchMismatch(`${field}.y`, count, `${field}.x`, y.shape[0]!);
    if (count === 0) throw errors.dataInvalid(`${field}.x`, `no samples in ${source.x}`);
    if (oneHot !== undefined && (y.shape.length > 2 || (y.shape.length === 2 && y.shape[1] !== 1))) throw errors.shape(`${field}.y`, ['N'], y.shape);
  } catch (e) {
    close();
    throw e;
  }
  const targetShape = oneHot === undefined ? y.shape.slice(1) : [oneHot];
  return {
    x,
    y,
    count: x.shape[0]!,
    inputSize: x.rowSize,
    targetSize: sizeOf(targetShape),
    inputShape: x.shape.slice(1),
    targetShape,
    read(rows, xo, yo) {
      x.read(rows, xo);
      if (oneHot === undefined) return y.read(rows, yo);
      const labels = new Float64Array(rows.length);
      y.read(rows, labels);
      yo.fill(0);
      yo.set(oneHotEncode(`${field}.y`, labels, oneHot, (i) => `element ${rows[i]}`));
    },
    close,
  };
}
