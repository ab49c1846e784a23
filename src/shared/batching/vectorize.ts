/**
 * One run of a single-sample function over a batch on the vmap backend: the primitive under the
 * public `vmap` (src/frontend/vmap.ts) and the batching-rule tests.
 */
import * as tf from '@tensorflow/tfjs';
import { forBatch } from '../random/scope.js';
import type { VmapBackend } from './backend.js';
import { engine } from './engine.js';
import { ensureVmapBackend } from './register.js';
import { RULES } from './rules/index.js';

/** The leaves `f` returned, as tensors of the inner backend: `[n, ...shape]` when batched, `shape` when not. */
export interface BatchedLeaves {
  outs: tf.Tensor[];
  batched: boolean[];
}

/**
 * Runs `f` once for samples `first … first + n - 1`. `args[i]` is an inner-backend tensor whose leading
 * axis is the batch when `batched[i]`, else one shared by every sample (JAX's in_axes=None). `f` sees
 * per-sample tensors of the vmap backend and returns a list of them. Random ops inside `f` draw as
 * sample `first + i` under an active `withRandomness` (src/shared/random/scope.ts), and as tfjs does
 * otherwise.
 */
export function runBatched(vm: VmapBackend, n: number, first: number, f: (...args: tf.Tensor[]) => tf.Tensor[], args: readonly tf.Tensor[], batched: readonly boolean[]): BatchedLeaves {
  const infos: tf.TensorInfo[] = [];
  const flags: boolean[] = [];
  try {
    vm.run(n, () =>
      forBatch(first, n, (values, shape, dtype) => vm.upload(values, [n, ...shape], true, dtype), () =>
        tf.tidy(() => {
          for (const t of f(...args.map((a, i) => (batched[i] ? vm.wrapBatched(a) : a)))) {
            // Inner references of our own, so the results survive the tidy that frees the vmap tensors.
            const v = vm.exportValue(t);
            infos.push(v.info);
            flags.push(v.batched);
          }
        }),
      ),
    );
  } catch (e) {
    for (const info of infos) vm.release(info.dataId);
    throw e;
  }
  return { outs: infos.map((info) => engine().makeTensorFromTensorInfo(info, vm.inner)), batched: flags };
}

/**
 * `f` over a batch with every argument batched on axis 0 (`inAxes[i] === 0`) or shared (`null`), every
 * result with the batch on axis 0 (a result that does not depend on the batch is repeated n times),
 * on `innerBackendName` (default: tfjs's current backend). The batching-rule tests' entry point; users
 * call `vmap`.
 *
 * @example
 * ```ts
 * const [y] = vectorize((x, W) => [tf.matMul(tf.reshape(x, [1, 6]), W)], [0, null])(xs, W); // xs [n, 6]
 * ```
 */
export function vectorize(
  f: (...args: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  inAxes: readonly (0 | null)[],
  innerBackendName: string = tf.getBackend(),
): (...args: tf.Tensor[]) => tf.Tensor[] {
  return (...args) => {
    if (args.length !== inAxes.length) throw new Error(`vectorize: expected ${inAxes.length} arguments (one per inAxes entry), got ${args.length}`);
    const sizes = args.filter((_, i) => inAxes[i] === 0).map((a) => a.shape[0]);
    const n = sizes[0];
    if (n === undefined || sizes.some((s) => s !== n)) throw new Error(`vectorize: batched arguments need one common leading size, got [${sizes.join(',')}]`);
    const vm = ensureVmapBackend(innerBackendName);
    const r = runBatched(vm, n, 0, (...a) => [f(...a)].flat(), args, inAxes.map((a) => a === 0));
    return r.outs.map((t, i) => (r.batched[i] ? t : tileBatch(t, n)));
  };
}

/** `t` repeated n times along a new leading axis (disposes `t`). */
export function tileBatch(t: tf.Tensor, n: number): tf.Tensor {
  const out = tf.tidy(() => tf.tile(tf.expandDims(t, 0), [n, ...t.shape.map(() => 1)]));
  t.dispose();
  return out;
}

/**
 * Which of an inner backend's kernels have a batching rule and which run through the per-sample
 * fallback (docs/vectorized.md keeps this table).
 */
export function coverage(innerBackendName: string): { rules: string[]; fallback: string[] } {
  const names = tf.getKernelsForBackend(innerBackendName).map((k) => k.kernelName).sort();
  return { rules: names.filter((k) => RULES.has(k)), fallback: names.filter((k) => !RULES.has(k)) };
}
