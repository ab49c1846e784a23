import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { errors } from './errors.js';
import { EXECUTORS, type ExecutorName } from './shared/protocol.js';
import { checkOptionsObject, isPosInt } from './validate.js';

/** Options of {@link GradPool.create}. */
export interface GradPoolOptions {
  /** The model module (path, file URL string or URL) whose default export is a `defineModel(...)`. */
  model: string | URL;
  /** Worker threads. Default: `os.availableParallelism()`. Results are bit-identical for any value. */
  threads?: number;
  /** tfjs backend in the workers: `'wasm'` (default, ships with gradpool), `'cpu'`, or another name with `backendModule`. */
  backend?: string;
  /** Module that registers `backend` when it is not built in, e.g. `'@tensorflow/tfjs-node'` (optional, user-installed, untested here). */
  backendModule?: string;
  /** Seed for parameter initialisation (and, in training, shuffling and DP noise). Default 0. */
  seed?: number;
  /**
   * Samples per chunk: the unit of work, of memory (a chunk's per-sample gradients), and of
   * deterministic reduction — like torch.func's `vmap(chunk_size=…)`. Never depends on `threads`.
   * Default: 32 for the loop executor; for the vectorized one, an eighth of the batch (so up to 8
   * threads share it) but at least 32 samples, and at most as many as keep a chunk's per-sample
   * gradients under 32 MB — a function of the batch size and the model alone.
   */
  chunkSize?: number;
  /**
   * How each worker runs its chunk: `'vectorized'` (the whole chunk as batched kernels, vmap-style),
   * `'loop'` (one sample at a time), or `'auto'` (default): vectorized, unless the model fails to run
   * under the batching rules when the pool is created, in which case the loop, with a warning saying why.
   */
  executor?: 'auto' | 'vectorized' | 'loop';
  /** Passed to each worker thread (e.g. `{ maxOldGenerationSizeMb: 512 }`). */
  resourceLimits?: ResourceLimits;
}

/** The options with defaults filled in; `executor` is still `'auto'` until the probe at creation resolves it. */
export type ResolvedOptions = Required<Omit<GradPoolOptions, 'backendModule' | 'resourceLimits' | 'chunkSize' | 'executor'>> &
  Pick<GradPoolOptions, 'backendModule' | 'resourceLimits' | 'chunkSize'> & { executor: 'auto' | ExecutorName };

/** The options of a running pool: the executor is resolved. */
export type PoolOptions = ResolvedOptions & { executor: ExecutorName };

const KNOWN = ['model', 'threads', 'backend', 'backendModule', 'seed', 'chunkSize', 'executor', 'resourceLimits'];
const EXECUTOR_CHOICES = ['auto', ...EXECUTORS];

/** Validates every option with an error that names it, and fills in defaults. */
export function resolveOptions(o: GradPoolOptions): ResolvedOptions {
  checkOptionsObject(o, KNOWN);
  if (o.model === undefined) throw errors.invalidOption('model', 'a module path or URL', undefined);
  const threads = o.threads ?? availableParallelism();
  if (!isPosInt(threads)) throw errors.invalidOption('threads', 'a positive integer', threads);
  const backend = o.backend ?? 'wasm';
  if (typeof backend !== 'string' || backend.length === 0) throw errors.invalidOption('backend', "a backend name such as 'wasm' or 'cpu'", backend);
  if (o.backendModule !== undefined && (typeof o.backendModule !== 'string' || o.backendModule.length === 0))
    throw errors.invalidOption('backendModule', 'a module specifier string', o.backendModule);
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw errors.invalidOption('seed', 'an integer', seed);
  if (o.chunkSize !== undefined && !isPosInt(o.chunkSize)) throw errors.invalidOption('chunkSize', 'a positive integer', o.chunkSize);
  const executor = o.executor ?? 'auto';
  if (!EXECUTOR_CHOICES.includes(executor)) throw errors.invalidOption('executor', `one of ${EXECUTOR_CHOICES.join(', ')}`, executor);
  if (o.resourceLimits !== undefined && (typeof o.resourceLimits !== 'object' || o.resourceLimits === null))
    throw errors.invalidOption('resourceLimits', 'an object of worker resource limits', o.resourceLimits);
  return { model: o.model, threads, backend, backendModule: o.backendModule, seed, chunkSize: o.chunkSize, executor, resourceLimits: o.resourceLimits };
}
