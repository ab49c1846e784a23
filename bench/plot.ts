/**
 * The speedup-vs-threads plot, as a vega-lite spec rendered to SVG in Node by vega's headless view
 * (`renderer: 'none'` + `toSVG()`: no browser, no canvas, no hand-written SVG).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { machineLine } from './report.js';
import type { BenchResult } from './types.js';

/** Legend label of the ideal-scaling line; the test looks for it. */
export const IDEAL_LABEL = 'ideal (linear)';

/** Label of a plotted series: one per workload and op, at its largest batch. */
export const seriesLabel = (workload: string, op: string, batch: number) => `${workload} ${op} B=${batch}`;

/** vega's tableau10, spelled out so the ideal line's gray can be appended to it. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** The plotted points: the pool's speedup at each thread count, plus the ideal line. */
export function plotData(res: BenchResult): { threads: number; speedup: number; series: string; kind: 'measured' | 'ideal' }[] {
  const largest = new Map<string, number>();
  for (const r of res.rows) if (r.method === 'pool') largest.set(`${r.workload}|${r.op}`, Math.max(largest.get(`${r.workload}|${r.op}`) ?? 0, r.batch));
  const measured = res.rows
    .filter((r) => r.method === 'pool' && r.speedup !== null && r.batch === largest.get(`${r.workload}|${r.op}`))
    .map((r) => ({ threads: r.threads, speedup: r.speedup!, series: seriesLabel(r.workload, r.op, r.batch), kind: 'measured' as const }));
  const ideal = res.config.threads.map((t) => ({ threads: t, speedup: t / res.config.speedupBase, series: IDEAL_LABEL, kind: 'ideal' as const }));
  return [...measured, ...ideal];
}

/** The vega-lite spec of the plot (kept separate so it can be written next to the SVG or reused). */
export function speedupSpec(res: BenchResult): TopLevelSpec {
  const ts = res.config.threads;
  const base = res.config.speedupBase;
  const data = plotData(res);
  // Measured series take the categorical palette; the ideal line is always dark gray.
  const series = [...new Set(data.filter((d) => d.kind === 'measured').map((d) => d.series))];
  const colors = series.map((_, i) => PALETTE[i % PALETTE.length]!);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `gradpool: speedup vs threads (${res.config.backend})`, subtitle: machineLine(res), subtitleFontSize: 9, anchor: 'start' },
    width: 460,
    height: 300,
    background: 'white',
    data: { values: data },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'threads',
        type: 'quantitative',
        title: 'worker threads',
        scale: { domain: [Math.min(...ts), Math.max(...ts)], nice: false },
        axis: { values: ts, format: 'd' },
      },
      y: { field: 'speedup', type: 'quantitative', title: `speedup vs pool at ${base} thread${base === 1 ? '' : 's'}`, scale: { zero: true } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: [...series, IDEAL_LABEL], range: [...colors, '#444444'] },
        legend: { orient: 'right', labelLimit: 320 },
      },
      // The ideal line is dashed; measured series are solid.
      strokeDash: { field: 'kind', type: 'nominal', legend: null, scale: { domain: ['measured', 'ideal'], range: [[1, 0], [5, 4]] } },
    },
  };
}

/** Renders the plot to an SVG string. */
export async function renderSpeedupSvg(res: BenchResult): Promise<string> {
  const { spec } = compile(speedupSpec(res));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
