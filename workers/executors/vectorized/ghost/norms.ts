/**
 * Per-sample squared gradient norms from each ghost form, in float64, added into `ss` [n]:
 * - Gram (Li et al. 2021 §4): ‖Σ_t a_tᵀb_t‖² = Σ_{t,s} (a_t·a_s)(b_t·b_s) = ⟨AAᵀ, BBᵀ⟩; T = 1 is ‖a‖²‖b‖².
 * - scatter: ‖Σ_t e_{tok_t} ⊗ g_t‖² = Σ_{t,s} [tok_t = tok_s] (g_t·g_s); ids outside [0, V) add
 *   nothing (UnsortedSegmentSum drops them).
 * - per-sample: the sum of squares of each sample's row.
 */
const dot = (v: Float32Array, i: number, j: number, width: number): number => {
  let s = 0;
  for (let k = 0; k < width; k++) s += v[i + k]! * v[j + k]!;
  return s;
};

/** Gram form: a [n, T, M], b [n, T, P]. */
export function addGramNorms(a: Float32Array, b: Float32Array, n: number, T: number, M: number, P: number, ss: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      const at = (i * T + t) * M;
      const bt = (i * T + t) * P;
      s += dot(a, at, at, M) * dot(b, bt, bt, P);
      for (let u = 0; u < t; u++) s += 2 * dot(a, at, (i * T + u) * M, M) * dot(b, bt, (i * T + u) * P, P);
    }
    ss[i] += s;
  }
}

/** Scatter form: ids [n, T] into a table of V rows, rows g [n, T, D]. */
export function addScatterNorms(ids: Int32Array, g: Float32Array, n: number, T: number, D: number, V: number, ss: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      const tok = ids[i * T + t]!;
      if (tok < 0 || tok >= V) continue;
      const gt = (i * T + t) * D;
      s += dot(g, gt, gt, D);
      for (let u = 0; u < t; u++) if (ids[i * T + u] === tok) s += 2 * dot(g, gt, (i * T + u) * D, D);
    }
    ss[i] += s;
  }
}

/** Per-sample values v [n, width]. */
export function addRowNorms(v: Float32Array, n: number, width: number, ss: Float64Array): void {
  for (let i = 0; i < n; i++) ss[i] += dot(v, i * width, i * width, width);
}
