/**
 * How a DP step clips: by ghost norms (workers/executors/vectorized/ghost.ts: a dense layer's
 * per-sample gradient norms from its activations and output gradients, never materialised) or per
 * sample (every per-sample gradient materialised, chunk by chunk). Both give the same clipped sum to
 * float32 precision; each is bit-identical for any thread count.
 */
import type { ExecutorName } from '../shared/protocol.js';
import { errors, raw } from '../errors.js';

/** `dp.clipping`: `'auto'` (default) is ghost clipping where the executor has it, per-sample otherwise. */
export type Clipping = 'auto' | 'ghost' | 'per-sample';
export const CLIPPINGS: readonly Clipping[] = ['auto', 'ghost', 'per-sample'];

/** A DP step's clipping, as the chunk phase takes it. */
export interface ClipSpec {
  maxGradNorm: number;
  ghost: boolean;
}

/** What the last DP step clipped with, and why (in `pool.stats().dpClipping`). */
export interface ClippingChoice {
  mode: 'ghost' | 'per-sample';
  reason: string;
}

const warned = new WeakSet<object>();

/**
 * Resolves `clipping` for a pool running `executor`; `'ghost'` on a pool that cannot is refused
 * naming both. Warns once per `pool` (any object standing for it) when 'auto' falls back.
 */
export function chooseClipping(executor: ExecutorName, pool: object, clipping: Clipping = 'auto'): ClippingChoice {
  const vectorized = executor === 'vectorized';
  if (clipping === 'ghost' && !vectorized)
    throw errors.invalidOption('dp.clipping', "'auto' or 'per-sample' on a pool whose executor is 'loop' (ghost clipping reads norms off the vectorized executor's batched gradients)", raw("'ghost'"));
  if (clipping === 'per-sample') return { mode: 'per-sample', reason: "dp.clipping 'per-sample'" };
  if (vectorized) return { mode: 'ghost', reason: clipping === 'ghost' ? "dp.clipping 'ghost'" : "dp.clipping 'auto' on the vectorized executor" };
  const reason = "dp.clipping 'auto': per-sample clipping, because the pool runs the loop executor (ghost clipping needs the vectorized one)";
  if (!warned.has(pool)) {
    warned.add(pool);
    process.emitWarning(reason, 'GradPoolWarning');
  }
  return { mode: 'per-sample', reason };
}
