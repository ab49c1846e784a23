/**
 * Second-order gradients for tfjs: every gradient config here replaces (or, for kernels tfjs only
 * runs inside gradients, adds) one of tfjs-core's, so that tf.grad(tf.grad(f)) works where tfjs's
 * own throws or is silently wrong (and Unpack's and SplitV's, whose tfjs gradients throw already at
 * first order when the kernel has a single output: multi-output.ts). Both threads install them: the
 * workers in `initBackend`, the main thread when 'gradpool' is imported. First-order gradients are bit-identical to tfjs's (the configs
 * compute the same ops; test/shared/gradients/first-order.test.ts compares bits on cpu and wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATION_GRADIENTS } from './activations.js';
import { BACKWARD_KERNEL_GRADIENTS } from './backward-kernels.js';
import { installCustomOpGradients } from './custom-ops.js';
import { MULTI_OUTPUT_GRADIENTS } from './multi-output.js';
import { SELECTION_GRADIENTS } from './selections.js';

/** The list: one config per kernel, each kernel once. */
export const SECOND_ORDER_GRADIENTS: readonly tf.GradConfig[] = [
  ...ACTIVATION_GRADIENTS, ...SELECTION_GRADIENTS, ...BACKWARD_KERNEL_GRADIENTS, ...MULTI_OUTPUT_GRADIENTS,
];

/** tfjs's configs as they were before the first install (null: tfjs had none), by kernel. */
const replaced = new Map<string, tf.GradConfig | null>();

/**
 * Registers gradpool's differentiable gradients with tfjs, replacing tfjs's for the kernels in
 * SECOND_ORDER_GRADIENTS, and makes tfjs's customGrad ops (logSoftmax, softmaxCrossEntropy, the fused
 * ops; custom-ops.ts) differentiable twice. Idempotent: a config already registered is left as it is.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { installSecondOrderGradients } from 'gradpool';
 * installSecondOrderGradients(); // 'gradpool' already did, on import
 * const d2 = tf.grad(tf.grad((x) => tf.tanh(x)))(tf.scalar(0.5)); // tanh'' = -2 tanh (1 - tanh²)
 * d2.print(); // -0.7269
 * ```
 */
export function installSecondOrderGradients(): void {
  installCustomOpGradients();
  for (const config of SECOND_ORDER_GRADIENTS) {
    const current = tf.getGradient(config.kernelName);
    if (current === config) continue;
    if (!replaced.has(config.kernelName)) replaced.set(config.kernelName, current ?? null);
    tf.registerGradient(config);
  }
}

/**
 * tfjs's own gradient config for `kernelName` as it was before installSecondOrderGradients replaced it
 * (null where tfjs had none); undefined for a kernel not replaced. For the tests that compare bits.
 *
 * @example
 * ```ts
 * installSecondOrderGradients();
 * tfjsGradient('Tanh')?.outputsToSave;  // [true]: tfjs's, which saves only tanh's output
 * tfjsGradient('MaxPoolGrad');          // null: tfjs has no gradient for it
 * tfjsGradient('Relu');                 // undefined: tfjs's gradient is still the one registered
 * ```
 */
export function tfjsGradient(kernelName: string): tf.GradConfig | null | undefined {
  return replaced.get(kernelName);
}
