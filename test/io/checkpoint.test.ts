/**
 * Checkpoints: bit-exact round trips (NaN payloads, -0, denormals), atomic writes, listing, every
 * kind of damage detected with an exact message, fallback to the newest valid file, and pruning.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkpointName,
  listCheckpoints,
  listCorrupt,
  loadLatestValid,
  pruneCheckpoints,
  readCheckpoint,
  takeLatestValid,
  writeCheckpoint,
} from '../../src/io/checkpoint.js';
import { scratchDir } from './helpers.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';

const u32 = (...bits: number[]) => new Float32Array(Uint32Array.from(bits).buffer);
const u64 = (...halves: [number, number][]) => new Float64Array(Uint32Array.from(halves.flat()).buffer); // [lo, hi] pairs, little-endian

function payload() {
  return {
    meta: { step: 7, rng: [1, 2, 3, 4], jobHash: 'abc', nested: { lr: 0.001, ok: true, none: null } },
    arrays: {
      // quiet NaN with payload, negative NaN, signalling NaN, -0, smallest denormal, negative denormal, -Infinity
      params: u32(0x7fc00123, 0xffbadbad, 0x7f800001, 0x80000000, 0x00000001, 0x807fffff, 0xff800000),
      m: u64([0x00000001, 0x7ff80000], [0, 0x80000000], [1, 0], [0xdeadbeef, 0x7ff00000]),
      counts: Uint32Array.from([0, 1, 0xffffffff]),
      deltas: Int32Array.from([-2147483648, -1, 2147483647]),
      empty: new Float32Array(0),
    },
  };
}

describe('io: checkpoint', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = scratchDir()));
  afterEach(() => cleanup());

  it('round-trips meta and every array bit-exactly, with dtypes preserved', async () => {
    const p = payload();
    const file = await writeCheckpoint(dir, 42, p);
    assert.equal(file, join(dir, 'ckpt-000000000042.gpck'));
    const c = await readCheckpoint(file);
    assert.equal(c.step, 42);
    assert.deepEqual(c.meta, p.meta);
    assert.deepEqual(Object.keys(c.arrays), Object.keys(p.arrays));
    for (const [name, a] of Object.entries(p.arrays)) {
      assert.equal(c.arrays[name].constructor, a.constructor, name);
      assert.ok(sameBytes(c.arrays[name], a), name);
      assert.equal(c.arrays[name].byteOffset % 8, 0);
    }
    assert.deepEqual(readdirSync(dir), ['ckpt-000000000042.gpck']); // no temporary file left behind
  });

  it('replaces an existing checkpoint for the same step, and creates missing directories', async () => {
    const sub = join(dir, 'a', 'b');
    await writeCheckpoint(sub, 3, { meta: { v: 1 }, arrays: {} });
    await writeCheckpoint(sub, 3, { meta: { v: 2 }, arrays: { w: Float32Array.from([1]) } });
    const c = await readCheckpoint(join(sub, checkpointName(3)));
    assert.deepEqual([c.meta, Array.from(c.arrays.w)], [{ v: 2 }, [1]]);
  });

  it('lists checkpoints by numeric step, ignoring temporary and unrelated files', async () => {
    for (const s of [100, 9, 10]) await writeCheckpoint(dir, s, { meta: {}, arrays: {} });
    writeFileSync(join(dir, '.ckpt-000000000200.gpck.123.abcd.tmp'), 'partial');
    writeFileSync(join(dir, 'notes.txt'), '');
    writeFileSync(join(dir, 'ckpt-1234567890123.gpck'), ''); // more digits than the padding: still a checkpoint
    const list = await listCheckpoints(dir);
    assert.deepEqual(list.map((c) => c.step), [9, 10, 100, 1234567890123]);
    assert.equal(list[0].file, join(dir, 'ckpt-000000000009.gpck'));
    assert.deepEqual(await listCheckpoints(join(dir, 'missing')), []);
  });

  it('detects every kind of damage with a message naming the file', async () => {
    const file = await writeCheckpoint(dir, 5, payload());
    const good = readFileSync(file);
    const headerLen = good.readUInt32LE(12);
    const bodyStart = Math.ceil((48 + headerLen) / 8) * 8;
    const damaged = async (bytes: Uint8Array, message: string, name = file) => {
      writeFileSync(name, bytes);
      await rejectsExactly(readCheckpoint(name), `checkpoint ${name}: ${message}`, 'ERR_CHECKPOINT_CORRUPT');
    };
    await damaged(good.subarray(0, 20), 'truncated: expected at least 48 bytes, got 20');
    await damaged(good.subarray(0, 100), `truncated: expected at least ${bodyStart} bytes, got 100`);
    await damaged(good.subarray(0, good.length - 1), `truncated: expected ${good.length} bytes, got ${good.length - 1}`);
    await damaged(good.subarray(0, bodyStart), `truncated: expected ${good.length} bytes, got ${bodyStart}`);
    await damaged(Buffer.concat([good, Buffer.from([0])]), `expected ${good.length} bytes, got ${good.length + 1} (trailing data)`);
    const flip = (at: number) => {
      const b = Buffer.from(good);
      b[at] ^= 0x01;
      return b;
    };
    await damaged(flip(0), 'not a gradpool checkpoint (bad magic bytes)');
    await damaged(flip(8), 'unsupported format version 0 (expected 1)');
    await damaged(flip(60), 'header checksum mismatch');
    await damaged(flip(good.length - 3), 'body checksum mismatch');
    await damaged(good, 'header says step 5, the file name says 6', join(dir, checkpointName(6)));
    writeFileSync(file, good);
    truncateSync(file, 0);
    await rejectsExactly(readCheckpoint(file), `checkpoint ${file}: truncated: expected at least 48 bytes, got 0`);
  });

  it('loadLatestValid falls back past damaged newest files with a warning each', async () => {
    for (const s of [10, 20, 30]) await writeCheckpoint(dir, s, { meta: { s }, arrays: { w: Float32Array.from([s]) } });
    const [f10, f20, f30] = (await listCheckpoints(dir)).map((c) => c.file);
    const need = Math.ceil((48 + readFileSync(f30).readUInt32LE(12)) / 8) * 8; // prelude + header, padded
    truncateSync(f30, 70); // a crash cut the newest short
    const warnings: string[] = [];
    const c = await loadLatestValid(dir, { onWarning: (m) => warnings.push(m) });
    assert.equal(c?.step, 20);
    assert.deepEqual(c?.meta, { s: 20 });
    assert.deepEqual(warnings, [`checkpoint ${f30}: truncated: expected at least ${need} bytes, got 70; falling back to ${f20}`]);

    writeFileSync(f20, 'garbage that is long enough to hold a whole prelude of 48 bytes.....');
    writeFileSync(f10, '');
    warnings.length = 0;
    assert.equal(await loadLatestValid(dir, { onWarning: (m) => warnings.push(m) }), undefined);
    assert.deepEqual(warnings, [
      `checkpoint ${f30}: truncated: expected at least ${need} bytes, got 70; falling back to ${f20}`,
      `checkpoint ${f20}: not a gradpool checkpoint (bad magic bytes); falling back to ${f10}`,
      `checkpoint ${f10}: truncated: expected at least 48 bytes, got 0; no older checkpoint to fall back to`,
    ]);
    assert.equal(await loadLatestValid(join(dir, 'never-written')), undefined);
  });

  it('takeLatestValid moves each damaged checkpoint it skips into corrupt/ (never over an earlier one), and pruning never sees them', async () => {
    for (const s of [10, 20, 30]) await writeCheckpoint(dir, s, { meta: { s }, arrays: { w: Float32Array.from([s]) } });
    const [, f20, f30] = (await listCheckpoints(dir)).map((c) => c.file);
    truncateSync(f30!, 70);
    const damaged = readFileSync(f30!);
    const warnings: string[] = [];
    const first = await takeLatestValid(dir, { onWarning: (m) => warnings.push(m) });
    assert.equal(first.checkpoint?.step, 20);
    const moved = join(dir, 'corrupt', checkpointName(30));
    assert.deepEqual(first.corrupt.map((c) => [c.file, c.movedTo]), [[f30, moved]]);
    assert.match(warnings[0]!, new RegExp(`^checkpoint ${f30}: truncated: .*; moved it to ${moved}; falling back to ${f20}$`));
    assert.ok(readFileSync(moved).equals(damaged));
    // The same step damaged again is kept beside the first, not written over it; pruning leaves corrupt/ alone.
    writeFileSync(f30!, 'x');
    await takeLatestValid(dir, { onWarning: () => {} });
    assert.deepEqual(await listCorrupt(dir), [moved, `${moved}.1`]);
    await pruneCheckpoints(dir, 1);
    assert.deepEqual(readdirSync(join(dir, 'corrupt')).sort(), [checkpointName(30), `${checkpointName(30)}.1`]);
    assert.ok(readFileSync(moved).equals(damaged));
  });

  it('loadLatestValid throws I/O errors instead of silently using an older checkpoint', async () => {
    await writeCheckpoint(dir, 1, { meta: {}, arrays: {} });
    mkdirSync(join(dir, checkpointName(2))); // unreadable as a file: EISDIR
    await assert.rejects(loadLatestValid(dir, { onWarning: () => assert.fail('no warning expected') }), { code: 'EISDIR' });
  });

  it('pruneCheckpoints keeps the newest keepLast and removes stale temporary files', async () => {
    for (const s of [1, 2, 3, 4, 5]) await writeCheckpoint(dir, s, { meta: {}, arrays: {} });
    const stale = join(dir, '.ckpt-000000000006.gpck.99.beef.tmp');
    writeFileSync(stale, 'crashed mid-write');
    const deleted = await pruneCheckpoints(dir, 2);
    assert.deepEqual(deleted, [1, 2, 3].map((s) => join(dir, checkpointName(s))).concat(stale));
    assert.deepEqual(readdirSync(dir).sort(), [checkpointName(4), checkpointName(5)]);
    assert.deepEqual(await pruneCheckpoints(dir, 5), []);
    assert.deepEqual(await pruneCheckpoints(join(dir, 'missing'), 1), []);
    await rejectsExactly(pruneCheckpoints(dir, 0), 'keepLast: expected a positive integer, got 0');
  });

  it('rejects bad arguments before writing anything', async () => {
    await rejectsExactly(writeCheckpoint(dir, -1, { meta: {}, arrays: {} }), 'step: expected a non-negative integer, got -1');
    await rejectsExactly(writeCheckpoint(dir, 1.5, { meta: {}, arrays: {} }), 'step: expected a non-negative integer, got 1.5');
    const JSONISH = 'JSON data (null, booleans, finite numbers, strings, arrays, plain objects)';
    await rejectsExactly(writeCheckpoint(dir, 1, { meta: { opt: { lr: NaN } }, arrays: {} }), `meta.opt.lr: expected ${JSONISH}, got NaN`);
    await rejectsExactly(writeCheckpoint(dir, 1, { meta: { x: [1, undefined] }, arrays: {} }), `meta.x[1]: expected ${JSONISH}, got undefined`);
    await rejectsExactly(writeCheckpoint(dir, 1, { meta: { w: new Float32Array(2) }, arrays: {} }), `meta.w: expected ${JSONISH}, got a Float32Array`);
    await rejectsExactly(
      writeCheckpoint(dir, 1, { meta: {}, arrays: { w: [1, 2] as never } }),
      'arrays.w: expected a Float32Array, Float64Array, Uint32Array or Int32Array, got [1,2]',
    );
    await rejectsExactly(
      writeCheckpoint(dir, 1, { meta: {}, arrays: { w: new Uint8Array(2) as never } }),
      'arrays.w: expected a Float32Array, Float64Array, Uint32Array or Int32Array, got a Uint8Array',
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
