import { availableParallelism } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The workloads the suite knows. */
export const WORKLOAD_NAMES = ['seed', 'mlp', 'conv'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export const EXECUTORS = ['auto', 'vectorized', 'loop'] as const;
export type PoolExecutor = (typeof EXECUTORS)[number];

/** Options of {@link runBench}; every field is optional. */
export interface BenchOptions {
  /** Pool thread counts. Default: 1..availableParallelism() (above 8 cores: powers of two, plus the core count). */
  threads?: number[];
  /** Small batches and few iterations: the whole suite in under ~2 minutes on 2 cores. */
  quick?: boolean;
  /** Which workloads to run. Default: all. */
  workloads?: WorkloadName[];
  /** tfjs backend for the pool's workers AND the main-thread baselines (they must match to compare). */
  backend?: 'wasm' | 'cpu';
  /** Output directory for the JSON and SVG; null writes nothing. Default: {@link DEFAULT_OUT}. */
  out?: string | null;
  /** Batch sizes per workload, overriding the built-in lists (the test uses tiny ones). */
  batches?: Partial<Record<WorkloadName, number[]>>;
  /** Minimum timed calls per cell (tinybench `iterations`). Default 5 quick, 10 full. */
  minIterations?: number;
  /** Time budget per cell in ms (tinybench `time`; it runs until both limits are met). Default 200 quick, 2000 full. */
  timeBudgetMs?: number;
  /** Minimum warm-up calls per cell before timing. Default 1 quick, 2 full. */
  warmupIterations?: number;
  /** Minimum warm-up time per cell in ms (both warm-up limits must be met). Default 150 quick, 1000 full. */
  warmupMs?: number;
  /**
   * Warm-up of each new pool (and of the main thread before each workload's baselines), in ms: every
   * op on a small batch, repeatedly. A fresh worker runs tfjs's per-sample path several times slower
   * for its first few dozen calls (V8 has not optimised it yet), which would otherwise land in the
   * first cells measured on it. Default 1000 quick, 4000 full.
   */
  settleMs?: number;
  /** Skip the main-thread baselines that are not the sequential loop (batched tfjs, model.fit). */
  loopOnly?: boolean;
  /**
   * The interleaved loop-vs-pool thread-scaling comparison (bench/scaling.ts; runs with the seed
   * workload): its batch (default 4096) and rounds (default 5 quick, 11 full), or false to skip it.
   */
  scaling?: { batch?: number; rounds?: number } | false;
  /**
   * The project's targets (bench/targets.ts): their sizes, rounds and call counts (see
   * {@link targetSizes} for the defaults; tests lower them), or false to skip them. Default: run unless `loopOnly`.
   */
  targets?: Partial<TargetSizes> | false;
  /** Seed for parameters and data. Default 0. */
  seed?: number;
  /** Pool chunk size. Default: gradpool's (which depends on the executor and the model). */
  chunkSize?: number;
  /** Pool executor (`'auto'`, `'vectorized'`, `'loop'`). Default: gradpool's. Each pool row records the one used. */
  executor?: PoolExecutor;
  /** Print progress and the tables to stdout. Default true from the CLI, false programmatically. */
  log?: boolean;
}

/** {@link BenchOptions} with every default filled in. */
export type ResolvedBenchOptions = Required<Omit<BenchOptions, 'batches' | 'chunkSize' | 'executor' | 'out' | 'scaling' | 'targets'>> & {
  targets: TargetSizes | false;
  batches: Partial<Record<WorkloadName, number[]>>;
  executor: PoolExecutor | undefined;
  scaling: { batch: number; rounds: number } | false;
  chunkSize: number | undefined;
  out: string | null;
};

/** The thread-scaling comparison's batch (bench/scaling.ts); tests lower it. */
export const SCALING_BATCH = 4096;

/** What the targets (bench/targets.ts) measure, and how much. */
export interface TargetSizes {
  /** Seed per-sample gradients and step. */
  seedBatch: number;
  /** MLP training steps (the second also the mean-gradient overhead check). */
  mlpBatches: [number, number];
  /** MLP per-sample gradients (compared with the reference figures, not a target). */
  mlpPsgBatch: number;
  /** Conv per-sample gradients and step. */
  convBatch: number;
  /** Conv per-sample gradients' memory. */
  memoryBatch: number;
  /** The growth check: batch and calls. */
  growthBatch: number;
  growthCalls: number;
  /** Calls timed one by one on a new pool (first calls, warm-up length); the seed workload's (milliseconds each) 3×. */
  firstCalls: number;
  /** Interleaved rounds per workload (the seed workload runs 3×). */
  rounds: number;
  /** Quick runs only: the most warm-up calls per contender, whatever was measured. */
  quickWarmupCap: number;
}

/** The targets' defaults: the sizes the targets name; quick runs measure less, at smaller MLP psg and memory batches. */
export function targetSizes(quick: boolean): TargetSizes {
  return {
    seedBatch: 65536,
    mlpBatches: [128, 512],
    mlpPsgBatch: quick ? 256 : 1024,
    convBatch: 128,
    memoryBatch: quick ? 256 : 1024,
    growthBatch: 2,
    growthCalls: quick ? 2000 : 10000,
    firstCalls: quick ? 40 : 100,
    rounds: quick ? 5 : 15,
    quickWarmupCap: 8,
  };
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * In a checkout (or the Docker image's /app), the package's own bench/results, found from this file
 * (dist/bench/options.js) so any cwd works. Installed as a dependency, ./bench/results under the cwd
 * instead: results written into node_modules would be lost on the next install, and a global install
 * is often not writable by the user running it.
 */
export const DEFAULT_OUT = PACKAGE_ROOT.split(sep).includes('node_modules') ? join(process.cwd(), 'bench', 'results') : join(PACKAGE_ROOT, 'bench', 'results');

/**
 * The default thread counts: every count up to the core count, which is what "scaling" means on
 * small machines; on big ones every count would take hours, so powers of two plus the core count.
 */
export function defaultThreads(cores = availableParallelism()): number[] {
  if (cores <= 8) return Array.from({ length: cores }, (_, i) => i + 1);
  const out: number[] = [];
  for (let t = 1; t < cores; t *= 2) out.push(t);
  out.push(cores);
  return out;
}

const isPosInt = (v: number) => Number.isInteger(v) && v >= 1;

/** Validates and fills defaults; throws a message naming the bad option. */
export function resolveBenchOptions(o: BenchOptions = {}): ResolvedBenchOptions {
  const quick = o.quick ?? false;
  const threads = [...new Set(o.threads ?? defaultThreads())].sort((a, b) => a - b);
  if (threads.length === 0 || !threads.every(isPosInt)) throw new Error(`bench: threads must be positive integers, got ${JSON.stringify(o.threads)}`);
  const workloads = o.workloads ?? [...WORKLOAD_NAMES];
  for (const w of workloads) if (!WORKLOAD_NAMES.includes(w)) throw new Error(`bench: unknown workload '${w}' (known: ${WORKLOAD_NAMES.join(', ')})`);
  const backend = o.backend ?? 'wasm';
  if (o.executor !== undefined && !EXECUTORS.includes(o.executor)) throw new Error(`bench: executor must be one of ${EXECUTORS.join(', ')}, got '${String(o.executor)}'`);
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`bench: backend must be wasm or cpu, got '${String(backend)}'`);
  for (const [w, bs] of Object.entries(o.batches ?? {}))
    if (!bs || bs.length === 0 || !bs.every(isPosInt)) throw new Error(`bench: batches.${w} must be positive integers, got ${JSON.stringify(bs)}`);
  if (o.scaling && ![o.scaling.batch ?? 1, o.scaling.rounds ?? 1].every(isPosInt)) throw new Error(`bench: scaling.batch and scaling.rounds must be positive integers`);
  return {
    threads,
    quick,
    workloads,
    backend,
    out: o.out === undefined ? DEFAULT_OUT : o.out,
    batches: o.batches ?? {},
    minIterations: o.minIterations ?? (quick ? 5 : 10),
    timeBudgetMs: o.timeBudgetMs ?? (quick ? 200 : 2000),
    warmupIterations: o.warmupIterations ?? (quick ? 1 : 2),
    warmupMs: o.warmupMs ?? (quick ? 150 : 1000),
    settleMs: o.settleMs ?? (quick ? 1000 : 4000),
    loopOnly: o.loopOnly ?? false,
    scaling: o.scaling === false ? false : { batch: o.scaling?.batch ?? SCALING_BATCH, rounds: o.scaling?.rounds ?? (quick ? 5 : 11) },
    targets: o.targets === false || o.loopOnly ? false : { ...targetSizes(quick), ...o.targets },
    seed: o.seed ?? 0,
    chunkSize: o.chunkSize,
    executor: o.executor,
    log: o.log ?? false,
  };
}

const list = (s: string) => s.split(',').map((t) => t.trim()).filter(Boolean);

/**
 * Parses the CLI flags into {@link BenchOptions}:
 * `--threads 1,2,4 --quick --workload seed,mlp,conv --backend wasm|cpu --out <dir> --iterations N`.
 */
export function parseBenchArgs(argv: string[]): BenchOptions & { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      threads: { type: 'string' },
      quick: { type: 'boolean', default: false },
      workload: { type: 'string' },
      backend: { type: 'string' },
      executor: { type: 'string' },
      out: { type: 'string' },
      iterations: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const num = (name: string, s: string) => {
    const n = Number(s);
    if (!isPosInt(n) && !(name === 'seed' && Number.isInteger(n))) throw new Error(`--${name} expects an integer, got '${s}'`);
    return n;
  };
  return {
    help: values.help ?? false,
    quick: values.quick ?? false,
    log: true,
    ...(values.threads !== undefined ? { threads: list(values.threads).map((t) => num('threads', t)) } : {}),
    ...(values.workload !== undefined ? { workloads: list(values.workload) as WorkloadName[] } : {}),
    ...(values.backend !== undefined ? { backend: values.backend as 'wasm' | 'cpu' } : {}),
    ...(values.executor !== undefined ? { executor: values.executor as PoolExecutor } : {}),
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.iterations !== undefined ? { minIterations: num('iterations', values.iterations) } : {}),
    ...(values.seed !== undefined ? { seed: num('seed', values.seed) } : {}),
  };
}

export const USAGE = `Usage: gradpool bench [options]   (in a checkout: npm run bench -- [options])

  --threads 1,2,4         pool thread counts (default 1..os.availableParallelism())
  --quick                 small batches, few iterations (< ~2 min on 2 cores)
  --workload seed,mlp,conv  workloads to run (default all)
  --backend wasm|cpu      tfjs backend for the pool and the main-thread baselines (default wasm)
  --executor auto|vectorized|loop  the pool's executor (default: gradpool's default)
  --out <dir>             where to write <date>-<host>.json and .svg (default: bench/results in
                          a gradpool checkout, ./bench/results where gradpool is a dependency)
  --iterations N          minimum timed calls per cell
  --seed N                seed for parameters and data (default 0)
`;
