/**
 * The vectorized executor: runs a single-sample model over a whole chunk as batched kernels on the
 * vmap backend of src/shared/batching, per-sample gradients included. See docs/vectorized.md.
 */
export { VectorizedExecutor, createVectorizedExecutor } from './executor.js';
