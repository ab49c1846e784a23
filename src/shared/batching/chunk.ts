/**
 * One chunk of a vmap call: samples [start, start + m) of the prepared arguments, run through `f` on
 * the vmap backend. The in-process `vmap` (src/frontend/vmap.ts) and the pool's workers
 * (`pool.vmap`, workers/vmap.ts) run chunks with this one function, so both compute the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import { flatten, unflatten, type Structure } from '../pytree.js';
import type { VmapBackend } from './backend.js';
import { runBatched } from './vectorize.js';

/** A call's arguments flattened: each leaf with its batch axis first (when batched), and their tree. */
export interface PreparedArgs {
  structure: Structure;
  leaves: tf.Tensor[];
  batched: boolean[];
  /** The batch size (of these leaves). */
  n: number;
  /** Index in the whole batch of these leaves' first sample (a worker holds only its chunk's rows); default 0. */
  first?: number;
}

/** One chunk's output: f's output tree and its leaves as inner-backend tensors (see runBatched). */
export interface ChunkOut {
  structure: Structure;
  outs: tf.Tensor[];
  batched: boolean[];
  /** Samples in the chunk. */
  m: number;
}

/**
 * Runs `f` (called with the argument tree, per sample) on samples [start, start + m). Random ops draw
 * as samples start… of the whole batch (under an active withRandomness), so a chunk's draws do not
 * depend on how the batch was cut.
 */
export function runChunk(vm: VmapBackend, f: (...args: unknown[]) => unknown, a: PreparedArgs, start: number, m: number): ChunkOut {
  let structure: Structure | undefined;
  const call = (...leaves: tf.Tensor[]): tf.Tensor[] => {
    const out = flatten(f(...(unflatten(a.structure, leaves) as unknown[])), "f's output");
    structure = out.structure;
    return out.leaves;
  };
  const sliced = a.leaves.map((t, i) => (a.batched[i] && m !== a.n ? tf.slice(t, [start], [m]) : t));
  try {
    return { ...runBatched(vm, m, (a.first ?? 0) + start, call, sliced, a.batched), structure: structure!, m };
  } finally {
    sliced.forEach((t, i) => t !== a.leaves[i] && t.dispose());
  }
}

/** True when two chunks' output trees are the same (f must return one structure for every chunk). */
export const sameStructure = (a: Structure, b: Structure): boolean => JSON.stringify(a) === JSON.stringify(b);
