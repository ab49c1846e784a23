import { Bench } from 'tinybench';
import { Rng } from '../src/rng.js';
import type { Breakdown, LatencyStats } from './types.js';

/** How long and how often each cell is timed. */
export interface MeasureConfig {
  minIterations: number;
  timeBudgetMs: number;
  warmupIterations: number;
  warmupMs: number;
}

/**
 * Times `fn` with tinybench: untimed warm-up calls first, until both `warmupIterations` and `warmupMs`
 * are reached (they allocate the pool's shared buffers and let V8 optimise tfjs's per-op path: a
 * fresh worker runs the per-sample loop several times slower for its first few dozen calls), then
 * timed calls until both `minIterations` and the time budget are reached. `isAsync`: fn returns a promise, awaited inside the timed window. The median is the headline figure: on a machine shared with other work it
 * is far steadier than the mean; min and max show the spread.
 */
export async function measure(name: string, fn: () => unknown, isAsync: boolean, cfg: MeasureConfig): Promise<LatencyStats> {
  const bench = new Bench({
    name,
    iterations: cfg.minIterations,
    time: cfg.timeBudgetMs,
    warmup: cfg.warmupIterations > 0 || cfg.warmupMs > 0,
    warmupIterations: cfg.warmupIterations,
    warmupTime: cfg.warmupMs,
    throws: true,
  });
  // Stated, not detected: tinybench's detection calls fn once without awaiting it, which would
  // overlap that call with the first timed one (and model.fit refuses to run twice at once).
  bench.add(name, fn, { async: isAsync });
  const [task] = await bench.run();
  const r = task!.result;
  if (r.state !== 'completed') throw new Error(`bench: task '${name}' ended in state ${r.state}${'error' in r ? `: ${r.error.message}` : ''}`);
  const l = r.latency;
  return { medianMs: l.p50, minMs: l.min, maxMs: l.max, meanMs: l.mean, samples: l.samplesCount };
}

/** The median of a list of numbers (NaN for an empty list). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const FIELDS = ['dispatchMs', 'computeMs', 'reduceMs', 'optimizerMs', 'totalMs'] as const;

/** Field-wise medians of `pool.stats().lastCall` records; null when there are none (main-thread baselines). */
export function medianBreakdown(calls: readonly Breakdown[]): Breakdown | null {
  if (calls.length === 0) return null;
  return Object.fromEntries(FIELDS.map((f) => [f, median(calls.map((c) => c[f]))])) as unknown as Breakdown;
}

/**
 * Calls each function in turn, awaiting each, until `ms` have passed (none when `ms` is 0): brings a
 * fresh worker or the main thread to steady state before anything is timed (see `settleMs`).
 */
export async function settle(fns: readonly (() => unknown)[], ms: number): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) for (const f of fns) await f();
}

/** The `q`-quantile (0..1) of sorted numbers, linearly interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

/** Median, quartiles, min, max and mean of timed calls (ms). */
export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    medianMs: median(s),
    minMs: s[0]!,
    maxMs: s[s.length - 1]!,
    meanMs: s.reduce((a, b) => a + b, 0) / s.length,
    q1Ms: quantile(s, 0.25),
    q3Ms: quantile(s, 0.75),
    samples: s.length,
  };
}

/** One contender of {@link interleave}: an op, awaited inside its timed window. */
export interface Contender {
  fn: () => unknown;
  /**
   * A contender that times its own call (a peer in another process, timed there so the pipe is not
   * counted): its resolved value is the sample, in ms, instead of the wall time around `fn`.
   */
  timed?: () => Promise<number>;
  /** Called after each timed call (e.g. to read `pool.stats().lastCall`). */
  after?: () => void;
}

/**
 * Times contenders INTERLEAVED: `warmupCalls` untimed calls of each first, then `rounds` rounds that
 * time every contender once, in an order shuffled each round (seeded by `seed`, so a run repeats).
 * Load from other processes then drifts onto every contender alike, and per-round ratios pair calls
 * made seconds apart. Shuffled rather than rotated: what ran just before a call changes its time
 * (a 2-thread pool call of the seed model took 1.1–1.65× its back-to-back time after a PyTorch
 * call, jax-js, or 3 ms of sleep or main-thread work), and a rotated order gives each contender
 * the same predecessor in every round.
 * Returns each contender's timings (ms), round by round, so `samples[a][r] / samples[b][r]` is one pair.
 */
export async function interleave(contenders: readonly Contender[], rounds: number, warmupCalls: number, seed = 0): Promise<number[][]> {
  for (const c of contenders) for (let i = 0; i < warmupCalls; i++) await c.fn();
  const samples = contenders.map(() => [] as number[]);
  const rng = new Rng(seed);
  for (let r = 0; r < rounds; r++) {
    for (const i of rng.permutation(contenders.length)) {
      const c = contenders[i]!;
      const t0 = performance.now();
      const own = c.timed ? await c.timed() : (await c.fn(), undefined);
      samples[i]!.push(own ?? performance.now() - t0);
      c.after?.();
    }
  }
  return samples;
}
