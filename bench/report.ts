/**
 * Tables of a {@link BenchResult}: a detailed one (every cell, its spread and the pool's time
 * breakdown) and a compact pivot (µs/sample per method and thread count) for the console and README.
 */
import { isScalingTarget, scalingSummary } from './analyze.js';
import type { BenchResult, BenchRow, TargetResult, TargetsRun } from './types.js';

type Cell = string;

const fix = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));
/** 3 significant digits without exponent noise: 0.0123, 1.23, 123, 12300. */
export const sig = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));

/** Pads columns to their widest cell; numbers right-aligned. */
export function renderText(header: Cell[], body: Cell[][]): string {
  const w = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const num = header.map((_, c) => body.every((r) => /^[-–\d.,×%]*$/.test(r[c]!)));
  const line = (r: Cell[]) => r.map((v, c) => (num[c] ? v.padStart(w[c]!) : v.padEnd(w[c]!))).join('  ').trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** A GitHub-flavoured markdown table; numeric columns right-aligned. */
export function renderMarkdown(header: Cell[], body: Cell[][]): string {
  const num = header.map((_, c) => body.length > 0 && body.every((r) => /^[-–\d.,×%]*$/.test(r[c]!)));
  const row = (r: Cell[]) => `| ${r.join(' | ')} |`;
  return [row(header), `|${num.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`, ...body.map(row)].join('\n');
}

const methodLabel = (r: BenchRow) => (r.method === 'pool' ? `pool ${r.threads}T` : r.method);

/** Every measured cell: median, spread, throughput, scaling, and the pool's breakdown (medians, ms). */
export function detailedTable(res: BenchResult): { header: Cell[]; body: Cell[][] } {
  const header = ['workload', 'op', 'B', 'method', 'executor/chunk', 'median ms', 'min–max ms', 'n', 'samples/s', 'µs/sample', `×${res.config.speedupBase}T`, 'eff', '×loop', 'dispatch', 'compute', 'reduce', 'optim'];
  const body = res.rows.map((r) => {
    const b = r.breakdown;
    return [
      r.workload,
      r.op,
      String(r.batch),
      methodLabel(r),
      r.executor ? `${r.executor}/${r.chunkSize ?? '?'}` : '–',
      sig(r.latency.medianMs),
      `${sig(r.latency.minMs)}–${sig(r.latency.maxMs)}`,
      String(r.latency.samples),
      sig(r.samplesPerSec),
      sig(r.usPerSample),
      fix(r.speedup, 2),
      fix(r.efficiency, 2),
      fix(r.vsLoop, 2),
      b ? sig(b.dispatchMs) : '–',
      b ? sig(b.computeMs) : '–',
      b ? sig(b.reduceMs) : '–',
      b ? sig(b.optimizerMs) : '–',
    ];
  });
  return { header, body };
}

/**
 * One line per (workload, op, batch): µs/sample (median) of each method and thread count, then the
 * pool's best speedup over its smallest thread count and its ratio to the loop at that count.
 */
export function pivotTable(res: BenchResult): { header: Cell[]; body: Cell[][] } {
  const methods = ['loop', 'batched', 'fit'] as const;
  const present = methods.filter((m) => res.rows.some((r) => r.method === m));
  const threads = res.config.threads;
  const base = res.config.speedupBase;
  const top = threads[threads.length - 1]!;
  const header = ['workload', 'op', 'B', ...present.map((m) => `${m}`), ...threads.map((t) => `pool ${t}T`), `pool ${top}T speedup`, `pool ${base}T time / loop`];
  const groups = new Map<string, BenchRow[]>();
  for (const r of res.rows) {
    const k = `${r.workload}|${r.op}|${r.batch}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const body = [...groups.values()].map((rs) => {
    const { workload, op, batch } = rs[0]!;
    const us = (m: string, t = 1) => {
      const r = rs.find((x) => x.method === m && (m !== 'pool' || x.threads === t));
      return r ? sig(r.usPerSample) : '–';
    };
    const pTop = rs.find((x) => x.method === 'pool' && x.threads === top);
    const pBase = rs.find((x) => x.method === 'pool' && x.threads === base);
    return [
      workload,
      op,
      String(batch),
      ...present.map((m) => us(m)),
      ...threads.map((t) => us('pool', t)),
      pTop && pTop.speedup !== null ? `${pTop.speedup.toFixed(2)}×` : '–',
      // As a time ratio: < 1 means the pool on one thread is faster than the bare loop.
      pBase && pBase.vsLoop !== null ? (1 / pBase.vsLoop).toFixed(2) : '–',
    ];
  });
  return { header, body };
}

/** The machine line used by the console and the README. */
export function machineLine(res: BenchResult): string {
  const m = res.machine;
  const gib = (m.totalMemoryBytes / 2 ** 30).toFixed(1);
  return `${m.cpuModel}, ${m.availableParallelism} cores available (${m.cpus} logical CPUs), ${gib} GiB, ${m.platform}/${m.arch}; Node ${res.versions.node}, tfjs ${res.versions.tfjs}, backend ${res.config.backend}`;
}

/** Which executor and chunk size the pools ran, per workload, e.g. `seed: vectorized, chunk 4096`. */
export function executorLine(res: BenchResult): string {
  const per = new Map<string, Set<string>>();
  for (const r of res.rows) if (r.method === 'pool') per.set(r.workload, (per.get(r.workload) ?? new Set()).add(`${r.executor ?? '?'}, chunk ${r.chunkSize ?? '?'}`));
  return [...per].map(([w, s]) => `${w}: ${[...s].join(' / ')}`).join('; ');
}

/** How busy the machine was with other work, from the recorded 1-minute load averages. */
export function loadLine(res: BenchResult): string {
  const [a, b] = [res.loadAverage.start[0]!, res.loadAverage.end[0]!];
  return `1-minute load average ${a.toFixed(1)} at the start, ${b.toFixed(1)} at the end, on ${res.machine.availableParallelism} cores`;
}

/** The whole console report. */
export function consoleReport(res: BenchResult): string {
  const d = detailedTable(res);
  const p = pivotTable(res);
  const out = [
    '',
    `gradpool bench — ${machineLine(res)}`,
    `${res.config.quick ? 'quick run' : 'full run'}, threads ${res.config.threads.join(',')}, ${(res.durationMs / 1000).toFixed(0)} s, ${loadLine(res)}`,
    `Pool executor: ${executorLine(res)}.`,
    `Times are medians (ms); speedup is vs the pool at ${res.config.speedupBase} thread(s); ×loop is the loop's time over this one's.`,
    '',
    renderText(d.header, d.body),
    '',
    'µs per sample (median; lower is better):',
    renderText(p.header, p.body),
    '',
    ...scalingSummary(res.scaling, res.targets.filter(isScalingTarget)),
    ...targetsReport(res, renderText),
  ];
  if (res.skipped.length) out.push('', 'Not measured:', ...res.skipped.map((s) => `  ${s.workload} ${s.op} ${s.method}: ${s.reason}`));
  if (res.notes.length) out.push('', 'Notes:', ...res.notes.map((n) => `  ${n}`));
  return out.join('\n');
}

type Render = (header: Cell[], body: Cell[][]) => string;

const refKey = (workload: string, op: string, batch: number) => `${workload}-${op === 'perSampleGrads' ? 'psg' : op}-${batch}`;

/** Every contender of the targets' interleaved comparisons, with the reference figures beside it. */
export function targetCellsTable(run: TargetsRun): { header: Cell[]; body: Cell[][] } {
  const header = ['contender', 'executor/chunk', 'rounds', 'median ms', 'IQR ms', 'min–max ms', 'µs/sample', 'PyTorch µs/sample*', 'jax-js µs/sample (issue)'];
  const body = run.groups.flatMap((g) =>
    g.cells.map((c) => {
      const l = c.latency;
      const k = refKey(c.workload, c.op, c.batch);
      const ref = (t: Record<string, number>) => (c.method === 'pool' && c.threads === 2 && t[k] !== undefined ? String(t[k]) : '–');
      return [
        c.label,
        c.executor ? `${c.executor}/${c.chunkSize ?? '?'}` : '–',
        String(l.samples),
        sig(l.medianMs),
        `${sig(l.q1Ms ?? l.minMs)}–${sig(l.q3Ms ?? l.maxMs)}`,
        `${sig(l.minMs)}–${sig(l.maxMs)}`,
        sig(c.usPerSample),
        ref(run.reference.pytorch),
        ref(run.reference.jax),
      ];
    }),
  );
  return { header, body };
}

/** A new pool's first calls, per workload. */
export function firstCallsTable(run: TargetsRun): { header: Cell[]; body: Cell[][] } {
  const header = ['workload', 'op', 'B', 'threads', 'create ms', 'first 10 calls ms', 'steady ms/call', 'first 10 / 10 steady', 'warm-up calls'];
  const body = run.firstCalls.map((f) => [f.workload, f.op, String(f.batch), String(f.threads), f.createMs.toFixed(0), sig(f.first10Ms), sig(f.steadyMedianMs), `${f.ratio.toFixed(2)}×`, String(f.warmupCalls)]);
  return { header, body };
}

const verdict = (t: TargetResult) => (t.met === null ? `not measured (${t.note})` : t.met ? 'met' : 'NOT MET');

/** One line per target: what, the measured figure (median), its spread, what is needed, the verdict. */
export function targetsTable(targets: readonly TargetResult[]): { header: Cell[]; body: Cell[][] } {
  const header = ['target', 'measured', 'IQR', 'needed', 'result'];
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(3));
  const body = targets.map((t) => [t.description, t.measured === null ? '–' : f(t.measured), t.range ? `${f(t.range[0])}–${f(t.range[1])}` : '–', `${t.lowerIsBetter ? '≤' : '≥'} ${t.threshold}`, verdict(t)]);
  return { header, body };
}

/** The targets' section of a report (console or README): targets, their figures, first calls, cells. */
export function targetsReport(res: BenchResult, render: Render, detailLine = (t: TargetResult) => `  ${t.id}: ${t.detail}`): string[] {
  const run = res.targetRun;
  const all = res.targets.filter((t) => !isScalingTarget(t));
  if (!run) return ['', 'Targets: not run.'];
  const t = targetsTable(all);
  const c = targetCellsTable(run);
  const fc = firstCallsTable(run);
  return [
    '',
    'Targets (reported, not asserted; same-run ratios are medians of per-round ratios, IQR beside them):',
    '',
    render(t.header, t.body),
    '',
    'The figures behind them:',
    ...all.filter((x) => x.detail).map(detailLine),
    '',
    `A new pool's first calls (warm-up calls: until a rolling median of ${run.firstCalls[0]?.window ?? 5} calls is within 10% of the steady median, the median of the second half; used as each workload's warm-up below):`,
    '',
    render(fc.header, fc.body),
    '',
    `Interleaved comparisons (all of a workload's contenders alive at once, one call each per round, in an order shuffled each round):`,
    '',
    render(c.header, c.body),
    '',
    `* ${run.reference.label}. jax-js here: ${run.jax ? `${run.jax.version}, ${run.jax.note}` : 'not installed'}. PyTorch here: ${run.pytorch ? `${run.pytorch.version}, same run, in its own processes at ${run.pytorch.threads.join(' and ')} threads (bench/pytorch.ts; each call timed inside the process); the PyTorch targets are judged on it` : "not available (set GRADPOOL_BENCH_PYTHON to a Python with torch): the PyTorch targets use the issue's figures"}.`,
    ...run.notes.map((n) => `Note: ${n}`),
  ];
}
