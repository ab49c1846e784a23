/**
 * Derived figures: throughput, speedup and efficiency against the pool's smallest thread count,
 * ratio against the sequential loop, and the thread-scaling targets (reported, never asserted).
 */
import { SCALING } from './scaling.js';
import type { BenchRow, RawRow, ScalingContender, ScalingResult, TargetResult } from './types.js';

const key = (r: Pick<RawRow, 'workload' | 'op' | 'batch'>) => `${r.workload}|${r.op}|${r.batch}`;

/** Adds throughput, speedup, efficiency and the ratio to the loop to every raw row. */
export function deriveRows(raw: readonly RawRow[], speedupBase: number): BenchRow[] {
  const base = new Map<string, number>();
  const loop = new Map<string, number>();
  for (const r of raw) {
    if (r.method === 'pool' && r.threads === speedupBase) base.set(key(r), r.latency.medianMs);
    if (r.method === 'loop') loop.set(key(r), r.latency.medianMs);
  }
  return raw.map((r) => {
    const m = r.latency.medianMs;
    const b = r.method === 'pool' ? base.get(key(r)) : undefined;
    const l = loop.get(key(r));
    const speedup = b !== undefined ? b / m : null;
    return {
      ...r,
      samplesPerSec: (r.batch * 1000) / m,
      usPerSample: (m * 1000) / r.batch,
      speedup,
      efficiency: speedup !== null ? speedup / (r.threads / speedupBase) : null,
      vsLoop: l !== undefined ? l / m : null,
    };
  });
}

/** A target's verdict; `missing` is the note when `measured` is null (or not finite). */
export function target(id: string, description: string, measured: number | null, threshold: number, lowerIsBetter: boolean, missing = 'not measured'): TargetResult {
  if (measured === null || !Number.isFinite(measured)) return { id, description, measured: null, threshold, lowerIsBetter, met: null, note: missing };
  return { id, description, measured, threshold, lowerIsBetter, met: lowerIsBetter ? measured <= threshold : measured >= threshold };
}

/** The executor the targets are judged on: the per-sample loop executor when measured (see scaling.ts). */
export function targetExecutor(r: ScalingResult | null): string | null {
  const pools = r?.contenders.filter((c) => c.method === 'pool') ?? [];
  return pools.find((c) => c.executor === 'loop')?.executor ?? pools[0]?.executor ?? null;
}

const contender = (r: ScalingResult | null, method: 'loop' | 'pool', threads: number) =>
  r?.contenders.find((c) => c.method === method && c.threads === threads && (method === 'loop' || c.executor === targetExecutor(r)));

/**
 * The thread-scaling targets, from its interleaved comparison: the pool at 2 threads ≥ 1.8× the pool
 * at 1 thread, and the pool at 1 thread within 10% of the bare main-thread loop (time ratio ≤ 1.10).
 */
export function evaluateTargets(r: ScalingResult | null): TargetResult[] {
  const loop = contender(r, 'loop', 1);
  const p1 = contender(r, 'pool', 1);
  const p2 = contender(r, 'pool', 2);
  const exec = targetExecutor(r);
  const what = `seed perSampleGrads B=${r?.batch ?? SCALING.batch}${exec ? `, ${exec} executor` : ''}`;
  return [
    target(
      'scaling-speedup',
      `${what}: pool at 2 threads ≥ 1.8× the pool at 1 thread`,
      p1 && p2 ? p1.latency.medianMs / p2.latency.medianMs : null,
      1.8,
      false,
      'not measured: needs the seed workload and at least 2 threads',
    ),
    target(
      'scaling-overhead',
      `${what}: pool at 1 thread within 10% of the main-thread loop (time ratio ≤ 1.10)`,
      p1 && loop ? p1.latency.medianMs / loop.latency.medianMs : null,
      1.1,
      true,
      'not measured: needs the seed workload',
    ),
  ];
}

/** `main-thread loop`, or `pool, loop executor (chunk 32), 2 threads`. */
export function contenderLabel(c: ScalingContender): string {
  if (c.method === 'loop') return 'main-thread loop';
  return `pool, ${c.executor ?? '?'} executor (chunk ${c.chunkSize ?? '?'}), ${c.threads} thread${c.threads === 1 ? '' : 's'}`;
}

/** A target as a console line: `  target: <description>: <measured> → MET | NOT MET | NOT MEASURED (why)`. */
export function targetVerdict(t: TargetResult): string {
  const verdict = t.met === null ? `NOT MEASURED (${t.note})` : t.met ? 'MET' : 'NOT MET';
  return `  target: ${t.description}: ${t.measured === null ? '–' : t.measured.toPrecision(3)} → ${verdict}`;
}

/** Whether a target is one of {@link evaluateTargets}' (the rest are bench/targets.ts's). */
export const isScalingTarget = (t: TargetResult) => t.id.startsWith('scaling-');

/** The thread-scaling comparison as text lines: each contender, the N-vs-1 speedup, and the targets. */
export function scalingSummary(r: ScalingResult | null, targets: readonly TargetResult[]): string[] {
  if (!r) return ['Thread scaling: not run (it needs the seed workload)'];
  const out = [`Thread scaling: per-sample gradients, seed model, B=${r.batch}, ${r.rounds} interleaved rounds`];
  for (const c of r.contenders) {
    const l = c.latency;
    out.push(`  ${contenderLabel(c).padEnd(48)} ${l.medianMs.toFixed(1).padStart(9)} ms  (min ${l.minMs.toFixed(1)}, max ${l.maxMs.toFixed(1)}, n=${l.samples})`);
  }
  const p1 = contender(r, 'pool', 1);
  const pN = r.contenders.filter((c) => c.method === 'pool' && c.executor === p1?.executor).pop();
  if (p1 && pN && pN.threads > 1) out.push(`  pool (${p1.executor}) ${pN.threads} threads vs 1 thread: ${(p1.latency.medianMs / pN.latency.medianMs).toFixed(2)}×`);
  return [...out, ...targets.map(targetVerdict)];
}
