/**
 * The shape of a benchmark run's results: what `runBench` returns and what is written, unchanged,
 * to `bench/results/<date>-<host>.json`. Times are milliseconds; every figure comes from one run.
 */

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

/** One measured configuration of the vectorized-executor targets (see bench/vectorized.ts). */
export interface VectorizedRow {
  label: string;
  batch: number;
  threads: number;
  chunkSize: number | null;
  latency: LatencyStats;
  usPerSample: number;
}

/** The vectorized executor's absolute targets: the rows measured, and the targets judged on them. */
export interface VectorizedResult {
  rows: VectorizedRow[];
  targets: TargetResult[];
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
  };
  rows: BenchRow[];
  skipped: SkippedCell[];
  /** Null when the seed workload was not run or the comparison was turned off. */
  scaling: ScalingResult | null;
  /** Null when not run (`loopOnly`, or turned off). */
  vectorized: VectorizedResult | null;
  /** Evaluated on {@link BenchResult.scaling}, then those of {@link BenchResult.vectorized}. */
  targets: TargetResult[];
  notes: string[];
  /** `os.loadavg()` (1, 5, 15 min) at the start and end: how busy the machine was with other work. */
  loadAverage: { start: number[]; end: number[] };
  /** Wall time of the whole run. */
  durationMs: number;
}
