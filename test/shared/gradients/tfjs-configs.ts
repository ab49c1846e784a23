/** Test hooks: run code with tfjs's own gradient configs in place of gradpool's second-order ones. */
import * as tf from '@tensorflow/tfjs';
import { SECOND_ORDER_GRADIENTS, tfjsGradient } from '../../../src/shared/gradients/index.js';
import { gradientRegistry } from '../kernels/gradient-probes.js';

/** Runs `fn` with tfjs's own gradients registered for `kernels` (all replaced ones by default), then puts gradpool's back. */
export function withTfjsGradients<R>(fn: () => R, kernels: readonly string[] = SECOND_ORDER_GRADIENTS.map((c) => c.kernelName)): R {
  const registry = gradientRegistry();
  const ours = kernels.map((k) => [k, tf.getGradient(k)!] as const);
  for (const k of kernels) {
    const theirs = tfjsGradient(k);
    if (theirs) registry.set(k, theirs);
    else registry.delete(k); // a kernel tfjs has no gradient for
  }
  try {
    return fn();
  } finally {
    for (const [k, config] of ours) registry.set(k, config);
  }
}
