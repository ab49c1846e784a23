/**
 * Ghost clipping for DP-SGD (Li et al. 2021; Bu et al. 2022's book-keeping variant): a chunk's sum
 * of clipped per-sample gradients without materialising a dense layer's per-sample weight gradients.
 * In sum mode the vmap backend keeps each such gradient as a lazy outer product aᵢᵀbᵢ (activations
 * [n, M] and output gradients [n, P]), so its per-sample norm is ‖aᵢ‖·‖bᵢ‖, and once every sample's
 * clip factor fᵢ is known, Σᵢ fᵢ aᵢᵀbᵢ = (f ⊙ a)ᵀ b is one GEMM. Every other parameter's gradient
 * (biases, conv filters, …) comes out per sample, as on the per-sample path, and is summed in float64.
 * No second backward pass is needed: the lazy operands are the book-kept activations and gradients.
 *
 * The result equals the per-sample path's to float32 precision (the GEMM sums in float32 where the
 * per-sample path sums in float64), and for a chunk it is the same bits every time, so any thread
 * count gives the same bits.
 */
import type * as tf from '@tensorflow/tfjs';
import type { VmapBackend } from '../../../src/shared/batching/backend.js';
import type { LazyOuter } from '../../../src/shared/batching/values.js';

/** One parameter's chunk gradient: a lazy outer product's operands, or the per-sample values `[n, ...shape]`. */
export type GhostGrad = { outer: LazyOuter } | { dense: tf.TensorInfo };

/** The inner data a ghost gradient holds, in export order (what a traced run hands back). */
export const ghostInfos = (g: GhostGrad): tf.TensorInfo[] => ('outer' in g ? [g.outer.a, g.outer.b] : [g.dense]);

/** Rebuilds the gradients from exported inner data and which parameters were outer products. */
export function fromInfos(infos: tf.TensorInfo[], outer: readonly boolean[]): GhostGrad[] {
  let at = 0;
  return outer.map((o) => {
    if (!o) return { dense: infos[at++]! };
    const [a, b] = [infos[at++]!, infos[at++]!];
    return { outer: { a, b, shape: [a.shape[0]!, a.shape[1]!, b.shape[2]!] } };
  });
}

/**
 * Writes per-sample norms into `norms` and adds the clipped sum into `row` (zeroed by the caller) at
 * `offsets[p]`. Returns false — the caller redoes the chunk the reference way — when a loss or norm
 * is not finite.
 */
export function ghostClippedSum(vm: VmapBackend, grads: GhostGrad[], sizes: number[], offsets: number[], n: number, losses: Float32Array, norms: Float32Array, row: Float64Array, clip: number): boolean {
  for (let i = 0; i < n; i++) if (!Number.isFinite(losses[i]!)) return false;
  const read = (info: tf.TensorInfo) => vm.heapView(info) ?? (vm.inner.readSync(info.dataId) as Float32Array);
  const rowSquares = (v: Float32Array, width: number, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = i * width, end = k + width; k < end; k++) s += v[k]! * v[k]!;
      out[i] = s;
    }
  };
  const ss = new Float64Array(n);
  const sa = new Float64Array(n);
  const sb = new Float64Array(n);
  grads.forEach((g, p) => {
    if ('outer' in g) {
      const [, M, P] = g.outer.shape as [number, number, number];
      rowSquares(read(g.outer.a), M, sa);
      rowSquares(read(g.outer.b), P, sb);
      for (let i = 0; i < n; i++) ss[i] += sa[i]! * sb[i]!;
    } else {
      rowSquares(read(g.dense), sizes[p]!, sa);
      for (let i = 0; i < n; i++) ss[i] += sa[i]!;
    }
  });
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    norms[i] = Math.sqrt(ss[i]!);
    if (!Number.isFinite(norms[i]!)) return false;
    f[i] = Math.min(1, clip / (norms[i]! + 1e-6));
  }
  const factors = { dataId: vm.inner.write(f, [n, 1], 'float32'), shape: [n, 1], dtype: 'float32' as const };
  try {
    grads.forEach((g, p) => {
      const off = offsets[p]!;
      if ('outer' in g) return scaledOuterSum(vm, g.outer, factors, row, off);
      const v = read(g.dense);
      const sz = sizes[p]!;
      for (let i = 0; i < n; i++) {
        const fi = f[i]!;
        for (let k = 0, base = i * sz; k < sz; k++) row[off + k] += fi * v[base + k]!;
      }
    });
  } finally {
    vm.release(factors.dataId);
  }
  return true;
}

/** Writes (f ⊙ a)ᵀ·b, the clipped sum of a lazy outer product's rows ([M·P] values), into `row` at `off`. */
function scaledOuterSum(vm: VmapBackend, l: LazyOuter, factors: tf.TensorInfo, row: Float64Array, off: number): void {
  const [n, M, P] = l.shape as [number, number, number];
  const temps: tf.TensorInfo[] = [];
  const call = (k: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}) => {
    const out = vm.callInner(k, inputs, attrs) as tf.TensorInfo;
    temps.push(out);
    return out;
  };
  try {
    const fa = call('Multiply', { a: { ...l.a, shape: [n, M] }, b: factors });
    // An explicit transpose, as VmapBackend.batchSum does: tfjs-wasm's transposeA GEMM is ~2× slower.
    const faT = call('Transpose', { x: fa }, { perm: [1, 0] });
    const out = call('BatchMatMul', { a: { ...faT, shape: [1, M, n] }, b: { ...l.b, shape: [1, n, P] } }, { transposeA: false, transposeB: false });
    row.set(vm.heapView({ ...out, shape: [M * P] }) ?? (vm.inner.readSync(out.dataId) as Float32Array), off);
  } finally {
    for (const t of temps) vm.release(t.dataId);
  }
}
