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
import { ISSUE2 } from './issue2.js';
import { DEFAULT_OUT } from './options.js';
import { machineLine, pivotTable, renderMarkdown } from './report.js';
import type { BenchResult } from './types.js';

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
  const iters = `${res.config.minIterations}+ timed calls after warm-up`;
  const cmd = res.config.quick ? 'npm run bench -- --quick' : 'npm run bench';
  const pools = res.rows.filter((r) => r.method === 'pool' && r.workload === ISSUE2.workload && r.op === ISSUE2.op && r.batch === ISSUE2.batch && r.breakdown);
  const lines = [
    '',
    `Thread scaling, measured by \`${cmd}\` on ${res.date.slice(0, 10)}: ${machineLine(res)}.`,
    `The machine was shared with other work while measuring, so treat single figures as noisy; every cell is a median of ${iters}, and`,
    `[the results file](${jsonRel}) has each cell's min/max, throughput and the pool's time breakdown.`,
    '',
    'Microseconds per sample (lower is better). `loop`: a sequential per-sample loop on the main thread (forward, or',
    '`tf.valueAndGrads`); `batched`: the model written for a whole batch in tfjs (no per-sample gradients: tfjs has no vmap);',
    '`fit`: `tf.sequential` + `model.fit` with the same architecture, SGD(0.1) and batch size; `pool NT`: gradpool at N',
    'worker threads. The last two columns compare the pool with itself at more threads, and with the loop (time ratio).',
    '',
    renderMarkdown(p.header, p.body),
    '',
    `![Speedup of the pool vs worker threads, with the ideal line](${svgRel})`,
    '',
    `Issue 2 targets (seed model, per-sample gradients, B=${ISSUE2.batch}; reported, not asserted):`,
    '',
    ...res.targets.map((t) => `- ${t.description}: ${t.measured === null ? 'not measured' : `**${t.measured.toFixed(2)}** → ${t.met ? 'met' : 'not met'}`}`),
  ];
  if (pools.length) {
    lines.push('', `Where the pool's time goes in that benchmark (medians, ms):`, '');
    const head = ['threads', 'total', 'dispatch', 'worker compute', 'reduce', 'optimizer'];
    const body = pools.map((r) => [String(r.threads), ...(['totalMs', 'dispatchMs', 'computeMs', 'reduceMs', 'optimizerMs'] as const).map((f) => r.breakdown![f].toFixed(1))]);
    lines.push(renderMarkdown(head, body));
  }
  lines.push('', 'Regenerate: `npm run bench` (or `npm run bench -- --quick`), then `npm run bench:readme`.', '');
  return lines.join('\n');
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
