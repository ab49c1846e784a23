/**
 * Runs the measurements: per workload, the main-thread baselines first, then the pool at each thread
 * count (one pool per count, reused for every op and batch size, closed before the next).
 */
import * as tf from '@tensorflow/tfjs';
import { GradPool, sgd, type GradPoolOptions } from '../src/index.js';
import { initParams, type ModelDef } from '../src/model/define.js';
import { loadModel, modelHref } from '../src/model/load.js';
import { initBackend } from '../workers/backend.js';
import { BatchedBaseline, FitBaseline, LoopBaseline } from './baselines.js';
import { measure, medianBreakdown, settle, type MeasureConfig } from './measure.js';
import type { ResolvedBenchOptions } from './options.js';
import type { BenchMethod, BenchOp, Breakdown, LatencyStats, RawRow, SkippedCell } from './types.js';
import { WORKLOADS, type Workload } from './workloads.js';

/** The training step's learning rate, for the pool and every baseline alike. */
export const LEARNING_RATE = 0.1;

/** What a pool actually runs with. */
export interface PoolInfo {
  executor: string | null;
  chunkSize: number | null;
}

/** The pool's executor as resolved at creation, and its chunk size for a batch of `batch` (null: unknown). */
export function poolInfo(pool: GradPool, batch: number | null): PoolInfo {
  return { executor: pool.executor, chunkSize: batch === null ? null : pool.chunkSizeFor(batch) };
}

/** `GradPool.create` options for the bench: executor and chunk size only when the caller chose them. */
export function poolOptions(o: ResolvedBenchOptions, w: Workload, threads: number): GradPoolOptions {
  return {
    model: w.model,
    threads,
    backend: o.backend,
    seed: o.seed,
    ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
    ...(o.executor !== undefined ? { executor: o.executor } : {}),
  } as GradPoolOptions;
}

export interface SuiteOutput {
  rows: RawRow[];
  skipped: SkippedCell[];
  notes: string[];
  batches: Record<string, number[]>;
}

/** `pool.step` is being added to GradPool separately: the training op runs only when it exists. */
type StepFn = (x: Float32Array, y: Float32Array, opts: { optimizer: ReturnType<typeof sgd> }) => Promise<unknown>;
const stepOf = (pool: GradPool): StepFn | null => {
  const s = (pool as unknown as { step?: unknown }).step;
  return typeof s === 'function' ? (s.bind(pool) as StepFn) : null;
};

/** The first samples of the smallest batch, one chunk per thread: what {@link settle} runs on. */
export function small(def: ModelDef, data: ReadonlyMap<number, { x: Float32Array; y: Float32Array }>, threads: number) {
  const B = Math.min(...data.keys());
  const n = Math.min(B, 32 * threads);
  const { x, y } = data.get(B)!;
  return { n, x: x.subarray(0, n * def.inputSize), y: y.subarray(0, n * def.targetSize) };
}

class Runner {
  readonly rows: RawRow[] = [];
  readonly skipped: SkippedCell[] = [];
  readonly notes: string[] = [];
  private readonly cfg: MeasureConfig;

  constructor(private readonly o: ResolvedBenchOptions) {
    this.cfg = { minIterations: o.minIterations, timeBudgetMs: o.timeBudgetMs, warmupIterations: o.warmupIterations, warmupMs: o.warmupMs };
  }

  log(msg: string): void {
    if (this.o.log) console.log(msg);
  }

  /** Times one cell. `fn` is async for the pool and model.fit, sync for the other baselines. */
  async cell(w: Workload, op: BenchOp, batch: number, method: BenchMethod, threads: number, fn: () => unknown, lastCall?: () => Breakdown | null, info?: PoolInfo) {
    const seen: Breakdown[] = [];
    const timed = lastCall
      ? async () => {
          await fn();
          const t = lastCall();
          if (t) seen.push(t);
        }
      : fn;
    const isAsync = method === 'pool' || method === 'fit';
    const latency = await measure(`${w.name} ${op} B=${batch} ${method}@${threads}`, timed, isAsync, this.cfg);
    // The last `samples` records are the timed calls (the warm-up ran first).
    const breakdown = medianBreakdown(seen.slice(-latency.samples));
    this.rows.push({ workload: w.name, op, batch, method, threads, executor: info?.executor ?? null, chunkSize: info?.chunkSize ?? null, latency, breakdown });
    const who = method === 'pool' ? `pool@${threads}` : method;
    this.log(`  ${w.name.padEnd(5)} ${op.padEnd(14)} B=${String(batch).padEnd(5)} ${who.padEnd(8)} ${latency.medianMs.toFixed(2)} ms (median of ${latency.samples})`);
  }

  skip(workload: string, op: BenchOp | '*', method: BenchMethod | '*', reason: string): void {
    if (!this.skipped.some((s) => s.workload === workload && s.op === op && s.method === method && s.reason === reason)) this.skipped.push({ workload, op, method, reason });
  }

  async baselines(w: Workload, def: ModelDef, init: Float32Array, data: Map<number, { x: Float32Array; y: Float32Array }>): Promise<void> {
    const before = tf.memory().numTensors;
    const loop = new LoopBaseline(def, init);
    const s = small(def, data, 1);
    await settle([() => loop.predict(s.x, s.n), () => loop.perSampleGrads(s.x, s.y, s.n)], this.o.settleMs);
    for (const [B, { x, y }] of data) {
      await this.cell(w, 'predict', B, 'loop', 1, () => loop.predict(x, B));
      await this.cell(w, 'perSampleGrads', B, 'loop', 1, () => loop.perSampleGrads(x, y, B));
      await this.cell(w, 'step', B, 'loop', 1, () => loop.step(x, y, B, LEARNING_RATE));
    }
    loop.dispose();
    this.skip(w.name, 'perSampleGrads', 'batched', 'tfjs has no vmap: per-sample gradients have no batched form');
    if (this.o.loopOnly) {
      this.skip(w.name, '*', 'batched', 'not requested (loopOnly)');
      this.skip(w.name, '*', 'fit', 'not requested (loopOnly)');
    } else {
      const batched = new BatchedBaseline(def, w, init, LEARNING_RATE);
      for (const [B, { x, y }] of data) {
        await this.cell(w, 'predict', B, 'batched', 1, () => batched.predict(x, B));
        await this.cell(w, 'step', B, 'batched', 1, () => batched.step(x, y, B));
      }
      batched.dispose();
      const fit = new FitBaseline(def, w, init, LEARNING_RATE);
      for (const [B, { x, y }] of data) await this.cell(w, 'step', B, 'fit', 1, () => fit.step(x, y, B));
      fit.dispose();
    }
    const leaked = tf.memory().numTensors - before;
    if (leaked !== 0) this.notes.push(`${w.name}: the main-thread baselines left ${leaked} tensors allocated`);
  }

  async pools(w: Workload, def: ModelDef, data: Map<number, { x: Float32Array; y: Float32Array }>): Promise<void> {
    for (const threads of this.o.threads) {
      const pool = await GradPool.create(poolOptions(this.o, w, threads));
      this.log(`  pool@${threads}: executor ${pool.executor}`);
      try {
        const initial = pool.getParams();
        const lastCall = () => pool.stats().lastCall;
        const step = stepOf(pool);
        const optimizer = sgd({ learningRate: LEARNING_RATE });
        const s = small(def, data, threads);
        const ops: (() => Promise<unknown>)[] = [() => pool.predict(s.x), () => pool.perSampleGrads(s.x, s.y)];
        if (step) ops.push(() => step(s.x, s.y, { optimizer }));
        await settle(ops, this.o.settleMs);
        pool.setParams(initial);
        for (const [B, { x, y }] of data) {
          const info = poolInfo(pool, B);
          // { copy: false }: results stay in the pool's reused shared buffers, as torch.func returns
          // its tensors without a second copy (fresh 100 MB arrays cost ~0.3 s of page faults here).
          await this.cell(w, 'predict', B, 'pool', threads, () => pool.predict(x, { copy: false }), lastCall, info);
          await this.cell(w, 'perSampleGrads', B, 'pool', threads, () => pool.perSampleGrads(x, y, { copy: false }), lastCall, info);
          if (step) {
            pool.setParams(initial); // every batch size trains from the same starting point
            await this.cell(w, 'step', B, 'pool', threads, () => step(x, y, { optimizer }), lastCall, info);
          } else {
            this.skip(w.name, 'step', 'pool', 'GradPool.step is not available in this build');
          }
        }
      } finally {
        await pool.close();
      }
    }
  }
}

/** Measures every requested cell. Progress goes to stdout when `o.log`. */
export async function runSuite(o: ResolvedBenchOptions): Promise<SuiteOutput> {
  // The main thread's backend, so the baselines run the same kernels as the workers.
  await initBackend(o.backend);
  const r = new Runner(o);
  const batches: Record<string, number[]> = {};
  for (const name of o.workloads) {
    const w = WORKLOADS[name];
    const def = await loadModel(modelHref(w.model));
    const init = initParams(def, o.seed);
    const bs = o.batches[name] ?? (o.quick ? w.batches.quick : w.batches.full);
    batches[name] = bs;
    const data = new Map(bs.map((B) => [B, w.data(B, o.seed + B)] as const));
    r.log(`${w.title} (${def.layout.total} parameters), batches ${bs.join(', ')}, backend ${o.backend}`);
    await r.baselines(w, def, init, data);
    await r.pools(w, def, data);
  }
  return { rows: r.rows, skipped: r.skipped, notes: r.notes, batches };
}
