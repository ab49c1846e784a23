/**
 * gradpool's kernels for the active backend, on the main thread as in every worker (initBackend):
 * tfjs-backend-wasm lacks the kernels of conv2d's and gather's gradients and computes a few wrong
 * (src/shared/kernels). They are registered when a transform first runs on wasm, not on import,
 * because importing tfjs-backend-wasm after gradpool would overwrite them.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmGradientKernels } from '../shared/kernels/index.js';

let done: tf.KernelBackend | null = null;

/** Registers the kernels once per wasm backend instance; a branch on later calls. */
export function ensureBackendKernels(): void {
  const be = tf.backend();
  if (done === be || tf.getBackend() !== 'wasm') return;
  registerWasmGradientKernels();
  done = be;
}
