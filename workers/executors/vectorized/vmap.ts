/**
 * `vmap` for TensorFlow.js: the function form of what the executor does, for any single-sample function.
 */
import * as tf from '@tensorflow/tfjs';
import { engine } from './engine.js';
import { ensureVmapBackend } from './register.js';
import { RULES } from './rules/index.js';

/**
 * Vectorizes `f` (written for one sample) over a batch, like `jax.vmap(f, in_axes)`. `inAxes[i]` is 0 when
 * argument i carries the batch on its leading axis, `null` when it is shared by all samples. Arguments
 * are tensors of the inner backend (default: tfjs's current backend); results come back on it, each with
 * the batch as its leading axis (a result that does not depend on the batch is repeated n times).
 * Gradients work inside `f`: `vmap((x, w) => tf.grad(...)(w), [0, null])` gives per-sample gradients.
 *
 * @example
 * ```ts
 * const [y] = vmap((x, W) => tf.matMul(tf.reshape(x, [1, 6]), W), [0, null])(xs, W); // xs [n, 6]
 * ```
 */
export function vmap(
  f: (...args: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  inAxes: readonly (0 | null)[],
  innerBackendName: string = tf.getBackend(),
): (...args: tf.Tensor[]) => tf.Tensor[] {
  return (...args) => {
    if (args.length !== inAxes.length) throw new Error(`vmap: expected ${inAxes.length} arguments (one per inAxes entry), got ${args.length}`);
    const sizes = args.filter((_, i) => inAxes[i] === 0).map((a) => a.shape[0]);
    const n = sizes[0];
    if (n === undefined || sizes.some((s) => s !== n)) throw new Error(`vmap: batched arguments need one common leading size, got [${sizes.join(',')}]`);
    const vm = ensureVmapBackend(innerBackendName);
    let infos: tf.TensorInfo[] = [];
    vm.run(n, () =>
      tf.tidy(() => {
        const out = f(...args.map((a, i) => (inAxes[i] === 0 ? vm.wrapBatched(a) : a)));
        // Inner references of our own, so the results survive the tidy that frees the vmap tensors.
        infos = (Array.isArray(out) ? out : [out]).map((t) => vm.exportBatched(t, n));
      }),
    );
    return infos.map((info) => engine().makeTensorFromTensorInfo(info, vm.inner));
  };
}

/**
 * Which of an inner backend's kernels have a batching rule and which run through the per-sample
 * fallback (docs/vectorized.md keeps this table).
 */
export function coverage(innerBackendName: string): { rules: string[]; fallback: string[] } {
  const names = tf.getKernelsForBackend(innerBackendName).map((k) => k.kernelName).sort();
  return { rules: names.filter((k) => RULES.has(k)), fallback: names.filter((k) => !RULES.has(k)) };
}
