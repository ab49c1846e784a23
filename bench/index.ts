/**
 * gradpool's thread-scaling benchmark suite, as a library: `runBench(options)` measures the pool at
 * each thread count against main-thread baselines, and writes `<date>-<host>.json` and `.svg`.
 * `gradpool bench` (src/cli/bench.ts; `npm run bench` in the repo) is a thin wrapper over it.
 */
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { deriveRows, evaluateTargets } from './analyze.js';
import { runScaling } from './scaling.js';
import { evaluateRunTargets } from './target-checks.js';
import { runTargets } from './targets.js';
import { resolveBenchOptions, type BenchOptions } from './options.js';
import { renderSpeedupSvg } from './plot.js';
import { consoleReport } from './report.js';
import { runSuite } from './suite.js';
import { ensembleReport, runEnsembleBench, type EnsembleBenchResult } from './ensemble.js';
import { clusterReport, runClusterBench } from './cluster.js';
import { dpClippingReport, dpMemoryReport, runDpClippingBench, runDpMemory, type DpClippingCell, type DpMemoryRow } from './dp-clipping.js';
import type { BenchResult, MachineInfo } from './types.js';

export type { BenchOptions, WorkloadName } from './options.js';
export { parseBenchArgs, resolveBenchOptions, WORKLOAD_NAMES } from './options.js';
export type * from './types.js';
export { consoleReport } from './report.js';
export { renderSpeedupSvg } from './plot.js';

/** What {@link runBench} returns: the results, and where they were written (null with `out: null`). */
export interface BenchRun {
  result: BenchResult;
  files: { json: string; svg: string } | null;
}

/** The machine the figures come from; recorded so results from different machines stay comparable. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    platform: os.platform(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryBytes: os.totalmem(),
  };
}

async function gradpoolVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `<YYYY-MM-DD>-<host>`, the base name of a run's files (local date; host made file-name safe). */
export function resultBaseName(date: Date, host: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}-${host.replace(/[^A-Za-z0-9.-]+/g, '_')}`;
}

/** Writes via a temporary file and a rename, so a crash never leaves half a result behind. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/**
 * Runs the benchmark suite: for each workload, batched inference, per-sample gradients and (when
 * `GradPool.step` exists) a training step, by the sequential main-thread loop, natively batched
 * tfjs, `model.fit`, and the pool at each thread count. Reports medians with min/max; the
 * thread-scaling comparison's and the project's targets (bench/targets.ts) are evaluated and reported, never asserted.
 *
 * @example
 * ```ts
 * const { result, files } = await runBench({ threads: [1, 2], quick: true, workloads: ['seed'] });
 * console.log(result.targets, files?.svg);
 * ```
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchRun> {
  const o = resolveBenchOptions(options);
  const started = new Date();
  const t0 = performance.now();
  const machine = machineInfo();
  const loadStart = os.loadavg();
  const suite = await runSuite(o);
  const scaling = o.scaling && o.workloads.includes('seed') ? await runScaling(o, o.scaling.batch, o.scaling.rounds) : null;
  const targetRun = o.targets ? await runTargets(o, o.targets) : null;
  // K=8 MNIST MLP ensembles against 8 separate pools (bench/ensemble.ts), with the targets.
  const ensemble = o.targets && o.workloads.includes('mlp') ? await runEnsembleBench({ members: 8, batch: 128, threads: Math.max(...o.threads), backend: o.backend, rounds: o.quick ? 5 : 15, warmupCalls: o.quick ? 2 : 5, seed: o.seed, log: o.log }) : null;
  const cluster = await runClusterBench({ quick: o.quick }); // multi-node communication on loopback (docs/multi-node.md)
  // DP steps (ghost and per-sample clipping) against non-private steps (bench/dp-clipping.ts), with the targets.
  const dpClipping = o.targets && o.workloads.includes('mlp') && o.workloads.includes('conv') ? await runDpClippingBench({ threads: Math.max(...o.threads), backend: o.backend, rounds: o.quick ? 5 : 15, warmupCalls: o.quick ? 3 : 10, seed: o.seed, log: o.log }) : null;
  const dpMemory = dpClipping ? await runDpMemory({ threads: Math.max(...o.threads), backend: o.backend, seed: o.seed }) : null;
  const speedupBase = o.threads[0]!;
  const rows = deriveRows(suite.rows, speedupBase);
  const notes = [...suite.notes];
  if (o.threads.some((t) => t > machine.availableParallelism))
    notes.push(`threads above the ${machine.availableParallelism} available cores were requested: those figures measure oversubscription`);
  const result: BenchResult & { ensemble: EnsembleBenchResult | null; cluster: typeof cluster; dpClipping: DpClippingCell[] | null; dpMemory: DpMemoryRow[] | null } = {
    schema: 'gradpool-bench/1',
    date: started.toISOString(),
    machine,
    versions: { node: process.versions.node, tfjs: tf.version['tfjs-core'], tfjsBackendWasm: version_wasm, gradpool: await gradpoolVersion() },
    config: {
      backend: o.backend,
      threads: o.threads,
      speedupBase,
      quick: o.quick,
      workloads: o.workloads,
      batches: suite.batches,
      chunkSize: o.chunkSize ?? null,
      executor: o.executor ?? null,
      seed: o.seed,
      minIterations: o.minIterations,
      timeBudgetMs: o.timeBudgetMs,
      warmupIterations: o.warmupIterations,
      warmupMs: o.warmupMs,
      settleMs: o.settleMs,
      targets: o.targets || null,
    },
    rows,
    skipped: suite.skipped,
    scaling,
    targetRun,
    targets: [...evaluateTargets(scaling), ...(o.targets ? evaluateRunTargets(targetRun, o.targets) : [])],
    ensemble,
    notes,
    loadAverage: { start: loadStart, end: os.loadavg() },
    durationMs: performance.now() - t0,
    cluster,
    dpClipping,
    dpMemory,
  };
  let files: BenchRun['files'] = null;
  if (o.out !== null) {
    await mkdir(o.out, { recursive: true });
    const base = join(o.out, resultBaseName(started, machine.host));
    files = { json: `${base}.json`, svg: `${base}.svg` };
    await writeAtomic(files.json, `${JSON.stringify(result, null, 2)}\n`);
    await writeAtomic(files.svg, renderSpeedupSvg(result));
  }
  if (o.log) {
    console.log(consoleReport(result));
    if (ensemble) console.log(`\n${ensembleReport(ensemble)}`);
    console.log(clusterReport(cluster));
    if (dpClipping) console.log(`\n${dpClippingReport(dpClipping)}`);
    if (dpMemory) console.log(dpMemoryReport(dpMemory));
    if (files) console.log(`\nwrote ${files.json}\n      ${files.svg}`);
  }
  return { result, files };
}
