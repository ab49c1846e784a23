import { availableParallelism, totalmem } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import { errors, raw } from './errors.js';
import type { LayersLoss } from './model/layers/losses.js';
import { isLayersRef } from './model/layers/source.js';
import { EXECUTORS, RANDOMNESS, type ExecutorName, type Randomness } from './shared/protocol.js';
import { checkKnownFields, checkOptionsObject, isPosInt, isPositive } from './validate.js';
import { resolveCluster, type ClusterOptions } from './cluster/options.js';

/** Options of {@link GradPool.create}. */
export interface GradPoolOptions {
  /**
   * The model: a module (path, file URL string or URL) whose default export is a `defineModel(...)`;
   * or an existing tfjs-layers model, unchanged — a `tf.LayersModel` object (Sequential or functional,
   * one input, one output) or the path or http(s) URL of its saved `model.json` (with its weights.bin).
   * A Layers model's parameters are its trainable weights, named as in its saved weight manifest
   * (`dense_Dense1/kernel`), starting from its current values; see `loss`.
   */
  model: string | URL | tf.LayersModel;
  /**
   * The loss of a tfjs-layers `model` (not allowed with a defineModel module, which has its own):
   * a tfjs loss name as `model.compile` takes it (`'categoricalCrossentropy'`, `'meanSquaredError'`,
   * `'binaryCrossentropy'`, `'sparseCategoricalCrossentropy'`, …), or a function
   * `(yTrue, yPred) => tensor` with compile's argument order — targets FIRST — which gets each sample
   * as a batch of one (`[1, ...shape]`) and whose result is averaged to the sample's scalar loss. A
   * function is sent to the workers as source text, so it may use only its arguments and `tf`.
   * Default: the loss the model was compiled with (`model.loss`, or a saved model's training config).
   *
   * @example
   * ```ts
   * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 10, activation: 'softmax' })] });
   * const pool = await GradPool.create({ model, loss: 'categoricalCrossentropy' });
   * const pool2 = await GradPool.create({ model: 'out/model.json', loss: (yTrue, yPred) => tf.losses.huberLoss(yTrue, yPred) });
   * ```
   */
  loss?: LayersLoss;
  /**
   * Worker threads. Default: `os.availableParallelism()`. Results are bit-identical for any value.
   * Each worker costs about {@link WORKER_MEMORY_MB} MB before any work (its own V8 heap, tfjs and
   * the backend), so more workers than cores add memory and no speed: above
   * `os.availableParallelism()` the pool warns once, and above {@link MAX_THREADS} it refuses.
   */
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
  /**
   * Passed to each worker thread (e.g. `{ maxOldGenerationSizeMb: 512 }`); its fields override the
   * default. Default: `{ maxOldGenerationSizeMb }` of {@link defaultHeapLimitMb} — an eighth of the
   * machine's memory shared by the workers, so a model that allocates without end fails its call
   * with `ERR_WORKER_CRASHED` (and the pool replaces the worker) long before it takes the process's
   * memory. The limit is on each worker's JavaScript heap; tensor memory (wasm memory, typed arrays)
   * is outside it.
   */
  resourceLimits?: ResourceLimits;
  /**
   * Longest a call may run, in ms, from the moment it starts (time spent queued behind earlier calls
   * does not count). A call past it rejects with `ERR_TIMEOUT`: the workers running it are terminated
   * and replaced, and parameters and optimizer state are unchanged. Default: no limit. A replaced
   * worker loads tfjs and the model again during its next call, which that call's time includes.
   */
  callTimeoutMs?: number;
  /**
   * Random ops inside the model (`tf.dropout`, `tf.layers.dropout` in training, `tf.randomUniform`,
   * `tf.randomUniformInt`, `tf.randomNormal`, `tf.truncatedNormal`, `tf.randomGamma`), like
   * torch.func.vmap's `randomness` (README "Randomness" says how a draw is derived):
   * - `'different'` (default): each sample gets its own draw, a pure function of (`seed`, the call's
   *   number, the sample's index in the batch, the op's ordinal in the forward) — so results are
   *   bit-identical for any `threads`, `chunkSize` and `executor`, and a restored {@link GradPool.randomCalls}
   *   replays them;
   * - `'same'`: one draw per call, shared by every sample of the batch;
   * - `'error'`: a model that calls a random op is refused (at creation, or at the call that reaches it).
   *
   * An explicit `seed` argument to a random op keeps tfjs's meaning: a fixed draw, the same for every sample and call.
   *
   * @example
   * ```ts
   * // model.js
   * import * as tf from '@tensorflow/tfjs';
   * import { defineModel } from 'gradpool';
   * export default defineModel({
   *   params: { W: { shape: [4, 2] } },
   *   inputShape: [4],
   *   targetShape: [2],
   *   forward: ({ W }, x) => tf.reshape(tf.matMul(tf.dropout(tf.reshape(x, [1, 4]), 0.5), W), [2]),
   *   loss: (pred, y) => tf.mean(tf.squaredDifference(pred, y)),
   * });
   *
   * // main.js
   * import { GradPool } from 'gradpool';
   * const pool = await GradPool.create({ model: new URL('./model.js', import.meta.url), seed: 1, randomness: 'different' });
   * const x = new Float32Array(8 * 4).fill(1), y = new Float32Array(8 * 2);
   * const { grads } = await pool.perSampleGrads(x, y); // grads.W: [8,4,2], each sample its own dropout mask
   * console.log(pool.randomCalls);                     // 1: the next call draws new masks
   * await pool.close();
   * ```
   */
  randomness?: Randomness;
  /**
   * Trace once, replay (like `jax.jit`): the vectorized executor records the first chunk of each shape
   * at the kernel level and replays those kernels for later chunks, skipping tfjs's engine and the
   * batching rules — the same kernels in the same order, so the same bits, and the first replay is
   * checked byte for byte against the normal path. Default true. Like `jit`, this assumes the model
   * is a function of its inputs, parameters and training flag: set `false` for a model whose forward
   * or loss reads mutable JavaScript state (a counter or schedule kept in the module), which a replay
   * would not see. Random ops and value reads are detected and never replayed.
   *
   * @example
   * ```ts
   * const pool = await GradPool.create({ model: new URL('./scheduled.js', import.meta.url), replay: false });
   * ```
   */
  replay?: boolean;
  /**
   * Makes this pool one node of a multi-node run over NATS (docs/multi-node.md): `step` and `fit`
   * compute this node's share of each batch's chunks and fold the nodes' sums in chunk order, so
   * results are bit-identical to one pool's for any number of nodes and threads. `threads` is per node.
   *
   * @example
   * ```ts
   * // on every node, with its own rank:
   * const pool = await GradPool.create({ model: new URL('./model.js', import.meta.url), threads: 4, cluster: { nodes: 3, rank, nats: 'nats://nats:4222', runId: 'mnist-1' } });
   * await pool.fit({ x, y }, { optimizer: adam(), epochs: 1, batchSize: 96 }); // same data and options everywhere
   * await pool.close();
   * ```
   */
  cluster?: ClusterOptions;
  /** A single pool has none; `ensemble: K` makes an ensemble ({@link EnsembleOptions}). */
  ensemble?: undefined;
}

/** Options of {@link GradPool.create} for a model ensemble: a single pool's, and `ensemble`. */
export interface EnsembleOptions extends Omit<GradPoolOptions, 'ensemble'> {
  /**
   * Model ensembles: K independent copies of the model's parameters, trained and evaluated together
   * (`torch.func.stack_module_state` + `vmap`). `GradPool.create` then returns an {@link EnsemblePool}
   * whose results carry a leading `[K]` axis; member k starts, and stays, exactly as a single pool with
   * `seed: seed + k` (README "Model ensembles"). An integer ≥ 1; not with a tfjs-layers `model`, which
   * starts from its own weights, so every member would be the same.
   *
   * @example
   * ```ts
   * const ens = await GradPool.create({ model: new URL('./model.js', import.meta.url), ensemble: 8, seed: 0 });
   * const pred = await ens.predict(x);          // [8, B, ...outputShape]
   * await ens.step(x, y, { optimizer: adam() }); // all 8 members, each with its own Adam moments
   * ```
   */
  ensemble: number;
}

/** The options with defaults filled in; `executor` is still `'auto'` until the probe at creation resolves it. */
export type ResolvedOptions = Required<Omit<GradPoolOptions, 'backendModule' | 'chunkSize' | 'executor' | 'loss' | 'callTimeoutMs' | 'ensemble' | 'cluster'>> &
  Pick<GradPoolOptions, 'backendModule' | 'chunkSize' | 'loss' | 'callTimeoutMs' | 'cluster'> & { executor: 'auto' | ExecutorName; ensemble: number | undefined };

/** The options of a running pool: the executor is resolved. */
export type PoolOptions = ResolvedOptions & { executor: ExecutorName };

const KNOWN = ['model', 'threads', 'backend', 'backendModule', 'seed', 'chunkSize', 'executor', 'resourceLimits', 'randomness', 'loss', 'replay', 'callTimeoutMs', 'ensemble', 'cluster'];

/**
 * What one idle worker costs in memory, in MB: the process's RSS growth per worker for pools of 1 to
 * 16 workers with tfjs loaded and primed (MLP fixture, Node 20: 51 MB on wasm, 56 MB on cpu).
 */
export const WORKER_MEMORY_MB = 55;

/** The most worker threads a pool accepts: 256 idle workers already take about 14 GB. */
export const MAX_THREADS = 256;

/** Bounds of the default per-worker heap limit, in MB: enough to load tfjs and a model; no more than V8's own default. */
const HEAP_LIMIT_MB = { min: 256, max: 4096 } as const;

/**
 * The default `resourceLimits.maxOldGenerationSizeMb` of each worker: an eighth of `totalMemBytes`
 * shared by `threads` workers, within [256, 4096] MB. On a 24 GB machine with 2 workers: 1536 MB each.
 */
export function defaultHeapLimitMb(threads: number, totalMemBytes = totalmem()): number {
  const share = Math.floor(totalMemBytes / 2 ** 20 / 8 / threads);
  return Math.min(HEAP_LIMIT_MB.max, Math.max(HEAP_LIMIT_MB.min, share));
}

/** `threads` values already warned about (the warning is printed once per process for each). */
const warnedThreads = new Set<number>();

/** Refuses a thread count above {@link MAX_THREADS}; warns once above the cores available. */
function checkThreads(threads: unknown, cores: number): number {
  if (!isPosInt(threads)) throw errors.invalidOption('threads', 'a positive integer', threads);
  if (threads > MAX_THREADS) {
    const gb = ((threads * WORKER_MEMORY_MB) / 1024).toFixed(1);
    throw errors.invalidOption('threads', `at most ${MAX_THREADS} (each worker costs about ${WORKER_MEMORY_MB} MB of memory before any work: ${threads} workers would take about ${gb} GB)`, threads);
  }
  if (threads > cores && !warnedThreads.has(threads)) {
    warnedThreads.add(threads);
    process.emitWarning(
      `threads: ${threads} is more than the ${cores === 1 ? '1 core' : `${cores} cores`} available (os.availableParallelism()); each extra worker costs about ${WORKER_MEMORY_MB} MB of memory and adds no speed`,
      'GradPoolWarning',
    );
  }
  return threads;
}
const EXECUTOR_CHOICES = ['auto', ...EXECUTORS];

/** Validates `ensemble` (members are seeded `seed + k`, so those must be integers too). */
function checkEnsemble(K: unknown, model: GradPoolOptions['model'], seed: number): number | undefined {
  if (K === undefined) return undefined;
  if (!isPosInt(K)) throw errors.invalidOption('ensemble', 'an integer >= 1 (the number of members)', K);
  if (isLayersRef(model)) throw errors.invalidOption('ensemble', 'no ensemble with model a tfjs-layers model (it starts from its own weights, so every member would be the same; use a defineModel module)', K);
  // Compared without forming seed + K - 1, which float64 would round back into range.
  if (K - 1 > Number.MAX_SAFE_INTEGER - seed) throw errors.invalidOption('ensemble', `at most ${Number.MAX_SAFE_INTEGER - seed + 1} members with seed ${seed} (member k is seeded seed + k)`, K);
  return K;
}

/** Validates every option with an error that names it, and fills in defaults. */
export function resolveOptions(o: GradPoolOptions | EnsembleOptions): ResolvedOptions {
  checkOptionsObject(o, KNOWN);
  if (o.model === undefined) throw errors.invalidOption('model', 'a module path or URL', undefined);
  if (o.loss !== undefined && !isLayersRef(o.model))
    throw errors.invalidOption('loss', 'no loss option with a defineModel module, which has its own loss (loss is for tfjs-layers models)', o.loss);
  const cores = availableParallelism();
  const threads = checkThreads(o.threads ?? cores, cores);
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
  if (o.resourceLimits) checkKnownFields('resourceLimits', o.resourceLimits, ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb']);
  const randomness = o.randomness ?? 'different';
  if (!RANDOMNESS.includes(randomness)) throw errors.invalidOption('randomness', `one of ${RANDOMNESS.join(', ')}`, randomness);
  const replay = o.replay ?? true;
  if (typeof replay !== 'boolean') throw errors.invalidOption('replay', 'true or false', replay);
  const { callTimeoutMs } = o;
  // setTimeout's longest delay: beyond it Node fires after 1 ms.
  if (callTimeoutMs !== undefined && !(isPositive(callTimeoutMs) && callTimeoutMs <= 2 ** 31 - 1))
    throw errors.invalidOption('callTimeoutMs', 'a number of milliseconds > 0 and at most 2147483647 (omit it for no limit)', callTimeoutMs);
  const resourceLimits = { maxOldGenerationSizeMb: defaultHeapLimitMb(threads), ...o.resourceLimits };
  const ensemble = checkEnsemble(o.ensemble, o.model, seed);
  if (ensemble !== undefined && o.cluster !== undefined) throw errors.invalidOption('cluster', 'no cluster with ensemble (a multi-node ensemble is not supported yet)', raw(`a cluster of ${(o.cluster as { nodes?: unknown }).nodes} nodes with ensemble ${ensemble}`));
  const cluster = o.cluster === undefined ? {} : { cluster: resolveCluster(o.cluster) };
  return { model: o.model, threads, backend, backendModule: o.backendModule, seed, chunkSize: o.chunkSize, executor, resourceLimits, randomness, loss: o.loss, replay, callTimeoutMs, ensemble, ...cluster };
}
