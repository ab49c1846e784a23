/**
 * The transforms differentiate tfjs's gradients again (grad(grad), jvp by double-vjp, hessian), which
 * tfjs's own gradient configs for tanh, sigmoid, exp, softmax and others do not allow: their backward
 * passes use the saved output through calls the tape does not record. src/shared/gradients replaces
 * those configs with differentiable ones (first-order results unchanged, bit for bit); installing them
 * on the first use of a transform means a user who imports only the transforms gets them too.
 */
import { installSecondOrderGradients } from '../shared/gradients/index.js';
import { ensureBackendKernels } from './kernels.js';

let installed = false;

/** Installs the differentiable gradient configs once per process (thread), and the active backend's missing kernels; later calls cost a branch. */
export function ensureGradients(): void {
  ensureBackendKernels();
  if (installed) return;
  installSecondOrderGradients();
  installed = true;
}
