/**
 * The vectorized `sumGrads` fast path: a chunk's (clipped) gradient sum read straight off the batched
 * per-sample gradients in the inner backend's memory, without copying them out first. For the MNIST
 * MLP, summing through tfjs-wasm kernels was slower than the gradients themselves (its GEMV and
 * axis-0 reductions over [n, 100352] take ~40 ms), and the worker's generic path copies every
 * per-sample gradient once more; this reads each value once, in sample order, in float64.
 *
 * With `clip`, per-sample norms come first (inner Square + Sum kernels), then Σ_i f_i G_p[i] with
 * f_i = min(1, clip / (norm_i + 1e-6)); without, one pass computes norms and the plain sum together.
 */
import * as tf from '@tensorflow/tfjs';
import type { VmapBackend } from '../../../src/shared/batching/backend.js';

/**
 * Given each parameter's batched gradient as inner data `[n, ...shape_p]` (owned by the caller), writes
 * per-sample norms into `norms` and adds the (clipped) sum into `row` at `offsets[p]`, which the caller
 * zeroed. Returns false — the caller then redoes the chunk the reference way — if a sample's loss or
 * norm is not finite.
 */
export function sumBatchedGrads(vm: VmapBackend, grads: tf.TensorInfo[], sizes: number[], offsets: number[], n: number, losses: Float32Array, norms: Float32Array, row: Float64Array, clip?: number): boolean {
  for (let i = 0; i < n; i++) if (!Number.isFinite(losses[i]!)) return false;
  const views = grads.map((g) => vm.heapView(g) ?? (vm.inner.readSync(g.dataId) as Float32Array));
  const ss = new Float64Array(n);
  const factors = new Float64Array(n).fill(1);
  if (clip !== undefined) {
    views.forEach((v, p) => {
      const sz = sizes[p]!;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = i * sz, end = k + sz; k < end; k++) s += v[k]! * v[k]!;
        ss[i] += s;
      }
    });
    for (let i = 0; i < n; i++) {
      const norm = Math.sqrt(ss[i]!);
      if (!Number.isFinite(norm)) return false;
      factors[i] = Math.min(1, clip / (norm + 1e-6));
    }
  }
  views.forEach((v, p) => {
    const sz = sizes[p]!;
    const off = offsets[p]!;
    for (let i = 0; i < n; i++) {
      const f = factors[i]!;
      const base = i * sz;
      let s = 0;
      for (let k = 0; k < sz; k++) {
        const g = v[base + k]!;
        s += g * g;
        row[off + k] += f * g;
      }
      if (clip === undefined) ss[i] += s;
    }
  });
  for (let i = 0; i < n; i++) {
    norms[i] = Math.sqrt(ss[i]!);
    if (!Number.isFinite(norms[i]!)) return false;
  }
  return true;
}
