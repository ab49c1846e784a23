/**
 * The speedup-vs-threads plot as a small hand-written SVG: one line per workload and op (at its
 * largest batch), the dashed ideal line, axes with tick labels, and a legend. No charting library:
 * the bench runs wherever gradpool is installed, and the same result always gives the same bytes.
 */
import { machineLine } from './report.js';
import type { BenchResult } from './types.js';

/** Legend label of the ideal-scaling line; the test looks for it. */
export const IDEAL_LABEL = 'ideal (linear)';

/** Label of a plotted series: one per workload and op, at its largest batch. */
export const seriesLabel = (workload: string, op: string, batch: number) => `${workload} ${op} B=${batch}`;

/** Tableau10, the measured series' colours in order; the ideal line is dark gray. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
const IDEAL_COLOR = '#444444';

export interface PlotPoint {
  threads: number;
  speedup: number;
  series: string;
  kind: 'measured' | 'ideal';
}

/** The plotted points: the pool's speedup at each thread count, plus the ideal line. */
export function plotData(res: BenchResult): PlotPoint[] {
  const largest = new Map<string, number>();
  for (const r of res.rows) if (r.method === 'pool') largest.set(`${r.workload}|${r.op}`, Math.max(largest.get(`${r.workload}|${r.op}`) ?? 0, r.batch));
  const measured = res.rows
    .filter((r) => r.method === 'pool' && r.speedup !== null && Number.isFinite(r.speedup) && r.batch === largest.get(`${r.workload}|${r.op}`))
    .map((r) => ({ threads: r.threads, speedup: r.speedup!, series: seriesLabel(r.workload, r.op, r.batch), kind: 'measured' as const }));
  const ideal = res.config.threads.map((t) => ({ threads: t, speedup: t / res.config.speedupBase, series: IDEAL_LABEL, kind: 'ideal' as const }));
  return [...measured, ...ideal];
}

/** A tick step of 1, 2 or 5 × 10^k that splits [0, max] into at most 6 intervals. */
export function tickStep(max: number): number {
  const raw = max / 6;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw * (1 - 1e-9))!;
}

/** Plot area and type sizes, px. Text widths are estimated (no font metrics here): ~0.6 em a character. */
const BOX = { left: 64, top: 72, width: 460, height: 300, bottom: 52, gap: 28, font: 11 };
const textWidth = (s: string, size: number) => s.length * size * 0.6;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Coordinates to 0.01 px: enough for any screen, and stable text for identical input. */
const px = (v: number) => String(Math.round(v * 100) / 100);
const tickLabel = (v: number, step: number) => v.toFixed(Math.max(0, -Math.floor(Math.log10(step))));

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`;
}

/** Renders the plot of {@link plotData} to an SVG document. */
export function renderSpeedupSvg(res: BenchResult): string {
  const data = plotData(res);
  const threads = res.config.threads;
  const base = res.config.speedupBase;
  const { left, top, width, height, bottom, gap, font } = BOX;
  const [tMin, tMax] = [threads[0]!, threads[threads.length - 1]!];
  const step = tickStep(Math.max(1, ...data.map((d) => d.speedup)));
  const yMax = step * Math.ceil(Math.max(1, ...data.map((d) => d.speedup)) / step - 1e-9);
  // One thread count only: a single column in the middle.
  const x = (t: number) => left + (tMax === tMin ? width / 2 : ((t - tMin) / (tMax - tMin)) * width);
  const y = (v: number) => top + height - (v / yMax) * height;

  const series = [...new Set(data.map((d) => d.series))];
  const color = (s: string) => (s === IDEAL_LABEL ? IDEAL_COLOR : PALETTE[series.indexOf(s) % PALETTE.length]!);
  const legendX = left + width + gap;
  const subtitle = machineLine(res).split('; ');
  const w = Math.ceil(Math.max(legendX + 30 + Math.max(...series.map((s) => textWidth(s, font))), left + Math.max(...subtitle.map((s) => textWidth(s, 9)))) + 12);
  const h = top + height + bottom;

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="Helvetica, Arial, sans-serif" font-size="${font}">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    text(left, 24, `gradpool: speedup vs threads (${res.config.backend})`, 'font-size="14" font-weight="bold"'),
    ...subtitle.map((s, i) => text(left, 42 + i * 12, s, 'font-size="9" fill="#555555"')),
    `<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#dddddd"/>`,
  ];
  for (let k = 0; k * step <= yMax + step / 2; k++) {
    const v = k * step; // by index, so no rounding error accumulates in the tick values
    out.push(`<line x1="${left}" y1="${px(y(v))}" x2="${left + width}" y2="${px(y(v))}" stroke="#eeeeee"/>`);
    out.push(text(left - 6, y(v) + 4, tickLabel(v, step), 'text-anchor="end"'));
  }
  for (const t of threads) {
    out.push(`<line x1="${px(x(t))}" y1="${top + height}" x2="${px(x(t))}" y2="${top + height + 5}" stroke="#888888"/>`);
    out.push(text(x(t), top + height + 18, String(t), 'text-anchor="middle"'));
  }
  out.push(text(left + width / 2, top + height + 38, 'worker threads', 'text-anchor="middle"'));
  const yTitle = `speedup vs pool at ${base} thread${base === 1 ? '' : 's'}`;
  out.push(text(18, top + height / 2, yTitle, `text-anchor="middle" transform="rotate(-90 18 ${px(top + height / 2)})"`));

  series.forEach((s, i) => {
    const pts = data.filter((d) => d.series === s).sort((a, b) => a.threads - b.threads);
    const ideal = s === IDEAL_LABEL;
    const dash = ideal ? ' stroke-dasharray="5 4"' : '';
    out.push('<g>');
    out.push(`<polyline data-series="${esc(s)}" points="${pts.map((p) => `${px(x(p.threads))},${px(y(p.speedup))}`).join(' ')}" fill="none" stroke="${color(s)}" stroke-width="2"${dash}/>`);
    // Measured points get markers with a tooltip; the data attributes let a test read the plot back.
    if (!ideal)
      for (const p of pts)
        out.push(
          `<circle cx="${px(x(p.threads))}" cy="${px(y(p.speedup))}" r="3.5" fill="${color(s)}" data-series="${esc(s)}" data-threads="${p.threads}" data-speedup="${p.speedup.toFixed(4)}"><title>${esc(`${s}: ${p.threads} threads, ${p.speedup.toFixed(2)}×`)}</title></circle>`,
        );
    out.push('</g>');
    const ly = top + 8 + i * 18;
    out.push(`<line x1="${legendX}" y1="${ly}" x2="${legendX + 22}" y2="${ly}" stroke="${color(s)}" stroke-width="2"${dash}/>`);
    out.push(text(legendX + 30, ly + 4, s));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
