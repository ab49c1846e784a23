/**
 * The messages between the coordinator and its workers. A task carries only small numbers and the
 * SharedArrayBuffer handles (which postMessage shares, never copies); per-sample data never travels
 * in a message. One task per worker per call: workers claim chunks from a shared atomic counter.
 */

/** Element type of a shared region. */
export type RegionKind = 'f32' | 'f64' | 'i32';

/** A shared region as a worker receives it. */
export interface RegionHandle {
  sab: SharedArrayBuffer;
  kind: RegionKind;
}

/** Index of the fields in the `ctl` Int32 region. */
export const CTL = {
  /** Next unclaimed chunk (Atomics.add). */
  CLAIM: 0,
  /** Set to 1 when any worker fails, so the others stop claiming. */
  ABORT: 1,
  LENGTH: 4,
} as const;

/** How the worker finds its runtime: the backend and the model module. */
export interface RuntimeSpec {
  /** File URL of the model module. */
  model: string;
  /** tfjs backend name: 'wasm' (default), 'cpu', or another registered by `backendModule`. */
  backend: string;
  /** Module to import before selecting `backend` (e.g. '@tensorflow/tfjs-node'). */
  backendModule?: string;
  /** Executor name. */
  executor: string;
}

/** Ops a worker runs over chunks of the batch. */
export type ChunkOp = 'forward' | 'evaluate' | 'perSampleGrads' | 'sumGrads';

export interface ChunkTask {
  type: 'chunks';
  op: ChunkOp;
  /** The public call this task serves (`gradient`, `step`, …), for error messages. */
  label: string;
  runtime: RuntimeSpec;
  regions: Record<string, RegionHandle>;
  /** Name of the region holding the current parameters, and its version (workers cache tensors by it). */
  paramsRegion: string;
  paramsVersion: number;
  /** Batch size and fixed chunk size: chunk c covers samples [c*chunkSize, min(B, (c+1)*chunkSize)). */
  batch: number;
  chunkSize: number;
  /** Values per sample of the forward output (learned from the `describe` task). */
  outputSize: number;
  /** The per-sample output shape (evaluate feeds predictions back to the loss). */
  outputShape?: number[];
  /** DP: clip each sample's whole gradient to this L2 norm before summing (sumGrads only). */
  clip?: number;
}

/** One optimizer update, sharded by parameter slices claimed from the shared counter. */
export interface UpdateTask {
  type: 'update';
  runtime: RuntimeSpec;
  regions: Record<string, RegionHandle>;
  plan: import('./train/update.js').UpdatePlan;
  /** Region names: partial (f64), grad, params in/out, state slots in/out (f32). */
  names: { partial: string; grad: string; pIn: string; pOut: string; sIn: string[]; sOut: string[] };
  sliceSize: number;
}

export interface DescribeTask {
  type: 'describe';
  runtime: RuntimeSpec;
  /** Also try the vectorized executor on a small chunk (for executor 'auto' / 'vectorized'). */
  probeVectorized?: boolean;
}

/**
 * Loads backend and model on every worker. Each warm-up task blocks on a shared barrier until all
 * `parties` have arrived, which forces piscina to place one on each worker.
 */
export interface WarmupTask {
  type: 'warmup';
  runtime: RuntimeSpec;
  barrier: SharedArrayBuffer;
  parties: number;
}

export type Task = ChunkTask | DescribeTask | WarmupTask | UpdateTask;

/** An error a worker reports as data (so its code survives the thread boundary). */
export interface RemoteError {
  code: string;
  message: string;
}

export interface WorkerInfo {
  threadId: number;
  /** tf.memory().numTensors after the task, for leak checks. */
  numTensors: number;
  backend: string;
}

export interface OkResult extends WorkerInfo {
  ok: true;
  /** Chunks (or update slices) this worker did. */
  chunks: number;
  /** From `describe`: the per-sample output shape. */
  outputShape?: number[];
  /** From `describe` with `probeVectorized`: why the model cannot run vectorized (absent: it can). */
  notVectorizable?: string;
  /** Time spent computing, ms. */
  computeMs?: number;
  /** From `sumGrads`: the lowest sample index whose loss or gradient was non-finite. */
  badSample?: number;
}

export type TaskResult = OkResult | ({ ok: false; error: RemoteError } & WorkerInfo);
