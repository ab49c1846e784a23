/**
 * The thread-scaling comparison: per-sample gradients of the seed model at B=4096, by the sequential
 * main-thread loop, the pool at 1 thread, at 2 threads and at the most threads requested.
 *
 * Its targets measure the pool's overhead and scaling for the SAME per-sample algorithm as the bare
 * loop, so the pool runs the `'loop'` executor; unless `--executor` names one, the pool's default
 * executor (vectorized, when the model allows) is measured alongside for reference.
 *
 * Its targets are ratios of these timings, so unlike the rest of the suite (one block of calls per
 * cell) the contenders are measured INTERLEAVED: every round times each contender once, in a shuffled
 * order, with all pools alive at once. Load from other processes then drifts onto every contender
 * alike instead of onto whichever block happened to run during it.
 */
import { initParams } from '../src/model/define.js';
import { loadModel, modelHref } from '../src/model/load.js';
import { GradPool } from '../src/index.js';
import { LoopBaseline } from './baselines.js';
import { interleave, latencyStats, medianBreakdown, settle } from './measure.js';
import { poolInfo, poolOptions, small } from './suite.js';
import { SCALING_BATCH, type ResolvedBenchOptions } from './options.js';
import type { Breakdown, ScalingResult } from './types.js';
import { WORKLOADS } from './workloads.js';

/** The comparison's coordinates (the batch can be lowered for tests). */
export const SCALING = { workload: 'seed', op: 'perSampleGrads', batch: SCALING_BATCH } as const;

/** Thread counts compared: 1, 2 and the most requested, those not above it. */
export function scalingThreads(requested: readonly number[]): number[] {
  const max = Math.max(...requested);
  return [...new Set([1, 2, max])].filter((t) => t <= max).sort((a, b) => a - b);
}

/** Runs the interleaved comparison; `rounds` timed calls per contender after a warm-up. */
export async function runScaling(o: ResolvedBenchOptions, batch: number, rounds: number): Promise<ScalingResult> {
  const w = WORKLOADS.seed;
  const def = await loadModel(modelHref(w.model));
  const { x, y } = w.data(batch, o.seed + batch);
  const loop = new LoopBaseline(def, initParams(def, o.seed));
  const threads = scalingThreads(o.threads);
  if (o.log) console.log(`scaling: seed perSampleGrads B=${batch}, loop vs pool at ${threads.join(', ')} threads, ${rounds} interleaved rounds`);
  const pools: GradPool[] = [];
  const poolThreads: number[] = [];
  try {
    const seen = new Set<string>();
    for (const executor of o.executor ? [o.executor] : (['loop', undefined] as const)) {
      for (const t of threads) {
        const pool = await GradPool.create(poolOptions({ ...o, executor }, w, t));
        const info = poolInfo(pool, batch);
        const key = `${info.executor}|${info.chunkSize}|${t}`;
        // 'auto' may resolve to the loop executor already measured: keep one of each.
        if (seen.has(key)) {
          await pool.close();
          continue;
        }
        seen.add(key);
        pools.push(pool);
        poolThreads.push(t);
      }
    }
    const contenders = [
      { method: 'loop' as const, threads: 1, fn: () => loop.perSampleGrads(x, y, batch) },
      ...pools.map((p, i) => ({ method: 'pool' as const, threads: poolThreads[i]!, fn: () => p.perSampleGrads(x, y) })),
    ];
    const s = small(def, new Map([[batch, { x, y }]]), Math.max(...threads));
    await settle([() => loop.perSampleGrads(s.x, s.y, s.n), ...pools.map((p) => () => p.perSampleGrads(s.x, s.y))], o.settleMs);
    const calls = contenders.map(() => [] as Breakdown[]);
    // Each pool's breakdown is read right after its timed call (the warm-up calls came before).
    const samples = await interleave(
      contenders.map((c, i) => ({
        fn: c.fn,
        after: () => {
          const t = i > 0 ? pools[i - 1]!.stats().lastCall : null;
          if (t) calls[i]!.push(t);
        },
      })),
      rounds,
      o.warmupIterations,
    );
    return {
      ...SCALING,
      batch,
      rounds,
      contenders: contenders.map((c, i) => ({
        method: c.method,
        threads: c.threads,
        ...(i > 0 ? poolInfo(pools[i - 1]!, batch) : { executor: null, chunkSize: null }),
        latency: latencyStats(samples[i]!),
        breakdown: medianBreakdown(calls[i]!),
      })),
    };
  } finally {
    loop.dispose();
    await Promise.all(pools.map((p) => p.close()));
  }
}
