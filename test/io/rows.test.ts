/**
 * Row readers against the whole-file loaders (the oracle): any rows, in any order, read the loader's
 * float32 bits, and a read touches only the asked rows' bytes. npy: numpy-written files (float32,
 * float64, int64 one-hot, version-2 uint8) and a larger written one; csv: BOM, CRLF, quoted fields
 * with a delimiter and a newline inside, empty lines, one-hot. Bad cells are found when their row is
 * read, naming the row and column; a bad header when opened.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCsv } from '../../src/io/csv.js';
import { openCsvRows } from '../../src/io/csv-rows.js';
import { loadNpy } from '../../src/io/npy.js';
import { openNpyRows } from '../../src/io/npy-rows.js';
import { Rng } from '../../src/rng.js';
import type { Dataset, DataSource } from '../../src/io/dataset.js';
import type { RowSource } from '../../src/io/rows.js';
import { dataFixture, npy, scratchDir } from './helpers.js';

const hex = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** `rows` read through `src`, and the same rows gathered from the whole dataset `ds`. */
function both(src: RowSource, ds: Dataset, rows: number[]): [string, string][] {
  const idx = Uint32Array.from(rows);
  const [xi, yi] = [src.inputSize, src.targetSize];
  const x = new Float32Array(rows.length * xi).fill(7);
  const y = new Float32Array(rows.length * yi).fill(7);
  src.read(idx, x, y);
  const wx = Float32Array.from(rows.flatMap((r) => Array.from(ds.x.subarray(r * xi, (r + 1) * xi))));
  const wy = Float32Array.from(rows.flatMap((r) => Array.from(ds.y.subarray(r * yi, (r + 1) * yi))));
  return [[hex(x), hex(wx)], [hex(y), hex(wy)]];
}

describe('io: row readers', () => {
  it('npy: numpy-written files read the loader\'s bits for any rows, in any order', async () => {
    const sources: DataSource[] = [
      { format: 'npy', x: dataFixture('x-f32.npy'), y: dataFixture('y-f32.npy') },
      { format: 'npy', x: dataFixture('x-f32.npy'), y: dataFixture('y-i64.npy'), oneHot: 3 },
      { format: 'npy', x: dataFixture('x-f64.npy'), y: dataFixture('y-i32-n3.npy') },
      { format: 'npy', x: dataFixture('x-u8-v2.npy'), y: dataFixture('y-i32-n3.npy'), oneHot: 2 },
    ];
    for (const s of sources) {
      const rows = openNpyRows(s as never);
      try {
        const ds = await loadNpy(s as never);
        assert.deepEqual([rows.count, rows.inputShape, rows.targetShape], [ds.count, ds.inputShape, ds.targetShape]);
        const all = Array.from({ length: ds.count }, (_, i) => i);
        for (const pick of [all, all.slice().reverse(), [ds.count - 1, 0, ds.count - 1]]) for (const [got, want] of both(rows, ds, pick)) assert.equal(got, want, JSON.stringify(s));
      } finally {
        rows.close();
      }
    }
  });

  it('npy: a read touches only the asked rows\' bytes (consecutive rows in one read)', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const r = new Rng(2);
      const xv = Float64Array.from({ length: 300 * 7 }, () => r.uniform() * 1e3 - 500);
      writeFileSync(join(dir, 'x.npy'), npy('<f8', [300, 7], new Uint8Array(xv.buffer)));
      writeFileSync(join(dir, 'y.npy'), npy('<i8', [300], new Uint8Array(BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i % 4)).buffer)));
      const s = { format: 'npy', x: join(dir, 'x.npy'), y: join(dir, 'y.npy'), oneHot: 4 } as const;
      const rows = openNpyRows(s);
      try {
        const ds = await loadNpy(s);
        const pick = [5, 6, 7, 100, 299, 3];
        for (const [got, want] of both(rows, ds, pick)) assert.equal(got, want);
        assert.deepEqual(rows.x.stats, { rows: 6, bytes: 6 * 7 * 8 });
        assert.deepEqual(rows.y.stats, { rows: 6, bytes: 6 * 8 });
      } finally {
        rows.close();
      }
    } finally {
      cleanup();
    }
  });

  it('npy: bad files are refused when opened, as the loader refuses them', () => {
    assert.throws(() => openNpyRows({ format: 'npy', x: dataFixture('x-fortran.npy'), y: dataFixture('y-f32.npy') }), { code: 'ERR_DATA_INVALID', message: /^data\.x: Fortran-order array in / });
    assert.throws(() => openNpyRows({ format: 'npy', x: dataFixture('x-big-endian.npy'), y: dataFixture('y-f32.npy') }), { code: 'ERR_DATA_INVALID', message: /^data\.x: unsupported dtype ">f4" in / });
    assert.throws(() => openNpyRows({ format: 'npy', x: dataFixture('x-f32.npy'), y: dataFixture('y-i32-n3.npy') }), { code: 'ERR_BATCH_MISMATCH' });
    const { dir, cleanup } = scratchDir();
    try {
      writeFileSync(join(dir, 'x.npy'), npy('<f4', [3, 2], new Uint8Array(20)));
      assert.throws(() => openNpyRows({ format: 'npy', x: join(dir, 'x.npy'), y: dataFixture('y-f32.npy') }), { code: 'ERR_DATA_INVALID', message: `data.x: ${join(dir, 'x.npy')}: header shape [3,2] needs 6 values, the file holds 5` });
    } finally {
      cleanup();
    }
  });

  it('csv: BOM, CRLF, quotes, empty lines and one-hot read the loader\'s bits; a read parses only its rows', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, 'd.csv');
      const text = '\uFEFFa,"b, quoted",label\r\n0.1,0.2,0\r\n\r\n"1e-3","-0",2\r\n3.5,"7\r\n",1\r\n\r\n-2,0.30000001192092896,0\r\n4,5,2';
      writeFileSync(file, text);
      for (const s of [{ format: 'csv', path: file, x: ['a', 'b, quoted'], y: ['label'] }, { format: 'csv', path: file, x: 'a:b, quoted', y: 'label', oneHot: 3 }] as const) {
        const rows = openCsvRows(s);
        try {
          const ds = await loadCsv(s);
          assert.deepEqual([rows.count, rows.inputShape, rows.targetShape], [ds.count, ds.inputShape, ds.targetShape]);
          for (const pick of [[0, 1, 2, 3, 4], [4, 2, 0, 2]]) for (const [got, want] of both(rows, ds, pick)) assert.equal(got, want);
          assert.equal(rows.stats.rows, 9);
        } finally {
          rows.close();
        }
      }
    } finally {
      cleanup();
    }
  });

  it('csv: a bad cell fails the read of its row, naming row and column; other rows read; a missing column fails the open', () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, 'd.csv');
      writeFileSync(file, 'a,b,label\n1,2,0\n1,oops,1\n3,4,5\n5,6\n');
      const rows = openCsvRows({ format: 'csv', path: file, x: ['a', 'b'], y: 'label', oneHot: 3 });
      try {
        const [x, y] = [new Float32Array(2), new Float32Array(3)];
        rows.read(Uint32Array.of(0), x, y);
        assert.deepEqual([Array.from(x), Array.from(y)], [[1, 2], [1, 0, 0]]);
        assert.throws(() => rows.read(Uint32Array.of(1), x, y), { code: 'ERR_DATA_INVALID', message: 'data.path: row 3 column "b": not a number: "oops"' });
        assert.throws(() => rows.read(Uint32Array.of(2), x, y), { code: 'ERR_DATA_INVALID', message: 'data.path: row 4 column "label": not a class index in [0, 3): 5' });
        assert.throws(() => rows.read(Uint32Array.of(3), x, y), { code: 'ERR_DATA_INVALID', message: 'data.path: row 5: 2 fields, the header has 3' });
      } finally {
        rows.close();
      }
      assert.throws(() => openCsvRows({ format: 'csv', path: file, x: ['a', 'c'], y: 'label' }), { code: 'ERR_JOB_INVALID', message: 'data.x: column "c" not in header (a, b, label)' });
    } finally {
      cleanup();
    }
  });
});
