/**
 * A worker's part of `pool.vmap`: import the user's function (once per module and export), claim
 * chunks of the batch, and run each with the same `runChunk` as the in-process `vmap`, on this
 * worker's backend, under the call's random keys. Only the chunk's rows are uploaded.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../src/errors.js';
import { ensureResolveHook } from '../src/model/load.js';
import { ensureVmapBackend, runChunk } from '../src/shared/batching/index.js';
import { REGION, regionView, type VmapChunkResult, type VmapLeaf, type VmapTask } from '../src/shared/protocol.js';
import type { Structure } from '../src/shared/pytree.js';
import { withRandomness } from '../src/shared/random/scope.js';
import { claim } from './claim.js';

const functions = new Map<string, Promise<(...args: unknown[]) => unknown>>();

/** The function `fn.export` of module `fn.module`, imported once per thread. */
function importFunction(fn: VmapTask['fn']): Promise<(...args: unknown[]) => unknown> {
  const key = `${fn.module}#${fn.export}`;
  let p = functions.get(key);
  if (!p) {
    ensureResolveHook();
    p = import(fn.module).then((mod: Record<string, unknown>) => {
      const f = mod[fn.export];
      if (typeof f !== 'function') throw errors.invalidOption('fnRef.export', `the name of a function exported by ${fn.module}`, f === undefined ? fn.export : f);
      return f as (...args: unknown[]) => unknown;
    });
    p.catch(() => functions.delete(key));
    functions.set(key, p);
  }
  return p;
}

const ARRAYS = { float32: Float32Array, int32: Int32Array, bool: Uint8Array } as const;

/** Rows [start, end) of a leaf as a tensor (the whole leaf when it is not batched). */
function rows(leaf: VmapLeaf, start: number, end: number): tf.Tensor {
  const all = new ARRAYS[leaf.dtype](leaf.buffer as unknown as ArrayBuffer);
  if (!leaf.batched) return tf.tensor(all, leaf.shape, leaf.dtype);
  const row = leaf.shape.slice(1).reduce((a, b) => a * b, 1);
  return tf.tensor(all.subarray(start * row, end * row), [end - start, ...leaf.shape.slice(1)], leaf.dtype);
}

/** Runs the chunks this worker claims; returns their outputs. */
export async function runVmapTask(task: VmapTask): Promise<{ done: number; results: VmapChunkResult[] }> {
  const f = await importFunction(task.fn);
  const vm = ensureVmapBackend(tf.getBackend());
  const ctl = regionView(task.regions, REGION.ctl);
  const units = Math.ceil(task.n / task.chunkSize);
  const results: VmapChunkResult[] = [];
  const done = withRandomness(task.random, () =>
    claim(ctl, units, (c) => {
      const start = c * task.chunkSize;
      const end = Math.min(task.n, start + task.chunkSize);
      const leaves = task.leaves.map((l) => rows(l, start, end));
      try {
        const out = runChunk(vm, f, { structure: task.args as Structure, leaves, batched: task.leaves.map((l) => l.batched), n: end - start, first: start }, 0, end - start);
        try {
          results.push({ index: c, structure: out.structure, outs: out.outs.map((t, j) => ({ data: t.dataSync() as VmapChunkResult['outs'][number]['data'], shape: t.shape, dtype: t.dtype as VmapLeaf['dtype'], batched: out.batched[j]! })) });
        } finally {
          out.outs.forEach((t) => t.dispose());
        }
      } finally {
        leaves.forEach((t) => t.dispose());
      }
    }),
  "Call pool.vmap(fnRef, { randomness: 'different' }) (a draw per sample) or { randomness: 'same' } (one draw shared by the batch) to allow them");
  return { done, results };
}
