/**
 * How a DP step clips: by ghost norms (workers/executors/vectorized/ghost/: each parameter's
 * per-sample gradient norm from the rule of the op using it — a dense layer's Gram or outer product,
 * an embedding's ids and rows, per-sample gradients for conv filters, biases and scales — never
 * materialising a dense layer's or an embedding's per-sample gradient) or per sample (every
 * per-sample gradient materialised, chunk by chunk). Both give the same clipped sum to float32
 * precision; each is bit-identical for any thread count.
 */
import type { ExecutorName } from '../shared/protocol.js';
import { errors, raw } from '../errors.js';
import type { ModelDef } from '../model/define.js';
import { coverageSummary, missingRule, type GhostCoverage } from '../shared/ghost-coverage.js';

/** `dp.clipping`: `'auto'` (default) is ghost clipping where every parameter has a ghost rule, per-sample otherwise. */
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
  /** Ghost clipping: each parameter's rule and form, with the cost figures (`W: 'dense: Gram over 5 positions (…)'`). */
  parameters?: Record<string, string>;
}

const warned = new WeakSet<object>();
const coverages = new WeakMap<ModelDef, GhostCoverage>();

/**
 * Records what the creation probe found about `model`'s ghost rules (absent: no vectorized probe).
 *
 * @example
 * ```ts
 * noteGhostCoverage(model, described.ghost); // once, at GradPool.create
 * ```
 */
export function noteGhostCoverage(model: ModelDef, coverage: GhostCoverage | undefined): void {
  if (coverage) coverages.set(model, coverage);
}

function warnOnce(pool: object, reason: string): void {
  if (warned.has(pool)) return;
  warned.add(pool);
  process.emitWarning(reason, 'GradPoolWarning');
}

/**
 * Resolves `clipping` for a pool running `executor` on `model`; `'ghost'` on a pool that cannot is
 * refused naming the executor, or the op (kernel) and parameter without a ghost-norm rule. Warns
 * once per `pool` (any object standing for it) when 'auto' falls back.
 *
 * @example
 * ```ts
 * chooseClipping('vectorized', pool, 'auto', model); // { mode: 'ghost', reason: "dp.clipping 'auto' on the vectorized executor: …", parameters: { W: 'dense: outer product …' } }
 * ```
 */
export function chooseClipping(executor: ExecutorName, pool: object, clipping: Clipping = 'auto', model?: ModelDef): ClippingChoice {
  const vectorized = executor === 'vectorized';
  if (clipping === 'ghost' && !vectorized)
    throw errors.invalidOption('dp.clipping', "'auto' or 'per-sample' on a pool whose executor is 'loop' (ghost clipping reads norms off the vectorized executor's batched gradients)", raw("'ghost'"));
  if (clipping === 'per-sample') return { mode: 'per-sample', reason: "dp.clipping 'per-sample'" };
  if (!vectorized) {
    const reason = "dp.clipping 'auto': per-sample clipping, because the pool runs the loop executor (ghost clipping needs the vectorized one)";
    warnOnce(pool, reason);
    return { mode: 'per-sample', reason };
  }
  const coverage = model && coverages.get(model);
  const missing = coverage?.missing[0];
  if (missing) {
    if (clipping === 'ghost') throw errors.invalidOption('dp.clipping', `'auto' or 'per-sample' for this model (${missingRule(missing)})`, raw("'ghost'"));
    const reason = `dp.clipping 'auto': per-sample clipping, because ${missingRule(missing)}`;
    warnOnce(pool, reason);
    return { mode: 'per-sample', reason };
  }
  const reason = clipping === 'ghost' ? "dp.clipping 'ghost'" : "dp.clipping 'auto' on the vectorized executor";
  return { mode: 'ghost', reason, ...(coverage ? { parameters: coverageSummary(coverage) } : {}) };
}
