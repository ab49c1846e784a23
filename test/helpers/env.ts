import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { loadModel, modelHref } from '../../src/model/load.js';
import type { ModelDef } from '../../src/model/define.js';
import { initBackend } from '../../workers/backend.js';

/** Absolute path of a built fixture model (dist/test/fixtures/models/<name>.js). */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/models/${name}.js`, import.meta.url));
}

/** Loads a fixture model on the main thread (same module instance the pool's coordinator uses). */
export function fixtureModel(name: string): Promise<ModelDef> {
  return loadModel(modelHref(fixture(name)));
}

/** Selects the main thread's tfjs backend the way the workers select theirs, so oracles run on the same kernels. */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  await initBackend(name);
}

/** The backends every correctness test runs on. */
export const BACKENDS = ['wasm', 'cpu'] as const;

/** Mocha hooks: run this describe block on backend `name`, then restore the previous backend. */
export function withBackend(name: 'cpu' | 'wasm'): void {
  let previous: string | undefined;
  before(async () => {
    previous = tf.getBackend();
    await useBackend(name);
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });
}

/** Process warnings emitted while `fn` runs (they arrive on a later tick: one setImmediate flushes them). */
export async function warningsDuring<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const on = (w: Error) => warnings.push(w.message);
  process.on('warning', on);
  try {
    const value = await fn();
    await new Promise((r) => setImmediate(r));
    return { value, warnings };
  } finally {
    process.off('warning', on);
  }
}
