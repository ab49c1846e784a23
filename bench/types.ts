/**
 * The shape of a benchmark run's results: what `runBench` returns and what is written, unchanged,
 * to `bench/results/<date>-<host>.json`. Times are milliseconds; every figure comes from one run.
 */
import type { TargetSizes } from './options.js';

/** The benchmarked operations. `step` is a full training step (mean gradient + SGD update). */
export type BenchOp = 'predict' | 'perSampleGrads' | 'step';

/**
 * Who computed the batch:
 * - `loop`: a sequential per-sample loop on the main thread (forward, or `tf.valueAndGrads`),
 * - `batched`: tfjs on the main thread with the model written for a whole batch,
 * - `fit`: `tf.sequential` + `model.fit` with the same architecture, optimizer and batch size,
 * - `pool`: gradpool at `threads` worker threads.
 */
export type BenchMethod = 'loop' | 'batched' | 'fit' | 'pool';

/** Latency statistics of one measured task, from tinybench. */
export interface LatencyStats {
  medianMs: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  /** Quartiles, where recorded (the interleaved comparisons). */
  q1Ms?: number;
  q3Ms?: number;
  /** Timed calls (after warm-up) the statistics are computed from. */
  samples: number;
}

/** Medians of `pool.stats().lastCall` over the timed calls. */
export interface Breakdown {
  dispatchMs: number;
  computeMs: number;
  reduceMs: number;
  optimizerMs: number;
  totalMs: number;
}

/** A measured cell before the derived figures (speedups, ratios) are added. */
export interface RawRow {
  workload: string;
  op: BenchOp;
  batch: number;
  method: BenchMethod;
  /** Worker threads for `pool`; 1 for the main-thread baselines (they use one thread). */
  threads: number;
  /** Pool only: the executor the workers ran (`'auto'` resolved) and the chunk size; null otherwise. */
  executor: string | null;
  chunkSize: number | null;
  latency: LatencyStats;
  breakdown: Breakdown | null;
}

/** One measured (workload, op, batch, method, threads) cell, with its derived figures. */
export interface BenchRow extends RawRow {
  /** `batch / median`, samples per second. */
  samplesPerSec: number;
  usPerSample: number;
  /** Pool only: throughput relative to the pool at `speedupBase` threads (normally 1). */
  speedup: number | null;
  /** Pool only: `speedup / (threads / speedupBase)`; 1 is perfect scaling. */
  efficiency: number | null;
  /** Loop median / this median: > 1 means faster than the sequential main-thread loop. */
  vsLoop: number | null;
}

/** A cell that was not measured, and why (e.g. no batched form of per-sample gradients in tfjs). */
export interface SkippedCell {
  workload: string;
  op: BenchOp | '*';
  method: BenchMethod | '*';
  reason: string;
}

/** A performance target the project set itself: reported, never asserted. */
export interface TargetResult {
  id: string;
  description: string;
  /** The measured ratio, or null when the run did not include what it needs. */
  measured: number | null;
  /** `measured >= threshold` (or `<=` when `lowerIsBetter`). */
  threshold: number;
  /** The measured figure's spread: interquartile range of per-round ratios (or of the cell's calls). */
  range?: [number, number];
  /** The figures behind the ratio, for the report. */
  detail?: string;
  lowerIsBetter: boolean;
  met: boolean | null;
  note?: string;
}

/** One contender of the {@link ScalingResult} comparison. */
export interface ScalingContender {
  method: 'loop' | 'pool';
  threads: number;
  executor: string | null;
  chunkSize: number | null;
  latency: LatencyStats;
  /** Medians of the pool's `stats().lastCall` over the timed calls (null for the loop). */
  breakdown: Breakdown | null;
}

/**
 * The thread-scaling comparison, measured interleaved (see bench/scaling.ts): per-sample gradients of
 * the seed model by the main-thread loop and by the pool at 1, 2 and the most threads requested.
 */
export interface ScalingResult {
  workload: 'seed';
  op: 'perSampleGrads';
  batch: number;
  /** Timed calls per contender, one per round. */
  rounds: number;
  /**
   * The loop (threads 1), then the pool at 1, 2 and the most threads requested, per executor: the
   * `'loop'` executor and the pool's default (or only the one named by `--executor`).
   */
  contenders: ScalingContender[];
}

/** Median, quartiles and range of per-round ratios (each the ratio of two calls of the same round). */
/** Options of an interleaved same-run comparison cell (bench/ensemble.ts, bench/dp-clipping.ts). */
export interface InterleavedOptions {
  threads: number;
  backend: 'wasm' | 'cpu';
  rounds: number;
  warmupCalls: number;
  seed?: number;
  log?: boolean;
}

export interface RatioStats {
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
  n: number;
}

/** One contender of an interleaved target comparison (see bench/targets.ts). */
export interface TargetCell {
  /** Stable key, e.g. `mlp-step-512-pool-2t`. */
  id: string;
  label: string;
  workload: string;
  op: 'perSampleGrads' | 'step' | 'gradient';
  batch: number;
  /** `pool`; `inProcess`: the pool's executor on the main thread, no pool; `jax`: jax-js; `fit`: tfjs model.fit; `pytorch`: PyTorch in its own process (bench/pytorch.ts), at `threads`. */
  method: 'pool' | 'inProcess' | 'jax' | 'fit' | 'pytorch';
  threads: number;
  executor: string | null;
  chunkSize: number | null;
  /** Over the timed rounds (one call per round), with quartiles. */
  latency: LatencyStats;
  /** From the median. */
  usPerSample: number;
}

/** Contenders measured interleaved with all their pools alive: a workload's, or its pool-overhead pair (`<workload>-overhead`). */
export interface TargetGroup {
  name: string;
  workload: string;
  rounds: number;
  /** Untimed calls per contender before the rounds: the workload's measured warm-up length (first calls). */
  warmupCalls: number;
  cells: TargetCell[];
  /** Every call's time, ms, per cell id, in round order (pairs are same-index entries). */
  samples: Record<string, number[]>;
}

/** The first calls of a new pool (default options, the most threads requested). */
export interface FirstCalls {
  workload: string;
  op: 'perSampleGrads' | 'step';
  batch: number;
  threads: number;
  /** `GradPool.create` until it resolved. */
  createMs: number;
  /** Every call's time, in order. */
  callsMs: number[];
  first10Ms: number;
  /** Median of the second half of the calls. */
  steadyMedianMs: number;
  /** first10Ms / (10 × steadyMedianMs). */
  ratio: number;
  /**
   * Calls before steady state: the first call k whose rolling median (calls k.. k + window - 1) is
   * within 10% of the steady median. Used as the interleaved cells' warm-up.
   */
  warmupCalls: number;
  window: number;
}

/** Counters of a pool at one point of the growth check. */
export interface MemorySnapshot {
  call: number;
  sharedBytes: number;
  sharedAllocations: number;
  /** Each worker's `tf.memory().numTensors` after its last task. */
  workerTensors: number[];
  rssBytes: number;
}

/** Memory of conv per-sample gradients at a large batch, and the growth check over many calls. */
export interface MemoryResult {
  batch: number;
  threads: number;
  /** What the call returns: B losses and B per-sample gradients, float32. */
  outputBytes: number;
  /** Inputs x and y of the batch, float32 (the pool holds them in shared memory). */
  inputBytes: number;
  /** Main-process RSS (the workers are threads of it) before creating the pool. */
  rssBeforePoolBytes: number;
  /**
   * After calls at `warmBatch`, one chunk of the large batch's chunk size per worker: the pool's fixed
   * overhead (workers, tfjs, and each worker's wasm heap holding one chunk's working set, which grows
   * with the chunk, never with the batch; the chunk is capped by the default chunk size's memory bound).
   */
  rssWarmBytes: number;
  warmBatch: number;
  chunkSize: number;
  /** The workers' wasm heaps together, after the warm-up and after the first large call (pool.stats()). */
  heapWarmBytes: number;
  heapAfterBytes: number;
  /** After the first large call, its result held. */
  rssAfterBytes: number;
  /** The largest RSS over three large calls (garbage of earlier results may not be collected yet). */
  rssPeakBytes: number;
  sharedBytesWarm: number;
  sharedBytesAfter: number;
  growth: { batch: number; calls: number; durationMs: number; first: MemorySnapshot; last: MemorySnapshot };
}

/** The reference figures the targets compare to (not measured in this run). */
export interface ReferenceFigures {
  label: string;
  /** µs/sample, by key (e.g. `seed-psg-65536`). */
  pytorch: Record<string, number>;
  jax: Record<string, number>;
}

/** The project's targets measured (bench/targets.ts). */
/** The machine's scaling ceiling (ceiling.ts): plain worker threads, no gradpool. */
export interface CeilingResult {
  threads: number;
  rounds: number;
  units: {
    unit: string;
    /** Median time of one unit on one thread. */
    unitMs: number;
    /** Per round: one thread's time per unit over N threads' time per unit. */
    speedup: RatioStats;
  }[];
}

export interface TargetsRun {
  reference: ReferenceFigures;
  /** The same fixed work in 1 and in N plain worker threads: what this machine allows (null: not measured). */
  ceiling?: CeilingResult | null;
  /** The jax-js baseline: version and device, or null when not installed. */
  jax: { version: string; device: string; threads: number; note: string } | null;
  /** The same-run PyTorch peers (bench/pytorch.ts): version and thread counts, or null when torch was not available. */
  pytorch?: { version: string; threads: number[] } | null;
  firstCalls: FirstCalls[];
  groups: TargetGroup[];
  memory: MemoryResult | null;
  notes: string[];
}

/** The machine and software the figures come from. */
export interface MachineInfo {
  host: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpus: number;
  availableParallelism: number;
  totalMemoryBytes: number;
}

/** Everything one run produced. */
export interface BenchResult {
  schema: 'gradpool-bench/1';
  /** ISO timestamp of the start of the run. */
  date: string;
  machine: MachineInfo;
  versions: { node: string; tfjs: string; tfjsBackendWasm: string; gradpool: string };
  config: {
    backend: 'wasm' | 'cpu';
    threads: number[];
    /** The thread count speedups are relative to: the smallest one measured (normally 1). */
    speedupBase: number;
    quick: boolean;
    workloads: string[];
    batches: Record<string, number[]>;
    /** As requested; null: gradpool's default (see each pool row's `chunkSize`). */
    chunkSize: number | null;
    /** As requested; null: gradpool's default (see each pool row's `executor`). */
    executor: string | null;
    seed: number;
    minIterations: number;
    timeBudgetMs: number;
    warmupIterations: number;
    warmupMs: number;
    settleMs: number;
    /** The targets' sizes, rounds and call counts (bench/options.ts targetSizes); null when not run. */
    targets: TargetSizes | null;
  };
  rows: BenchRow[];
  skipped: SkippedCell[];
  /** Null when the seed workload was not run or the comparison was turned off. */
  scaling: ScalingResult | null;
  /** The targets' measurements; null when not run (`loopOnly`, or turned off). */
  targetRun: TargetsRun | null;
  /** Evaluated on {@link BenchResult.scaling}, then those of {@link BenchResult.targetRun}. */
  targets: TargetResult[];
  notes: string[];
  /** `os.loadavg()` (1, 5, 15 min) at the start and end: how busy the machine was with other work. */
  loadAverage: { start: number[]; end: number[] };
  /** Wall time of the whole run. */
  durationMs: number;
}
