/**
 * Shared bits for the io tests: fixture paths (the data fixtures are not compiled, so they are read
 * from test/fixtures/data in the source tree), scratch directories, and exact-error assertions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GradPoolError } from '../../src/errors.js';

/** Absolute path of test/fixtures/data/<name> (this file runs from dist/test/io/). */
export function dataFixture(name: string): string {
  return fileURLToPath(new URL(`../../../test/fixtures/data/${name}`, import.meta.url));
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-io-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function check(e: unknown, message: string, code?: string): true {
  assert.ok(e instanceof GradPoolError, `expected a GradPoolError, got ${String(e)}`);
  assert.equal(e.message, message);
  if (code) assert.equal(e.code, code);
  return true;
}

/** Asserts `fn` throws a GradPoolError with exactly `message` (and `code` when given). */
export function throwsExactly(fn: () => unknown, message: string, code?: string): void {
  assert.throws(fn, (e: unknown) => check(e, message, code));
}

/** Asserts the promise rejects with a GradPoolError with exactly `message` (and `code` when given). */
export async function rejectsExactly(p: Promise<unknown> | (() => Promise<unknown>), message: string, code?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => check(e, message, code));
}

/** Bitwise equality of two typed arrays (NaN payloads and -0 included). */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}
