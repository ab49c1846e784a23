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
