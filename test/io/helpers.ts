/**
 * Shared bits for the io tests: fixture paths (the data fixtures are not compiled, so they are read
 * from test/fixtures/data in the source tree), and scratch directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of test/fixtures/data/<name> (this file runs from dist/test/io/). */
export function dataFixture(name: string): string {
  return fileURLToPath(new URL(`../../../test/fixtures/data/${name}`, import.meta.url));
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-io-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A minimal .npy v1.0 writer: magic, version, u16 header length, the dict padded to 64 bytes, then the raw data. */
export function npy(descr: string, shape: number[], data: Uint8Array, fortran = false): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  dict += ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
  const prelude = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, dict.length & 0xff, dict.length >> 8]);
  return Buffer.concat([prelude, Buffer.from(dict, 'latin1'), data]);
}
