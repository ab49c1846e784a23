/**
 * `pool.vmap`: the in-process `vmap` spread over the pool's workers. Functions cannot cross threads,
 * so the function is named by module and export, and every worker imports it. The coordinator
 * flattens the arguments and moves their batch axes first (as vmap does), copies the leaves into
 * shared buffers (one per leaf and size, reused across calls), the workers claim chunks and run each
 * with vmap's own `runChunk`, and the coordinator assembles the chunks with vmap's `assemble`.
 * Chunks never depend on the thread count, so neither do the bits.
 */
import * as tf from '@tensorflow/tfjs';
import type { PoolCore } from './core.js';
import { errors } from './errors.js';
import { assemble, disposeMoved, parseVmapOptions, prepareArgs, type VmapOptions } from './frontend/vmap.js';
import { modelHref } from './model/load.js';
import type { ChunkOut } from './shared/batching/index.js';
import type { VmapLeaf } from './shared/protocol.js';
import type { Structure } from './shared/pytree.js';

/** A function every worker can import: `{ module: new URL('./f.js', import.meta.url), export: 'f' }`. */
export interface FnRef {
  module: string | URL;
  export: string;
}

const DTYPES = ['float32', 'int32', 'bool'] as const;

function checkFnRef(fnRef: unknown): { module: string; export: string } {
  if (fnRef === null || typeof fnRef !== 'object' || Array.isArray(fnRef)) throw errors.type('fnRef', "an object { module, export } (functions cannot cross threads: name the module that exports it)", fnRef);
  const r = fnRef as Record<string, unknown>;
  for (const key of Object.keys(r)) if (key !== 'module' && key !== 'export') throw errors.unknownField(`fnRef.${key}`, ['module', 'export']);
  if (!(r.module instanceof URL) && !(typeof r.module === 'string' && r.module.length > 0)) throw errors.type('fnRef.module', 'a module path, file URL string or URL', r.module);
  if (typeof r.export !== 'string' || r.export.length === 0) throw errors.type('fnRef.export', "the name of the module's export (e.g. 'default')", r.export);
  return { module: modelHref(r.module as string | URL), export: r.export };
}

/** Default samples per chunk: an eighth of the batch (up to 8 threads share it), at least 32; never the thread count. */
const defaultChunk = (n: number) => Math.max(32, Math.ceil(n / 8));

/** The function `pool.vmap` returns (see GradPool.vmap). */
export function poolVmap<A extends unknown[], R>(core: PoolCore, fnRef: FnRef, options?: VmapOptions): (...args: A) => Promise<R> {
  const fn = checkFnRef(fnRef);
  const o = parseVmapOptions(options, () => core.options.seed);
  const buffers = new Map<string, SharedArrayBuffer>();
  let call = 0;
  return async (...args: A): Promise<R> => {
    core.assertOpen('vmap');
    const prepared = prepareArgs(args, o.inAxes);
    try {
      const leaves: VmapLeaf[] = prepared.leaves.map((t, i) => {
        if (!(DTYPES as readonly string[]).includes(t.dtype)) throw errors.type(`args leaf ${i}`, 'a float32, int32 or bool tensor', t.dtype);
        const data = t.dataSync() as Float32Array | Int32Array | Uint8Array;
        const key = `${i}:${data.byteLength}`;
        let buffer = buffers.get(key);
        if (!buffer) buffers.set(key, (buffer = new SharedArrayBuffer(data.byteLength)));
        new Uint8Array(buffer).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        return { buffer, shape: t.shape, dtype: t.dtype as VmapLeaf['dtype'], batched: prepared.batched[i]! };
      });
      const chunkSize = o.chunkSize ?? defaultChunk(prepared.n);
      const random = { mode: o.randomness, seed: o.seed, call: call++ };
      const results = await core.serial('vmap', () => core.runVmap({ fn, args: prepared.structure, leaves, n: prepared.n, chunkSize, random }));
      const chunks: ChunkOut[] = results
        .sort((a, b) => a.index - b.index)
        .map((r) => ({ structure: r.structure as Structure, outs: r.outs.map((x) => tf.tensor(x.data, x.shape, x.dtype)), batched: r.outs.map((x) => x.batched), m: Math.min(chunkSize, prepared.n - r.index * chunkSize) }));
      try {
        return assemble(chunks, o.outAxes) as R;
      } finally {
        chunks.forEach((c) => c.outs.forEach((t) => t.dispose()));
      }
    } finally {
      disposeMoved(prepared, args);
    }
  };
}
