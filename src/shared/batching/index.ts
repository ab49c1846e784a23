/**
 * Batching for TensorFlow.js: a tfjs backend whose kernels run a single-sample computation over a
 * whole batch (the rule table in rules/), shared by the workers' vectorized executor and the public
 * `vmap` of src/frontend. See docs/vectorized.md.
 */
export { vectorize, runBatched, tileBatch, coverage } from './vectorize.js';
export type { BatchedLeaves } from './vectorize.js';
export { BatchingRuleError, resetWarnings } from './errors.js';
export { withoutRules, withRules } from './rules/index.js';
export { setFilterGradRoute } from './rules/conv.js';
export { VmapBackend } from './backend.js';
export { BATCH_SUM, ensureVmapBackend, vmapName } from './register.js';
export { engine, disposeAbandonedTape } from './engine.js';
export { runChunk, sameStructure } from './chunk.js';
export type { PreparedArgs, ChunkOut } from './chunk.js';
