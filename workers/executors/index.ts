import { EXECUTORS, type ExecutorName } from '../../src/shared/protocol.js';
import { LoopExecutor } from './loop.js';
import type { Executor } from './types.js';
import { createVectorizedExecutor } from './vectorized/index.js';

/**
 * The executors a worker can run, by name. The pool only ever names one; it never looks inside.
 * `backend` is the worker's tfjs backend (the vectorized executor wraps it).
 */
export function createExecutor(name: ExecutorName, backend: string): Executor {
  switch (name) {
    case 'loop':
      return new LoopExecutor();
    case 'vectorized':
      // Not sticky: in a pool, a chunk's result must depend only on the chunk (determinism).
      return createVectorizedExecutor(backend, false);
    default:
      throw new Error(`executor: expected one of ${EXECUTORS.join(', ')}, got ${JSON.stringify(name satisfies never)}`);
  }
}
