import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { errors, raw } from './errors.js';
import { DEFAULT_CHUNK_SIZE } from './shard.js';

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

export type ResolvedOptions = Required<Omit<GradPoolOptions, 'backendModule' | 'resourceLimits' | 'chunkSize' | 'executor'>> &
  Pick<GradPoolOptions, 'backendModule' | 'resourceLimits'> & {
    /** 0: chosen per call by {@link defaultChunkSize}. */
    chunkSize: number;
    /** `'auto'` until the probe at creation resolves it. */
    executor: 'auto' | 'vectorized' | 'loop';
  };

/** Per-sample-gradient bytes a vectorized chunk aims for. */
const CHUNK_BYTES = 32 * 2 ** 20;

/**
 * The default chunk size for an executor, a model of `P` parameters and a batch of `B` samples. It
 * depends on nothing else — above all not on the thread count — so results stay bit-identical for
 * any number of threads. Vectorized chunks are large because each costs a fixed ~1–2 ms of tfjs
 * dispatch whatever its size (see docs/vectorized.md).
 */
export function defaultChunkSize(executor: 'vectorized' | 'loop', P: number, B: number): number {
  if (executor === 'loop') return DEFAULT_CHUNK_SIZE;
  const memCap = Math.max(32, 2 ** Math.floor(Math.log2(Math.max(1, CHUNK_BYTES / (4 * Math.max(P, 1))))));
  return Math.min(memCap, Math.max(32, Math.ceil(B / 8)));
}

const KNOWN = ['model', 'threads', 'backend', 'backendModule', 'seed', 'chunkSize', 'executor', 'resourceLimits'];
const EXECUTORS = ['auto', 'vectorized', 'loop'];

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** Validates every option with an error that names it, and fills in defaults. */
export function resolveOptions(o: GradPoolOptions): ResolvedOptions {
  if (!o || typeof o !== 'object') throw errors.type('options', 'an object', o);
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw errors.invalidOption(`options.${k}`, `one of the known options (${KNOWN.join(', ')})`, raw('an unknown option'));
  if (o.model === undefined) throw errors.invalidOption('model', 'a module path or URL', undefined);
  const threads = o.threads ?? availableParallelism();
  if (!isPosInt(threads)) throw errors.invalidOption('threads', 'a positive integer', threads);
  const backend = o.backend ?? 'wasm';
  if (typeof backend !== 'string' || backend.length === 0) throw errors.invalidOption('backend', "a backend name such as 'wasm' or 'cpu'", backend);
  if (o.backendModule !== undefined && (typeof o.backendModule !== 'string' || o.backendModule.length === 0))
    throw errors.invalidOption('backendModule', 'a module specifier string', o.backendModule);
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw errors.invalidOption('seed', 'an integer', seed);
  const chunkSize = o.chunkSize ?? 0; // 0: resolved once the executor is known
  if (o.chunkSize !== undefined && !isPosInt(chunkSize)) throw errors.invalidOption('chunkSize', 'a positive integer', chunkSize);
  const executor = o.executor ?? 'auto';
  if (!EXECUTORS.includes(executor)) throw errors.invalidOption('executor', `one of ${EXECUTORS.join(', ')}`, executor);
  if (o.resourceLimits !== undefined && (typeof o.resourceLimits !== 'object' || o.resourceLimits === null))
    throw errors.invalidOption('resourceLimits', 'an object of worker resource limits', o.resourceLimits);
  return { model: o.model, threads, backend, backendModule: o.backendModule, seed, chunkSize, executor, resourceLimits: o.resourceLimits };
}
