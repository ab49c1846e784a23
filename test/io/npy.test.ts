/**
 * .npy loader: files written by real numpy (test/fixtures/data/make-npy.py) and edge cases built by
 * the tiny writer below (truncation, trailing bytes, bad magic), with every error message exactly.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNpy, readNpy } from '../../src/io/npy.js';
import { dataFixture, npy, scratchDir } from './helpers.js';
import { rejectsExactly } from '../helpers/assert.js';

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('io: npy', () => {
  it('reads numpy-written float32, float64, int64, int32 and version-2 uint8 files', async () => {
    const x = await readNpy(dataFixture('x-f32.npy'), 'data.x');
    assert.deepEqual([x.shape, x.dtype, x.data.length], [[4, 3, 2], 'f4', 24]);
    assert.deepEqual(Array.from(x.data), Array.from({ length: 24 }, (_, i) => i / 8 - 1));
    const f64 = await readNpy(dataFixture('x-f64.npy'), 'data.x');
    assert.deepEqual(Array.from(f64.data), [0, 1, 2, 3, 4, 5].map((i) => i * 0.1));
    assert.deepEqual(Array.from((await readNpy(dataFixture('y-i64.npy'), 'data.y')).data), [2, 0, 1, 2]);
    assert.deepEqual(Array.from((await readNpy(dataFixture('y-i32-n3.npy'), 'data.y')).data), [1, 0, 1]);
    const v2 = await readNpy(dataFixture('x-u8-v2.npy'), 'data.x');
    assert.deepEqual([v2.shape, v2.dtype, Array.from(v2.data)], [[3, 2], 'u1', [0, 1, 2, 3, 4, 5]]);
  });

  it('loads x and y as a Dataset, with or without one-hot targets', async () => {
    const ds = await loadNpy({ format: 'npy', x: dataFixture('x-f32.npy'), y: dataFixture('y-f32.npy') });
    assert.deepEqual([ds.count, ds.inputShape, ds.targetShape], [4, [3, 2], [1]]);
    assert.deepEqual(ds.y, Float32Array.from([0.5, 1.5, -2, 4]));
    const oh = await loadNpy({ format: 'npy', x: dataFixture('x-f32.npy'), y: dataFixture('y-i64.npy'), oneHot: 3 });
    assert.deepEqual(oh.targetShape, [3]);
    assert.deepEqual(oh.y, Float32Array.from([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]));
    const f64 = await loadNpy({ format: 'npy', x: dataFixture('x-f64.npy'), y: dataFixture('y-i32-n3.npy') });
    assert.deepEqual(f64.x, Float32Array.from([0, 1, 2, 3, 4, 5].map((i) => i * 0.1))); // rounded once, f64 -> f32
  });

  it('round-trips the tiny writer bit-exactly (NaN payload, -0, denormal)', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const vals = new Float32Array(4);
      new Uint32Array(vals.buffer).set([0x7fc00123, 0x80000000, 0x00000001, 0x3f800000]);
      writeFileSync(join(dir, 'x.npy'), npy('<f4', [2, 2], bytes(vals)));
      writeFileSync(join(dir, 'y.npy'), npy('<f4', [2], bytes(Float32Array.from([1, 2]))));
      const ds = await loadNpy({ format: 'npy', x: join(dir, 'x.npy'), y: join(dir, 'y.npy') });
      assert.deepEqual(Array.from(new Uint32Array(ds.x.buffer)), [0x7fc00123, 0x80000000, 0x00000001, 0x3f800000]);
      assert.deepEqual(ds.targetShape, []);
    } finally {
      cleanup();
    }
  });

  it('rejects truncated, padded, Fortran-order, big-endian, unsupported and malformed files', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const f = join(dir, 'a.npy');
      const data = bytes(Float32Array.from([1, 2, 3, 4, 5, 6]));
      const check = async (buf: Uint8Array, message: string) => {
        writeFileSync(f, buf);
        await rejectsExactly(readNpy(f, 'data.x'), message, 'ERR_DATA_INVALID');
      };
      await check(npy('<f4', [2, 3], data.subarray(0, 20)), `data.x: ${f}: header shape [2,3] needs 6 values, the file holds 5`);
      await check(npy('<f4', [2, 2], data), `data.x: ${f}: header shape [2,2] needs 4 values, the file holds 6`);
      await check(npy('<f4', [2, 3], data.subarray(0, 22)), `data.x: cannot parse ${f}: the data is not a whole number of elements (truncated?)`);
      await check(npy('<c8', [3], data), `data.x: unsupported dtype "c8" in ${f} (expected float32, float64 or an integer type)`);
      await check(npy('<f4', [2, 3], data, true), `data.x: Fortran-order array in ${f} (save it with numpy.ascontiguousarray)`);
      await check(Buffer.from('hello, not numpy'), `data.x: cannot parse ${f}: Not an .npy file`);
      writeFileSync(join(dir, 'y.npy'), npy('<f4', [0], new Uint8Array(0)));
      writeFileSync(f, npy('<f4', [0, 2], new Uint8Array(0)));
      await rejectsExactly(loadNpy({ format: 'npy', x: f, y: join(dir, 'y.npy') }), `data.x: no samples in ${f}`);
      const fortran = dataFixture('x-fortran.npy');
      await rejectsExactly(readNpy(fortran, 'data.x'), `data.x: Fortran-order array in ${fortran} (save it with numpy.ascontiguousarray)`);
      const be = dataFixture('x-big-endian.npy');
      await rejectsExactly(readNpy(be, 'data.x'), `data.x: cannot parse ${be}: Unsupported dtype: >f4`);
    } finally {
      cleanup();
    }
  });

  it('checks the sample axes of x and y agree, and one-hot label shapes and values', async () => {
    const x = dataFixture('x-f32.npy');
    await rejectsExactly(
      loadNpy({ format: 'npy', x, y: dataFixture('y-i32-n3.npy') }),
      'data.y: expected batch size 4 (from data.x), got 3',
      'ERR_BATCH_MISMATCH',
    );
    const scalar = dataFixture('x-scalar.npy');
    await rejectsExactly(loadNpy({ format: 'npy', x: scalar, y: x }, 'validation'), 'validation.x: expected an array with a leading sample axis, got shape []');
    await rejectsExactly(loadNpy({ format: 'npy', x, y: x, oneHot: 2 }), 'data.y: expected shape [N], got [4,3,2]', 'ERR_SHAPE');
    await rejectsExactly(loadNpy({ format: 'npy', x, y: dataFixture('y-f32.npy'), oneHot: 2 }), 'data.y: element 0: not a class index in [0, 2): 0.5');
    const missing = dataFixture('none.npy');
    await rejectsExactly(loadNpy({ format: 'npy', x: missing, y: x }), `data.x: file not found: ${missing}`);
  });
});
