/**
 * Training checkpoints: one self-checking binary file per saved step, written atomically, so a crash
 * at any instant leaves either the previous set of files or the previous set plus one complete new
 * file, never a half-written `ckpt-*.gpck`.
 *
 * File layout (all integers little-endian):
 *
 *     0   8  magic "GPCK\r\n\x1a\n" (the PNG trick: text-mode or 7-bit mangling breaks it visibly)
 *     8   4  u32 format version (1)
 *    12   4  u32 H, the byte length of the header JSON
 *    16  32  SHA-256 of the header JSON bytes (so a flipped digit in `meta` is caught too)
 *    48   H  header JSON: { step, meta, arrays: [{ name, dtype, length, offset }], bodyBytes, bodySha256 }
 *     .   .  zero padding to a multiple of 8
 *     B   .  body: each array's raw bytes at its 8-aligned `offset` from B, zero padding between;
 *            the file ends exactly at B + bodyBytes
 *
 * Arrays are stored as their raw little-endian bytes, so every value (NaN payloads, -0, denormals)
 * round-trips bit-exactly.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errors, GradPoolError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

const MAGIC = Buffer.from('GPCK\r\n\x1a\n', 'latin1');
const VERSION = 1;
const PRELUDE = 48;
const NAME = /^ckpt-(\d+)\.gpck$/;
const STEP_DIGITS = 12;

const CTORS = { float32: Float32Array, float64: Float64Array, uint32: Uint32Array, int32: Int32Array } as const;
/** The element types a checkpoint can hold. */
export type CheckpointDtype = keyof typeof CTORS;
/** An array a checkpoint can hold. */
export type CheckpointArray = Float32Array | Float64Array | Uint32Array | Int32Array;

/** What `writeCheckpoint` stores: JSON metadata (optimizer step, RNG state, job hash, ...) and named arrays. */
export interface CheckpointPayload {
  /** JSON data. Numbers go through JSON, so `-0` comes back as `0`: keep bit-exact values in `arrays`. */
  readonly meta: unknown;
  readonly arrays: Readonly<Record<string, CheckpointArray>>;
}

/** A checkpoint read back from disk. */
export interface Checkpoint extends CheckpointPayload {
  readonly file: string;
  readonly step: number;
  readonly meta: unknown;
  readonly arrays: Record<string, CheckpointArray>;
}

interface ArrayEntry {
  name: string;
  dtype: CheckpointDtype;
  length: number;
  offset: number;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;
const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const bytesOf = (a: CheckpointArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The file name for `step`: zero-padded so a directory listing sorts in step order. */
export function checkpointName(step: number): string {
  return `ckpt-${String(step).padStart(STEP_DIGITS, '0')}.gpck`;
}

function dtypeOf(a: unknown): CheckpointDtype | undefined {
  return (Object.keys(CTORS) as CheckpointDtype[]).find((k) => a instanceof CTORS[k]);
}

/**
 * Writes `payload` as `<dir>/ckpt-<step>.gpck` atomically: the bytes go to a temporary file in the
 * same directory, which is fsynced, renamed into place, and the directory fsynced. Creates `dir` if
 * needed and returns the file's path. An existing checkpoint for the same step is replaced.
 *
 * @example
 * await writeCheckpoint('out', 100, { meta: { jobHash, epoch: 2 }, arrays: { params, m, v } });
 */
export async function writeCheckpoint(dir: string, step: number, payload: CheckpointPayload): Promise<string> {
  if (!Number.isSafeInteger(step) || step < 0) throw errors.invalidOption('step', 'a non-negative integer', step);
  if (typeof payload !== 'object' || payload === null) throw errors.type('payload', 'an object { meta, arrays }', payload);
  checkJson(payload.meta, 'meta');
  if (typeof payload.arrays !== 'object' || payload.arrays === null) throw errors.type('arrays', 'an object of typed arrays', payload.arrays);
  if (endianness() !== 'LE') throw new GradPoolError('ERR_UNSUPPORTED', 'writeCheckpoint: big-endian hosts are not supported');

  const entries: ArrayEntry[] = [];
  const body: Uint8Array[] = [];
  let bodyBytes = 0;
  for (const [name, a] of Object.entries(payload.arrays)) {
    const dtype = dtypeOf(a);
    if (!dtype) throw errors.type(`arrays.${name}`, 'a Float32Array, Float64Array, Uint32Array or Int32Array', a);
    const offset = align8(bodyBytes);
    if (offset > bodyBytes) body.push(new Uint8Array(offset - bodyBytes));
    body.push(bytesOf(a));
    entries.push({ name, dtype, length: a.length, offset });
    bodyBytes = offset + a.byteLength;
  }
  const header = Buffer.from(JSON.stringify({ step, meta: payload.meta, arrays: entries, bodyBytes, bodySha256: sha256(...body).toString('hex') }));
  const prelude = Buffer.alloc(PRELUDE);
  MAGIC.copy(prelude, 0);
  prelude.writeUInt32LE(VERSION, 8);
  prelude.writeUInt32LE(header.length, 12);
  sha256(header).copy(prelude, 16);
  const headerPad = new Uint8Array(align8(PRELUDE + header.length) - PRELUDE - header.length);

  const final = join(dir, checkpointName(step));
  await writeFileAtomic(final, [prelude, header, headerPad, ...body]);
  return final;
}

/** Rejects what JSON would silently change (undefined, NaN, functions, typed arrays, class instances). */
function checkJson(v: unknown, path: string): void {
  const expected = 'JSON data (null, booleans, finite numbers, strings, arrays, plain objects)';
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw errors.invalidOption(path, expected, v);
    return;
  }
  if (Array.isArray(v)) return v.forEach((e, i) => checkJson(e, `${path}[${i}]`));
  if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    for (const [k, e] of Object.entries(v)) checkJson(e, `${path}.${k}`);
    return;
  }
  throw errors.invalidOption(path, expected, v);
}

/**
 * Reads and fully verifies a checkpoint file: magic, version, both checksums, array bounds and the
 * exact file length. Any damage throws `checkpoint <file>: <what is wrong>` (code
 * `ERR_CHECKPOINT_CORRUPT`). Arrays are fresh, aligned copies.
 */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  const buf = await readFile(file);
  const bad = (msg: string) => errors.checkpointCorrupt(file, msg);
  if (buf.length < PRELUDE) throw bad(`truncated: expected at least ${PRELUDE} bytes, got ${buf.length}`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw bad('not a gradpool checkpoint (bad magic bytes)');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw bad(`unsupported format version ${version} (expected ${VERSION})`);
  const headerLen = buf.readUInt32LE(12);
  const bodyStart = align8(PRELUDE + headerLen);
  if (buf.length < bodyStart) throw bad(`truncated: expected at least ${bodyStart} bytes, got ${buf.length}`);
  const headerBytes = buf.subarray(PRELUDE, PRELUDE + headerLen);
  if (!sha256(headerBytes).equals(buf.subarray(16, PRELUDE))) throw bad('header checksum mismatch');
  let header: { step: number; meta: unknown; arrays: ArrayEntry[]; bodyBytes: number; bodySha256: string };
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw bad('header is not valid JSON');
  }
  // The header checksum passed, so a malformed header means a writer bug, not disk damage; still, never trust it blindly.
  if (!Number.isSafeInteger(header?.step) || !Number.isSafeInteger(header.bodyBytes) || !Array.isArray(header.arrays)) throw bad('malformed header');
  const expectedLen = bodyStart + header.bodyBytes;
  if (buf.length < expectedLen) throw bad(`truncated: expected ${expectedLen} bytes, got ${buf.length}`);
  if (buf.length > expectedLen) throw bad(`expected ${expectedLen} bytes, got ${buf.length} (trailing data)`);
  const body = buf.subarray(bodyStart);
  if (sha256(body).toString('hex') !== header.bodySha256) throw bad('body checksum mismatch');
  const named = NAME.exec(file.split(/[\\/]/).pop() ?? '');
  if (named && Number(named[1]) !== header.step) throw bad(`header says step ${header.step}, the file name says ${Number(named[1])}`);

  const arrays: Record<string, CheckpointArray> = {};
  for (const { name, dtype, length, offset } of header.arrays) {
    const Ctor = CTORS[dtype];
    const inBounds = Ctor && offset % 8 === 0 && offset + length * Ctor.BYTES_PER_ELEMENT <= header.bodyBytes;
    if (!inBounds) throw bad(`array ${JSON.stringify(name)} has an invalid entry`);
    const out = new Ctor(length);
    bytesOf(out).set(body.subarray(offset, offset + out.byteLength));
    arrays[name] = out;
  }
  return { file, step: header.step, meta: header.meta, arrays };
}

/** The checkpoints in `dir` (`ckpt-<step>.gpck`), oldest step first; `[]` if `dir` does not exist. Temporary files are not listed. */
export async function listCheckpoints(dir: string): Promise<{ step: number; file: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((n) => [n, NAME.exec(n)] as const)
    .filter(([, m]) => m !== null)
    .map(([n, m]) => ({ step: Number(m![1]), file: join(dir, n) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * The newest checkpoint in `dir` that verifies, or `undefined` if there is none. A damaged file
 * (typically the newest, cut short by a crash or a full disk) is skipped with a warning and the
 * next older one is tried. Other I/O errors (permissions) are thrown, not skipped, so a readable
 * older checkpoint never silently wins over an unreadable newer one.
 */
export async function loadLatestValid(
  dir: string,
  options: { onWarning?: (message: string) => void } = {},
): Promise<Checkpoint | undefined> {
  const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, 'GradPoolWarning'));
  const list = await listCheckpoints(dir);
  for (let i = list.length - 1; i >= 0; i--) {
    try {
      return await readCheckpoint(list[i].file);
    } catch (e) {
      if (!(e instanceof GradPoolError) || e.code !== 'ERR_CHECKPOINT_CORRUPT') throw e;
      warn(`${e.message}; ${i > 0 ? `falling back to ${list[i - 1].file}` : 'no older checkpoint to fall back to'}`);
    }
  }
  return undefined;
}

/** The subdirectory of a checkpoint directory that damaged checkpoints are moved into. */
export const CORRUPT_DIR = 'corrupt';

/** A damaged checkpoint that was moved aside: where it was, where it is now, and what is wrong with it. */
export interface CorruptCheckpoint {
  readonly file: string;
  readonly movedTo: string;
  readonly reason: string;
}

/** A free name for `name` in `dir`: `name`, else `name.1`, `name.2`, … (a rename would overwrite earlier evidence). */
async function freeName(dir: string, name: string): Promise<string> {
  for (let i = 0; ; i++) {
    const candidate = join(dir, i === 0 ? name : `${name}.${i}`);
    const taken = await stat(candidate).then(
      () => true,
      (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)),
    );
    if (!taken) return candidate;
  }
}

/**
 * Like {@link loadLatestValid}, for the one trainer that owns `dir`: every damaged checkpoint it
 * skips is moved into `<dir>/corrupt/`, never deleted, so pruning cannot remove the evidence and
 * the resumed run cannot write over it when it saves the same step again. Returns the newest valid
 * checkpoint (if any) and the files moved, each with a warning.
 */
export async function takeLatestValid(
  dir: string,
  options: { onWarning?: (message: string) => void } = {},
): Promise<{ checkpoint: Checkpoint | undefined; corrupt: CorruptCheckpoint[] }> {
  const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, 'GradPoolWarning'));
  const list = await listCheckpoints(dir);
  const corrupt: CorruptCheckpoint[] = [];
  for (let i = list.length - 1; i >= 0; i--) {
    try {
      return { checkpoint: await readCheckpoint(list[i].file), corrupt };
    } catch (e) {
      if (!(e instanceof GradPoolError) || e.code !== 'ERR_CHECKPOINT_CORRUPT') throw e;
      await mkdir(join(dir, CORRUPT_DIR), { recursive: true });
      const movedTo = await freeName(join(dir, CORRUPT_DIR), basename(list[i].file));
      await rename(list[i].file, movedTo);
      corrupt.push({ file: list[i].file, movedTo, reason: e.message.slice(`checkpoint ${list[i].file}: `.length) });
      warn(`${e.message}; moved it to ${movedTo}; ${i > 0 ? `falling back to ${list[i - 1].file}` : 'no older checkpoint to fall back to'}`);
    }
  }
  return { checkpoint: undefined, corrupt };
}

/** The files in `<dir>/corrupt/` (damaged checkpoints moved aside earlier), sorted; `[]` if there are none. */
export async function listCorrupt(dir: string): Promise<string[]> {
  const names = await readdir(join(dir, CORRUPT_DIR)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  return names.sort().map((n) => join(dir, CORRUPT_DIR, n));
}

/**
 * Deletes all but the `keepLast` newest checkpoints in `dir`, plus temporary files left by writes
 * that crashed (one trainer owns a directory, so no write is in flight). Returns the deleted paths.
 * Damaged checkpoints moved into `corrupt/` are never listed here, so never pruned.
 */
export async function pruneCheckpoints(dir: string, keepLast: number): Promise<string[]> {
  if (!Number.isSafeInteger(keepLast) || keepLast < 1) throw errors.invalidOption('keepLast', 'a positive integer', keepLast);
  const list = await listCheckpoints(dir);
  const doomed = list.slice(0, Math.max(0, list.length - keepLast)).map((c) => c.file);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) if (/^\.ckpt-\d+\.gpck\..*\.tmp$/.test(n)) doomed.push(join(dir, n));
  for (const f of doomed) await rm(f, { force: true });
  return doomed;
}
