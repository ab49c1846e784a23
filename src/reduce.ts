/**
 * Deterministic reductions over the batch. Every sum here runs in a fixed order (chunk 0, 1, 2, … of
 * the f64 partials; sample 0, 1, 2, … of the losses) in float64, so the result does not depend on how
 * many threads produced the partials. See src/shard.ts for the other half of the argument.
 */

/** out[k] = scale * Σ_c partial[c*P + k] for k in [lo, hi), summed over chunks in order. */
export function reducePartials(partial: Float64Array, numChunks: number, P: number, scale: number, out: Float32Array | Float64Array, lo = 0, hi = P): void {
  for (let k = lo; k < hi; k++) {
    let s = 0;
    for (let c = 0; c < numChunks; c++) s += partial[c * P + k]!;
    out[k] = s * scale;
  }
}

/** Σ values[i] in index order, in float64. */
export function orderedSum(values: ArrayLike<number>, n = values.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i]!;
  return s;
}
