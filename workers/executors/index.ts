import { LoopExecutor } from './loop.js';
import type { Executor } from './types.js';

/** The executors a worker can run, by name. The pool only ever names one; it never looks inside. */
export function createExecutor(name: string): Executor {
  switch (name) {
    case 'loop':
      return new LoopExecutor();
    default:
      throw new Error(`executor: expected one of loop, got ${JSON.stringify(name)}`);
  }
}
