#!/usr/bin/env node
/**
 * `npm run bench:readme [-- --from <result.json>]`: rewrites the README's benchmark section (between
 * `<!-- bench:start -->` and `<!-- bench:end -->`, nothing else) from a results file — by default the
 * newest one in bench/results from this machine — with its table, targets and speedup plot.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contenderLabel, isScalingTarget } from './analyze.js';
import { DEFAULT_OUT } from './options.js';
import { executorLine, loadLine, machineLine, pivotTable, renderMarkdown, targetsReport } from './report.js';
import type { BenchResult, TargetResult } from './types.js';
import { clusterReport } from './cluster.js';
import { dpClippingReport, dpMemoryReport, type DpClippingCell, type DpMemoryRow } from './dp-clipping.js';
import { ensembleReport, type EnsembleBenchResult } from './ensemble.js';

export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The newest results file in `dir`, preferring this machine's (by the date recorded inside). */
export async function latestResult(dir = DEFAULT_OUT, host = os.hostname()): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  const runs = await Promise.all(files.map(async (f) => ({ path: join(dir, f), r: JSON.parse(await readFile(join(dir, f), 'utf8')) as BenchResult })));
  const valid = runs.filter((x) => x.r.schema === 'gradpool-bench/1').sort((a, b) => b.r.date.localeCompare(a.r.date));
  const pick = valid.find((x) => x.r.machine.host === host) ?? valid[0];
  if (!pick) throw new Error(`bench:readme: no results in ${dir}; run \`npm run bench\` first`);
  return pick.path;
}

const posix = (p: string) => p.split(sep).join('/');

/** The markdown between the markers (without them). Paths are relative to the README's folder. */
export function readmeSection(res: BenchResult, jsonRel: string, svgRel: string): string {
  const p = pivotTable(res);
  const base = res.config.speedupBase;
  const top = res.config.threads[res.config.threads.length - 1]!;
  const iters = `${res.config.minIterations}+ timed calls after warm-up`;
  const cmd = res.config.quick ? 'npm run bench -- --quick' : 'npm run bench';
  const lines = [
    '',
    `Thread scaling, measured by \`${cmd}\` on ${res.date.slice(0, 10)}: ${machineLine(res)}.`,
    `The load while measuring: ${loadLine(res)} (the benchmark's own threads count too). Our machines are noisy, so`,
    `each cell is the median of ${iters}, and`,
    `[the results file](${jsonRel}) has every cell's min/max, throughput and the pool's time breakdown.`,
    '',
    'Microseconds per sample, median (lower is better). `loop`: a sequential per-sample loop on the main thread (forward,',
    'or `tf.valueAndGrads`); `batched`: the model written for a whole batch in tfjs (there is no batched form of per-sample',
    'gradients: tfjs has no vmap); `fit`: `tf.sequential` + `model.fit` with the same architecture, SGD(0.1) and batch size;',
    `\`pool NT\`: gradpool at N worker threads (executor and chunk size per workload: ${executorLine(res)}). \`step\` is one training step, \`pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }) })\`.`,
    `The last two columns: the pool's speedup from ${base} to ${top} threads, and its time at ${base} thread${base === 1 ? '' : 's'} over the loop's.`,
    ...oversubscribed(res),
    '',
    renderMarkdown(p.header, p.body),
    '',
    `![Speedup of the pool vs worker threads, with the ideal line](${svgRel})`,
    '',
    ...scalingSection(res),
    '',
    ...targetsSection(res),
    '',
    ...extrasSection(res),
    '',
    'Regenerate: `npm run bench` (or `npm run bench:quick`), then `npm run bench:readme`.',
    '',
  ];
  return lines.join('\n');
}

/** A caveat when other work kept more threads runnable than there are cores: scaling cannot show then. */
function oversubscribed(res: BenchResult): string[] {
  const load = Math.max(res.loadAverage.start[0]!, res.loadAverage.end[0]!);
  // The benchmark itself keeps up to `threads` workers and its main thread busy: only more than that is other work.
  if (load <= res.machine.availableParallelism + 1) return [];
  return [
    `**Caveat:** the load average (${load.toFixed(1)}) exceeded the ${res.machine.availableParallelism} cores, so extra worker threads mostly`,
    'competed with other processes for the same cores: the speedups of this run understate what an idle machine gives.',
  ];
}

/** The interleaved thread-scaling comparison: a table with the pool's time breakdown, then the targets. */
function scalingSection(res: BenchResult): string[] {
  const r = res.scaling;
  const heading = '### Thread scaling: the loop against the pool, interleaved';
  if (!r) return [heading, '', 'Not in this run (it needs the seed workload).'];
  const loop = r.contenders.find((c) => c.method === 'loop');
  const head = ['', 'median ms', 'min–max ms', 'n', 'time / loop', 'dispatch', 'worker compute', 'reduce'];
  const ms = (v: number) => v.toFixed(1);
  const body = r.contenders.map((c) => [
    contenderLabel(c),
    ms(c.latency.medianMs),
    `${ms(c.latency.minMs)}–${ms(c.latency.maxMs)}`,
    String(c.latency.samples),
    loop ? (c.latency.medianMs / loop.latency.medianMs).toFixed(2) : '–',
    c.breakdown ? ms(c.breakdown.dispatchMs) : '–',
    c.breakdown ? ms(c.breakdown.computeMs) : '–',
    c.breakdown ? ms(c.breakdown.reduceMs) : '–',
  ]);
  return [
    heading,
    '',
    `Per-sample gradients of the seed model at B=${r.batch}, measured interleaved (${r.rounds} rounds, each`,
    'timing every contender once, so background load hits them alike); breakdown columns are medians of `pool.stats().lastCall`:',
    '',
    renderMarkdown(head, body),
    '',
    'Targets (reported, not asserted; judged on the loop executor: the same per-sample algorithm as the bare loop):',
    '',
    ...res.targets.filter(isScalingTarget).map(targetLine),
  ];
}

const targetLine = (t: TargetResult) => `- ${t.description}: ${t.measured === null ? 'not measured' : `**${t.measured.toPrecision(3)}** → ${t.met ? 'met' : 'not met'}`}`;

/** The project's targets (bench/targets.ts): the verdicts with their figures, first calls, and every contender. */
function targetsSection(res: BenchResult): string[] {
  const heading = '### Targets';
  if (!res.targetRun) return [heading, '', 'Not in this run.'];
  return [
    heading,
    '',
    `Measured in the same run, on the same machine: ${machineLine(res)}; ${loadLine(res)}.`,
    'Default pool options, per-sample results as views of the pool\'s buffers (`{ copy: false }`, as the issue measures), 1 and 2 worker threads, steady state; µs/sample medians.',
    ...targetsReport(res, renderMarkdown, (t) => `- \`${t.id}\`: ${t.detail}`).map((l) => (l.startsWith('* ') ? `\\${l}` : l)),
  ];
}

/** The run's other comparisons, as the bench printed them: ensembles, DP clipping and its memory, multi-node communication. */
function extrasSection(res: BenchResult & Extras): string[] {
  const parts = [res.ensemble && ensembleReport(res.ensemble), res.dpClipping && dpClippingReport(res.dpClipping), res.dpMemory && dpMemoryReport(res.dpMemory), res.cluster && clusterReport(res.cluster)].filter((p): p is string => Boolean(p));
  if (parts.length === 0) return [];
  return ['### Ensembles, DP-SGD clipping, multi-node communication', '', `Measured in the same run (${machineLine(res)}; ${loadLine(res)}), as \`npm run bench\` printed them:`, '', '```text', ...parts.flatMap((p) => [...p.split('\n'), '']), '```'];
}

/** The optional parts of a results file (bench/index.ts). */
interface Extras {
  ensemble?: EnsembleBenchResult | null;
  dpClipping?: DpClippingCell[] | null;
  dpMemory?: DpMemoryRow[] | null;
  cluster?: Parameters<typeof clusterReport>[0] | null;
}

/** Replaces the text between the markers in `text`; throws if they are missing or out of order. */
export function replaceSection(text: string, section: string): string {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`bench:readme: README has no ${START} … ${END} section`);
  return text.slice(0, a + START.length) + section + text.slice(b);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { from: { type: 'string' }, readme: { type: 'string' } } });
  const readme = values.readme ?? README;
  const json = values.from ?? (await latestResult());
  const res = JSON.parse(await readFile(json, 'utf8')) as BenchResult;
  const svg = json.replace(/\.json$/, '.svg');
  const rel = (p: string) => posix(relative(dirname(readme), p));
  // Read and write back to back: other sections of the README may be edited by others meanwhile.
  const text = await readFile(readme, 'utf8');
  await writeFile(readme, replaceSection(text, readmeSection(res, rel(json), rel(svg))));
  console.log(`bench:readme: ${readme} updated from ${json}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
