/**
 * The vectorized executor ("vmap for TensorFlow.js"): runs a single-sample model over a whole chunk as
 * batched kernels on a wrapping tfjs backend, per-sample gradients included. See docs/vectorized.md.
 */
export { VectorizedExecutor, createVectorizedExecutor } from './executor.js';
export { vmap, coverage } from './vmap.js';
export { BatchingRuleError, resetWarnings } from './errors.js';
export { withoutRules, withRules } from './rules/index.js';
export { setFilterGradRoute } from './rules/conv.js';
export type { VmapBackend } from './backend.js';
export { ensureVmapBackend, vmapName } from './register.js';
