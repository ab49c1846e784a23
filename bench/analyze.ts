/**
 * Derived figures: throughput, speedup and efficiency against the pool's smallest thread count,
 * ratio against the sequential loop, and the issue-2 targets (reported, never asserted).
 */
import type { RawRow } from './suite.js';
import type { BenchRow, TargetResult } from './types.js';

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

/** The first benchmark of issue 2: per-sample gradients of the seed model at B=4096. */
export const ISSUE2 = { workload: 'seed', op: 'perSampleGrads', batch: 4096 } as const;

function find(rows: readonly BenchRow[], method: BenchRow['method'], threads: number): BenchRow | undefined {
  return rows.find((r) => r.workload === ISSUE2.workload && r.op === ISSUE2.op && r.batch === ISSUE2.batch && r.method === method && r.threads === threads);
}

function target(id: string, description: string, measured: number | null, threshold: number, lowerIsBetter: boolean, missing: string): TargetResult {
  if (measured === null || !Number.isFinite(measured)) return { id, description, measured: null, threshold, lowerIsBetter, met: null, note: missing };
  return { id, description, measured, threshold, lowerIsBetter, met: lowerIsBetter ? measured <= threshold : measured >= threshold };
}

/**
 * Issue 2's targets, from the run's own rows: the pool at 2 threads ≥ 1.8× the pool at 1 thread, and
 * the pool at 1 thread within 10% of the bare main-thread loop (time ratio ≤ 1.10).
 */
export function evaluateTargets(rows: readonly BenchRow[]): TargetResult[] {
  const loop = find(rows, 'loop', 1);
  const p1 = find(rows, 'pool', 1);
  const p2 = find(rows, 'pool', 2);
  const what = `seed perSampleGrads B=${ISSUE2.batch}`;
  return [
    target(
      'issue2-scaling',
      `${what}: pool at 2 threads ≥ 1.8× the pool at 1 thread`,
      p1 && p2 ? p1.latency.medianMs / p2.latency.medianMs : null,
      1.8,
      false,
      'not measured: needs the seed workload with B=4096 and threads 1 and 2',
    ),
    target(
      'issue2-overhead',
      `${what}: pool at 1 thread within 10% of the main-thread loop (time ratio ≤ 1.10)`,
      p1 && loop ? p1.latency.medianMs / loop.latency.medianMs : null,
      1.1,
      true,
      'not measured: needs the seed workload with B=4096, the loop and thread 1',
    ),
  ];
}

/** The issue-2 comparison as text lines: loop, pool at 1 thread, pool at the most threads, targets. */
export function issue2Summary(rows: readonly BenchRow[], targets: readonly TargetResult[]): string[] {
  const pools = rows.filter((r) => r.workload === ISSUE2.workload && r.op === ISSUE2.op && r.batch === ISSUE2.batch && r.method === 'pool');
  const loop = find(rows, 'loop', 1);
  const p1 = find(rows, 'pool', 1);
  const pN = pools.reduce<BenchRow | undefined>((a, r) => (!a || r.threads > a.threads ? r : a), undefined);
  const out = [`Issue 2 benchmark: per-sample gradients, seed model, B=${ISSUE2.batch}`];
  const line = (label: string, r: BenchRow | undefined) =>
    r && out.push(`  ${label.padEnd(22)} ${r.latency.medianMs.toFixed(1).padStart(9)} ms  (min ${r.latency.minMs.toFixed(1)}, max ${r.latency.maxMs.toFixed(1)}, n=${r.latency.samples})`);
  line('main-thread loop', loop);
  line('pool, 1 thread', p1);
  if (pN && pN !== p1) line(`pool, ${pN.threads} threads`, pN);
  if (p1 && pN && pN !== p1) out.push(`  pool ${pN.threads} threads vs 1 thread: ${(p1.latency.medianMs / pN.latency.medianMs).toFixed(2)}×`);
  for (const t of targets) {
    const verdict = t.met === null ? `NOT MEASURED (${t.note})` : t.met ? 'MET' : 'NOT MET';
    out.push(`  target ${t.description}: ${t.measured === null ? '–' : t.measured.toFixed(3)} → ${verdict}`);
  }
  return out;
}
