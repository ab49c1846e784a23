/**
 * Ghost clipping for DP-SGD (Li et al. 2021; Bu et al. 2022's book-keeping and mixed variants): a
 * chunk's sum of clipped per-sample gradients from each parameter's ghost form (forms.ts), never
 * materialising a dense layer's or an embedding's per-sample gradient. Norms come first (norms.ts),
 * then, with every sample's clip factor fᵢ known:
 * - Gram: Σᵢ fᵢ AᵢᵀBᵢ = (f ⊙ A)ᵀ B, one GEMM over the stacked n·T rows with fᵢ repeated T times;
 * - scatter: fᵢ g_t added into row tok_t of the table, in float64;
 * - per-sample: Σᵢ fᵢ Gᵢ in float64, as the per-sample path sums.
 * No second backward pass: the operands are the book-kept activations and output gradients.
 *
 * The result equals the per-sample path's to float32 precision (the GEMM sums in float32), and a
 * chunk gives the same bits every time, so any thread count gives the same bits.
 */
import type * as tf from '@tensorflow/tfjs';
import type { VmapBackend } from '../../../../src/shared/batching/backend.js';
import type { GhostGrad } from './forms.js';
import { addGramNorms, addRowNorms, addScatterNorms } from './norms.js';

/**
 * Writes per-sample norms into `norms` and adds the clipped sum into `row` (zeroed by the caller) at
 * `offsets[p]`. Returns false — the caller redoes the chunk the reference way — when a loss or norm
 * is not finite.
 */
export function ghostClippedSum(vm: VmapBackend, grads: GhostGrad[], sizes: number[], offsets: number[], n: number, losses: Float32Array, norms: Float32Array, row: Float64Array, clip: number): boolean {
  for (let i = 0; i < n; i++) if (!Number.isFinite(losses[i]!)) return false;
  const read = (info: tf.TensorInfo) => vm.heapView(info) ?? (vm.inner.readSync(info.dataId) as Float32Array);
  const readIds = (info: tf.TensorInfo) => Int32Array.from(vm.inner.readSync(info.dataId) as Int32Array);
  const ss = new Float64Array(n);
  grads.forEach((g, p) => {
    if (g.form === 'gram') addGramNorms(read(g.a), read(g.b), n, g.T, g.M, g.P, ss);
    else if (g.form === 'scatter') addScatterNorms(readIds(g.ids), read(g.values), n, g.T, g.D, sizes[p]! / g.D, ss);
    else addRowNorms(read(g.values), n, sizes[p]!, ss);
  });
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    norms[i] = Math.sqrt(ss[i]!);
    if (!Number.isFinite(norms[i]!)) return false;
    f[i] = Math.min(1, clip / (norms[i]! + 1e-6));
  }
  grads.forEach((g, p) => {
    const off = offsets[p]!;
    if (g.form === 'gram') return scaledGramSum(vm, g, f, n, row, off);
    if (g.form === 'scatter') return scatterAdd(readIds(g.ids), read(g.values), f, n, g.T, g.D, sizes[p]! / g.D, row, off);
    const v = read(g.values);
    const sz = sizes[p]!;
    for (let i = 0; i < n; i++) {
      const fi = f[i]!;
      for (let k = 0, base = i * sz; k < sz; k++) row[off + k] += fi * v[base + k]!;
    }
  });
  return true;
}

/** Σᵢ fᵢ Σ_t e_{tok_t} ⊗ g_t into the table's rows in `row` at `off` (ids outside [0, V) dropped). */
function scatterAdd(ids: Int32Array, g: Float32Array, f: Float32Array, n: number, T: number, D: number, V: number, row: Float64Array, off: number): void {
  for (let i = 0; i < n; i++) {
    const fi = f[i]!;
    for (let t = 0; t < T; t++) {
      const tok = ids[i * T + t]!;
      if (tok < 0 || tok >= V) continue;
      for (let d = 0, src = (i * T + t) * D, dst = off + tok * D; d < D; d++) row[dst + d] += fi * g[src + d]!;
    }
  }
}

/** Writes (f ⊙ A)ᵀ·B over the n·T stacked rows, the clipped sum of a Gram form ([M·P] values), into `row` at `off`. */
function scaledGramSum(vm: VmapBackend, g: Extract<GhostGrad, { form: 'gram' }>, f: Float32Array, n: number, row: Float64Array, off: number): void {
  const { T, M, P } = g;
  const rows = n * T;
  const rep = new Float32Array(rows);
  for (let i = 0; i < n; i++) rep.fill(f[i]!, i * T, (i + 1) * T);
  const temps: tf.TensorInfo[] = [];
  const call = (k: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}) => {
    const out = vm.callInner(k, inputs, attrs) as tf.TensorInfo;
    temps.push(out);
    return out;
  };
  const factors = { dataId: vm.inner.write(rep, [rows, 1], 'float32'), shape: [rows, 1], dtype: 'float32' as const };
  temps.push(factors);
  try {
    const fa = call('Multiply', { a: { ...g.a, shape: [rows, M] }, b: factors });
    // An explicit transpose, as VmapBackend.batchSum does: tfjs-wasm's transposeA GEMM is ~2× slower.
    const faT = call('Transpose', { x: fa }, { perm: [1, 0] });
    const out = call('BatchMatMul', { a: { ...faT, shape: [1, M, rows] }, b: { ...g.b, shape: [1, rows, P] } }, { transposeA: false, transposeB: false });
    row.set(vm.heapView({ ...out, shape: [M * P] }) ?? (vm.inner.readSync(out.dataId) as Float32Array), off);
  } finally {
    for (const t of temps) vm.release(t.dataId);
  }
}
