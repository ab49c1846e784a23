/**
 * What the coordinator and its workers share: the messages between them, the shared-memory regions
 * (the table below is docs/architecture.md's layout as code: no other file spells a region name),
 * and the views both sides make of them. A task carries only small numbers and SharedArrayBuffer
 * handles (which postMessage shares, never copies); per-sample data never travels in a message. One
 * task per worker per call: workers claim chunks from a shared atomic counter (workers/claim.ts).
 */
import type { UpdatePlan } from './update.js';
import type { GhostCoverage } from './ghost-coverage.js';
import { CTL } from './ctl.js';

/** Element type of a shared region. */
export type RegionKind = 'f32' | 'f64' | 'i32';
export type View<K extends RegionKind> = K extends 'f32' ? Float32Array : K extends 'f64' ? Float64Array : Int32Array;
export const BYTES: Record<RegionKind, number> = { f32: 4, f64: 8, i32: 4 };

/** A shared region as a worker receives it. */
export interface RegionHandle {
  sab: SharedArrayBuffer;
  kind: RegionKind;
}
export type RegionHandles = Record<string, RegionHandle>;

/** The sizes a call's regions are computed from. */
export interface RegionSizes {
  batch: number;
  chunks: number;
  inputSize: number;
  targetSize: number;
  /** Values per sample of the forward output. */
  outputSize: number;
  /** Parameter scalars, P. */
  params: number;
}

/** One region: its name, element type, and length in elements for a call of the given sizes. */
export interface RegionSpec<K extends RegionKind = RegionKind> {
  readonly name: string;
  readonly kind: K;
  length(s: RegionSizes): number;
}

const region = <K extends RegionKind>(name: string, kind: K, length: (s: RegionSizes) => number): RegionSpec<K> => ({ name, kind, length });

/** The fixed regions. Sample-major throughout: sample i's values are contiguous. */
export const REGION = {
  /** Work-claiming counter and abort flag. */
  ctl: region('ctl', 'i32', () => CTL.LENGTH),
  /** Inputs, [B, inputSize]. */
  x: region('x', 'f32', (s) => s.batch * s.inputSize),
  /** Targets, [B, targetSize]. */
  y: region('y', 'f32', (s) => s.batch * s.targetSize),
  /** Forward outputs, [B, outputSize]. */
  pred: region('pred', 'f32', (s) => s.batch * s.outputSize),
  /** Per-sample losses, [B]. */
  loss: region('loss', 'f32', (s) => s.batch),
  /** Per-sample gradient L2 norms, [B] (NaN in sum mode, which never forms them). */
  norms: region('norms', 'f32', (s) => s.batch),
  /** Per-sample gradients: one [B, ...shape] block per parameter, in layout order. */
  psg: region('psg', 'f32', (s) => s.batch * s.params),
  /** Each chunk's (clipped) gradient sum in float64, [chunks, P]: reduced in chunk order. */
  partial: region('partial', 'f64', (s) => Math.max(1, s.chunks) * s.params),
  /** [chunks]: set to 1 once a chunk's partial row is written, so the coordinator can fold it in early (src/fold-rows.ts). */
  rowsDone: region('rowsDone', 'i32', (s) => Math.max(1, s.chunks)),
  /** The reduced gradient, [P]: the batch mean, or the (noised) step gradient. */
  grad: region('grad', 'f32', (s) => s.params),
} as const;
export type RegionKey = keyof typeof REGION;

/** One half of the double-buffered parameters, [P]. */
export const paramsRegion = (half: 0 | 1): RegionSpec<'f32'> => region(`params${half}`, 'f32', (s) => s.params);
/** One half of state slot `slot` of the pool's optimizer number `id`, [P]. */
export const optimizerRegion = (id: number, slot: string, half: 0 | 1): RegionSpec<'f32'> => region(`opt${id}.${slot}.${half}`, 'f32', (s) => s.params);

/** A chunk plan as it crosses the thread boundary (structured clone keeps the fields, not the class; see chunks.ts). */
export interface ChunkPlanData {
  readonly batch: number;
  readonly chunkSize: number;
  readonly count: number;
}

/** Ops a worker runs over chunks of the batch. */
export type ChunkOp = 'forward' | 'evaluate' | 'perSampleGrads' | 'sumGrads';

/** What each chunk op reads and writes, by region. */
export const OP_REGIONS = {
  forward: { reads: ['x'], writes: ['pred'] },
  evaluate: { reads: ['x', 'y'], writes: ['pred', 'loss'] },
  perSampleGrads: { reads: ['x', 'y'], writes: ['loss', 'psg'] },
  sumGrads: { reads: ['x', 'y'], writes: ['loss', 'norms', 'partial', 'rowsDone'] },
} as const satisfies Record<ChunkOp, { reads: readonly RegionKey[]; writes: readonly RegionKey[] }>;

/** Typed views of an op's output regions, keyed as in {@link REGION}. */
export type OpOutputs<Op extends ChunkOp> = { [K in (typeof OP_REGIONS)[Op]['writes'][number]]: View<(typeof REGION)[K]['kind']> };

/** A typed view of a whole SharedArrayBuffer, or of its first `length` elements. */
export function makeView<K extends RegionKind>(kind: K, sab: SharedArrayBuffer, length?: number): View<K> {
  const n = length ?? sab.byteLength / BYTES[kind];
  switch (kind) {
    case 'f32':
      return new Float32Array(sab, 0, n) as View<K>;
    case 'f64':
      return new Float64Array(sab, 0, n) as View<K>;
    default:
      return new Int32Array(sab, 0, n) as View<K>;
  }
}

/** Worker side: a typed view over the region named by `spec` (its whole capacity). */
export function regionView<K extends RegionKind>(handles: RegionHandles, spec: { name: string; kind: K }): View<K> {
  const h = handles[spec.name];
  if (!h || h.kind !== spec.kind) throw new Error(`worker: missing ${spec.kind} region '${spec.name}'`);
  return makeView(spec.kind, h.sab);
}

/** Worker side: views of every region op `op` writes, keyed as in {@link REGION}. */
export function opViews<Op extends ChunkOp>(handles: RegionHandles, op: Op): OpOutputs<Op> {
  const out: Record<string, ArrayBufferView> = {};
  for (const key of OP_REGIONS[op].writes) out[key] = regionView(handles, REGION[key]);
  return out as OpOutputs<Op>;
}

/** Executor names a pool can run; `'auto'` is resolved to one of these when the pool is created. */
export const EXECUTORS = ['vectorized', 'loop'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** How a worker loads its runtime: the backend and the model module. */
export interface LoadSpec {
  /** File URL of the model module, or the cache key of a tfjs-layers model in `layers`. */
  model: string;
  /** A tfjs-layers model packed into one shared buffer (src/model/layers/artifact.ts): shared, never copied, per task. */
  layers?: SharedArrayBuffer;
  /** tfjs backend name: 'wasm' (default), 'cpu', or another registered by `backendModule`. */
  backend: string;
  /** Module to import before selecting `backend` (e.g. '@tensorflow/tfjs-node'). */
  backendModule?: string;
}

/** How random ops inside the model draw (`GradPool.create({ randomness })`, src/shared/random/). */
export const RANDOMNESS = ['different', 'same', 'error'] as const;
export type Randomness = (typeof RANDOMNESS)[number];

/** What keys a call's random draws: the pool's mode and seed, and the call's number (src/shared/random/key.ts). */
export interface RandomSpec {
  mode: Randomness;
  seed: number;
  call: number;
  /** Index in the whole batch of the first sample the task sees (a cluster node holds only its share); default 0. */
  base?: number;
}

/** What runs a pool's calls: the loaded runtime and the executor chosen at creation. */
export interface RuntimeSpec extends LoadSpec {
  executor: ExecutorName;
  /** How random ops in the model draw, and the pool seed their draws are keyed by. */
  randomness: Randomness;
  seed: number;
  /** Trace once, replay (workers/executors/vectorized/replay.ts); off for a model that reads mutable JS state. */
  replay: boolean;
}

export interface ChunkTask {
  type: 'chunks';
  op: ChunkOp;
  /** The public call this task serves (`gradient`, `step`, …), for error messages. */
  label: string;
  runtime: RuntimeSpec;
  regions: RegionHandles;
  /** Name of the region holding the current parameters, and its version (workers cache tensors by it). */
  paramsRegion: string;
  paramsVersion: number;
  /** How the batch is cut into chunks (workers/chunks.ts revives it as a ChunkPlan). */
  plan: ChunkPlanData;
  /** The per-sample output shape. */
  outputShape: number[];
  /** DP: clip each sample's whole gradient to this L2 norm before summing (sumGrads only). */
  clip?: number;
  /** With `clip`: by ghost norms where the executor can (workers/executors/vectorized/ghost.ts). */
  ghost?: boolean;
  /** The pool's count of earlier calls that ran the model: keys this call's random draws. */
  randomCall: number;
  /** Index in the whole batch of this task's sample 0, for random keys (a cluster node's share); default 0. */
  randomBase?: number;
  /** A step's sharded update, run after the chunks by all `parties` workers (sumGrads; workers/claim.ts). */
  update?: FusedUpdate;
  /** The inputs arrive after the task, chunk by chunk: run chunk c once `CTL.STAGED` > c (src/staging.ts). */
  staging?: true;
}

/** The update a chunk task runs after its chunks: an {@link UpdateTask}'s plan, for `parties` workers. */
export interface FusedUpdate extends Pick<UpdateTask, 'plan' | 'names' | 'sliceSize'> {
  parties: number;
}

/** One optimizer update, sharded by parameter slices claimed from the shared counter. */
export interface UpdateTask {
  type: 'update';
  runtime: RuntimeSpec;
  regions: RegionHandles;
  plan: UpdatePlan;
  /** Regions of the parameters and optimizer state slots, read (`*In`) and written (`*Out`). */
  names: { pIn: string; pOut: string; sIn: string[]; sOut: string[] };
  sliceSize: number;
}

export interface DescribeTask {
  type: 'describe';
  load: LoadSpec;
  /** Also try the vectorized executor on a small chunk (for executor 'auto' / 'vectorized'). */
  probeVectorized?: boolean;
  /** The pool's `randomness`: with 'error', a model that draws is refused at creation. */
  randomness?: Randomness;
}

/**
 * Loads backend and model on every worker. Each warm-up task blocks on a shared barrier until all
 * `parties` have arrived, which forces piscina to place one on each worker.
 */
export interface WarmupTask {
  type: 'warmup';
  load: LoadSpec;
  barrier: SharedArrayBuffer;
  parties: number;
  /** Also prime the pool's executor (workers/prime.ts); `gradients: false` for a model tfjs cannot differentiate. */
  prime?: { runtime: RuntimeSpec; outputSize: number; gradients: boolean };
}

/** One argument leaf of a `pool.vmap` call: batch axis first when batched, in a shared buffer the coordinator fills. */
export interface VmapLeaf {
  buffer: SharedArrayBuffer;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  batched: boolean;
}

/** A `pool.vmap` call: the workers claim its chunks (of `chunkSize` samples) from the ctl region's counter. */
export interface VmapTask {
  type: 'vmap';
  runtime: RuntimeSpec;
  regions: RegionHandles;
  /** The function: a module every worker can import, and its export's name. */
  fn: { module: string; export: string };
  /** The argument tree (src/shared/pytree.ts Structure, plain data) and its leaves. */
  args: unknown;
  leaves: VmapLeaf[];
  n: number;
  chunkSize: number;
  /** How random ops inside the function draw (the in-process vmap's keys). */
  random: RandomSpec;
}

/** One chunk a worker computed for a `pool.vmap` call: f's output tree and its leaves' values. */
export interface VmapChunkResult {
  index: number;
  structure: unknown;
  outs: { data: Float32Array | Int32Array | Uint8Array; shape: number[]; dtype: 'float32' | 'int32' | 'bool'; batched: boolean }[];
}

export type Task = ChunkTask | DescribeTask | WarmupTask | UpdateTask | VmapTask;

/** An error a worker reports as data (so its code survives the thread boundary). */
export interface RemoteError {
  code: string;
  message: string;
  /** For a failure of one sample: its index in the batch (the coordinator reports the lowest). */
  sample?: number;
  /** With `sample`: the lowest sample this worker had found non-finite before it (sumGrads). */
  badSample?: number;
}

export interface WorkerInfo {
  threadId: number;
  /** tf.memory().numTensors after the task, for leak checks. */
  numTensors: number;
  backend: string;
  /** Warnings the worker's executors raised during the task (each printed once per pool). */
  warnings?: string[];
  /** The wasm backend's memory size in bytes, when tfjs runs on it. */
  wasmHeapBytes?: number;
}

export interface OkResult extends WorkerInfo {
  ok: true;
  /** Chunks (or update slices) this worker did. */
  chunks: number;
  /** From `describe`: the per-sample output shape. */
  outputShape?: number[];
  /** From `describe` with `probeVectorized`: why the model cannot run vectorized (absent: it can). */
  notVectorizable?: string;
  /** From `describe`: why tfjs cannot differentiate the model at all (absent: it can). */
  notDifferentiable?: string;
  /** From `describe` with a vectorized probe: the model's ghost-norm rules (src/shared/ghost-coverage.ts). */
  ghost?: GhostCoverage;
  /** Time spent computing, ms. */
  computeMs?: number;
  /** From `sumGrads`: the lowest sample index whose loss or gradient was non-finite. */
  badSample?: number;
  /** From `vmap`: the chunks this worker computed. */
  vmap?: VmapChunkResult[];
}

export type TaskResult = OkResult | ({ ok: false; error: RemoteError } & WorkerInfo);
