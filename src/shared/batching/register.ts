/**
 * Registration of the vmap backends and their kernels with tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { VmapBackend } from './backend.js';
import { dispatch } from './context.js';
import { STANDALONE, TABLE } from './rules/index.js';

/** The vmap-only kernel summing a (per-sample) value over the batch; see VmapBackend.batchSum. */
export const BATCH_SUM = 'GradpoolBatchSum';

/** Name of the vmap backend wrapping `inner`: one per inner backend, so each knows its own kernels. A
 * vmap backend may itself be the inner one (`vmap-vmap-cpu`: a vmap inside a vmap). */
export const vmapName = (inner: string) => `vmap-${inner}`;

const setUp = new WeakSet<tf.KernelBackend>();

/**
 * Registers (once) the vmap backend wrapping `innerName` and a vmap kernel for every kernel the inner
 * backend has, and returns the backend. Idempotent; re-registers if the inner backend was replaced.
 */
export function ensureVmapBackend(innerName: string): VmapBackend {
  const inner = tf.engine().findBackend(innerName);
  if (!inner) throw new Error(`vectorized: inner backend '${innerName}' is not registered or not initialised yet; await tf.setBackend('${innerName}') first`);
  const name = vmapName(innerName);
  let vm = tf.findBackendFactory(name) ? (tf.engine().findBackend(name) as VmapBackend | null) : null;
  if (vm && vm.inner !== inner) {
    tf.removeBackend(name);
    vm = null;
  }
  if (!vm) {
    // Lowest priority: tfjs must never pick this backend as its default.
    tf.registerBackend(name, () => new VmapBackend(name, innerName, inner), -1000);
    vm = tf.engine().findBackend(name) as VmapBackend;
  }
  const names = new Set([...tf.getKernelsForBackend(innerName).map((k) => k.kernelName), ...STANDALONE]);
  for (const kernelName of names) {
    if (tf.getKernel(kernelName, name)) continue;
    tf.registerKernel({ kernelName, backendName: name, kernelFunc: ({ inputs, attrs, backend }) => dispatch(backend as VmapBackend, TABLE, kernelName, inputs, attrs ?? {}) });
  }
  // The batch-sum of a gradient (sum mode of sumGrads): only this backend has it.
  if (!tf.getKernel(BATCH_SUM, name))
    tf.registerKernel({ kernelName: BATCH_SUM, backendName: name, kernelFunc: ({ inputs, backend }) => {
      const vm = backend as VmapBackend;
      return vm.adopt({ info: vm.batchSum(inputs.x as tf.TensorInfo), batched: false });
    } });
  // Inner kernels are called directly, so they need their setup (wasm binds its functions there) even
  // if the inner backend never was tfjs's current backend.
  if (!setUp.has(inner) && !(inner instanceof VmapBackend)) {
    for (const k of tf.getKernelsForBackend(innerName)) k.setupFunc?.(inner);
    setUp.add(inner);
  }
  return vm;
}
