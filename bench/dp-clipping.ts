/**
 * DP-SGD's cost against non-private training: a DP step by ghost norms (the default on the
 * vectorized executor) and by per-sample gradients, each against a non-private step of the same
 * model, batch and threads, interleaved in one run (one call of each per round, in a shuffled order), as medians
 * with quartiles and per-round ratios. The target: ghost ≤ 1.3× non-private on the MNIST MLP
 * at B=256 and the conv model at B=128. Peak memory of a DP step is bounded by the chunk (a chunk's
 * per-sample gradients, or for ghost its activations and output gradients), never B × P.
 */
import { GradPool, sgd } from '../src/index.js';
import { interleave, latencyStats } from './measure.js';
import { ratioStats } from './target-checks.js';
import type { InterleavedOptions, LatencyStats, RatioStats } from './types.js';
import { WORKLOADS } from './workloads.js';

export type DpClippingBenchOptions = InterleavedOptions;

export interface DpClippingCell {
  workload: string;
  batch: number;
  plain: LatencyStats;
  ghost: LatencyStats;
  perSample: LatencyStats;
  /** Per round: a ghost DP step's time over the non-private step's. */
  ghostRatio: RatioStats;
  /** Per round: a per-sample DP step's time over the non-private step's. */
  perSampleRatio: RatioStats;
  /** Target: ghost ≤ 1.3× non-private (median of the per-round ratios). */
  met: boolean;
}

const CASES = [
  { workload: 'mlp', batch: 256 },
  { workload: 'conv', batch: 128 },
] as const;

/** Runs the comparison (see the file comment). */
export async function runDpClippingBench(o: DpClippingBenchOptions): Promise<DpClippingCell[]> {
  const cells: DpClippingCell[] = [];
  for (const c of CASES) {
    const w = WORKLOADS[c.workload];
    const pools = await Promise.all([0, 1, 2].map(() => GradPool.create({ model: w.model, threads: o.threads, backend: o.backend, seed: o.seed ?? 0 })));
    try {
      const { x, y } = w.data(c.batch, o.seed ?? 0);
      const dp = { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: c.batch };
      const opts = pools.map(() => sgd({ learningRate: 0.01 }));
      if (o.log) console.log(`dp clipping: ${w.title}, B=${c.batch}, ${o.threads} threads, ${o.rounds} interleaved rounds`);
      const [plain, ghost, perSample] = await interleave(
        [
          { fn: () => pools[0]!.step(x, y, { optimizer: opts[0]! }) },
          { fn: () => pools[1]!.step(x, y, { optimizer: opts[1]!, dp: { ...dp, clipping: 'ghost' } }) },
          { fn: () => pools[2]!.step(x, y, { optimizer: opts[2]!, dp: { ...dp, clipping: 'per-sample' } }) },
        ],
        o.rounds,
        o.warmupCalls,
      );
      const ghostRatio = ratioStats(ghost!, plain!);
      cells.push({ workload: w.title, batch: c.batch, plain: latencyStats(plain!), ghost: latencyStats(ghost!), perSample: latencyStats(perSample!), ghostRatio, perSampleRatio: ratioStats(perSample!, plain!), met: ghostRatio.median <= 1.3 });
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  }
  return cells;
}

/** Memory of a ghost-clipped DP step at one batch size, on a fresh pool. */
export interface DpMemoryRow {
  batch: number;
  /** What the batch's per-sample gradients would take, materialised at once: B × P × 4 bytes. */
  perSampleGradBytes: number;
  /** The pool's shared memory after the step (inputs, losses, norms, chunk partials, parameters). */
  sharedBytes: number;
  /** Growth of the workers' wasm heaps over the step (their chunk working sets). */
  heapGrowthBytes: number;
  /** Growth of the process's RSS over the step (the workers are its threads). */
  rssGrowthBytes: number;
}

/** A ghost DP step of the MNIST MLP at B = 256 and 2048, each on a fresh pool: memory is one chunk's, not B × P. */
export async function runDpMemory(o: Pick<InterleavedOptions, 'threads' | 'backend' | 'seed'>): Promise<DpMemoryRow[]> {
  const w = WORKLOADS.mlp;
  const rows: DpMemoryRow[] = [];
  for (const batch of [256, 2048]) {
    const pool = await GradPool.create({ model: w.model, threads: o.threads, backend: o.backend, seed: o.seed ?? 0 });
    try {
      const heaps = () => pool.stats().workers.reduce((a, x) => a + (x.wasmHeapBytes ?? 0), 0);
      const { x, y } = w.data(batch, o.seed ?? 0);
      const small = w.data(8, o.seed ?? 0);
      const dp = { maxGradNorm: 1, noiseMultiplier: 1, clipping: 'ghost' as const };
      await pool.step(small.x, small.y, { optimizer: sgd({ learningRate: 0.01 }), dp }); // load and warm the workers
      const [rss0, heap0] = [process.memoryUsage().rss, heaps()];
      await pool.step(x, y, { optimizer: sgd({ learningRate: 0.01 }), dp });
      rows.push({ batch, perSampleGradBytes: batch * pool.model.layout.total * 4, sharedBytes: pool.stats().sharedBytes, heapGrowthBytes: heaps() - heap0, rssGrowthBytes: process.memoryUsage().rss - rss0 });
    } finally {
      await pool.close();
    }
  }
  return rows;
}

/** The memory rows as console lines. */
export function dpMemoryReport(rows: readonly DpMemoryRow[]): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return ['DP step memory (ghost clipping, MNIST MLP, fresh pool per batch size):', ...rows.map((r) => `  B=${r.batch}: per-sample gradients would be ${mb(r.perSampleGradBytes)}; shared ${mb(r.sharedBytes)}, wasm heaps +${mb(r.heapGrowthBytes)}, RSS +${mb(r.rssGrowthBytes)}`)].join('\n');
}

/** The cells as console lines: medians with IQR, and both ratios to the non-private step. */
export function dpClippingReport(cells: readonly DpClippingCell[]): string {
  const f = (v: number) => v.toFixed(2);
  const ms = (s: LatencyStats) => `${f(s.medianMs)} ms (IQR ${f(s.q1Ms!)}–${f(s.q3Ms!)})`;
  const lines = ['DP-SGD step vs non-private step (same model, batch, threads; interleaved):'];
  for (const c of cells)
    lines.push(
      `  ${c.workload}, B=${c.batch}: non-private ${ms(c.plain)}, ghost ${ms(c.ghost)}, per-sample ${ms(c.perSample)}; ` +
        `ghost / non-private ${f(c.ghostRatio.median)}× (IQR ${f(c.ghostRatio.q1)}–${f(c.ghostRatio.q3)}) target ≤ 1.3×: ${c.met ? 'met' : 'not met'}; per-sample / non-private ${f(c.perSampleRatio.median)}× (IQR ${f(c.perSampleRatio.q1)}–${f(c.perSampleRatio.q3)})`,
    );
  return lines.join('\n');
}
