/**
 * What `train` finds in `output.dir` before it starts: an earlier run's outputs (refused without
 * `--resume`, moved aside with `--fresh`) and, on `--resume`, a metrics file to cut back to the
 * checkpoint (a torn last line from a full disk is dropped, with a warning).
 */
import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GradPoolError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { listCheckpoints, listCorrupt } from '../io/checkpoint.js';
import { UsageError } from './exit.js';
import { displayPath, withIo } from './io-errors.js';
import { LOCK_FILE } from './lock.js';

/** Where `--fresh` moves an earlier run: `<output.dir>/previous-runs/<UTC time>/`. */
export const PREVIOUS_RUNS = 'previous-runs';
export const METRICS_FILE = 'metrics.jsonl';
export const CHECKPOINTS = 'checkpoints';
export const FINAL = 'final';

/** What an earlier run left: the steps of its checkpoints (valid or moved to corrupt/) and which outputs exist. */
export interface EarlierRun {
  readonly newestStep: number | undefined;
  readonly outputs: string[];
}

const nonEmpty = async (p: string, dir: boolean): Promise<boolean> =>
  dir ? (await readdir(p).catch(() => [])).length > 0 : await stat(p).then((s) => s.size > 0, () => false);

/** The earlier run in `outDir`, or `undefined` if it holds none (a new or emptied directory). */
export async function findEarlierRun(outDir: string): Promise<EarlierRun | undefined> {
  const ckptDir = join(outDir, CHECKPOINTS);
  const steps = (await withIo('list checkpoints in', ckptDir, () => listCheckpoints(ckptDir))).map((c) => c.step);
  for (const f of await withIo('list', join(ckptDir, 'corrupt'), () => listCorrupt(ckptDir))) {
    const m = /ckpt-(\d+)\.gpck/.exec(f);
    if (m) steps.push(Number(m[1]));
  }
  const outputs: string[] = [];
  if (steps.length > 0) outputs.push(`${CHECKPOINTS}/`);
  if (await nonEmpty(join(outDir, METRICS_FILE), false)) outputs.push(METRICS_FILE);
  if (await nonEmpty(join(outDir, FINAL), true)) outputs.push(`${FINAL}/`);
  if (outputs.length === 0) return undefined;
  return { newestStep: steps.length > 0 ? Math.max(...steps) : undefined, outputs };
}

/** The refusal of a plain `train` into a directory that holds an earlier run (exit code 2). */
export function earlierRunError(run: EarlierRun): UsageError {
  const what = run.newestStep !== undefined ? `checkpoints of an earlier run (newest step ${run.newestStep})` : `outputs of an earlier run (${run.outputs.join(', ')})`;
  return new UsageError(`output.dir: holds ${what}; pass --resume to continue it or --fresh to start over`);
}

/**
 * `--fresh`: moves everything an earlier run left in `outDir` (all but the lock and earlier moved
 * runs) into `previous-runs/<UTC time>/`, never deleting it. Returns where it went, or `undefined`
 * when there was nothing to move.
 */
export async function moveEarlierRunAside(outDir: string, run: EarlierRun | undefined): Promise<string | undefined> {
  if (!run) return undefined;
  const names = (await readdir(outDir)).filter((n) => n !== PREVIOUS_RUNS && !n.startsWith(LOCK_FILE));
  const parent = join(outDir, PREVIOUS_RUNS);
  await withIo('create directory', parent, () => mkdir(parent, { recursive: true }));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // mkdir without `recursive` fails on an existing name, so two --fresh runs in one millisecond never merge.
  let target = '';
  for (let i = 0; !target; i++) {
    const candidate = join(parent, i === 0 ? stamp : `${stamp}-${i}`);
    try {
      await mkdir(candidate);
      target = candidate;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  for (const n of names) await withIo('move aside', join(outDir, n), () => rename(join(outDir, n), join(target, n)));
  return target;
}

/**
 * On `--resume` from `step`: keeps the metrics lines the resumed run will not write again (step lines
 * up to `step`, epoch lines before it: an epoch that ended exactly at the checkpoint gets its summary
 * from the resumed run) and rewrites the file atomically, so a failure here loses nothing. A torn last
 * line (an append cut short by a full disk or a kill) is dropped; a damaged line before the last one
 * is not a torn append, so it is refused, naming the line. What is dropped is said in one warning.
 */
export async function keepMetricsThrough(file: string, step: number, warn: (message: string) => void): Promise<void> {
  const text = await withIo('read metrics', file, () => readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e))));
  const lines = text.split('\n');
  const last = lines.map((l) => l.trim() !== '').lastIndexOf(true);
  const keep: string[] = [];
  let torn: number | undefined;
  let past = 0;
  for (let i = 0; i <= last; i++) {
    if (lines[i]!.trim() === '') continue;
    let m: { type?: unknown; step?: unknown } | undefined;
    try {
      m = JSON.parse(lines[i]!) as typeof m;
    } catch {
      m = undefined;
    }
    if (typeof m?.type !== 'string' || typeof m.step !== 'number') {
      if (i === last) {
        torn = Buffer.byteLength(lines[i]!);
        continue;
      }
      throw new GradPoolError('ERR_METRICS_CORRUPT', `metrics ${displayPath(file)}: line ${i + 1}: expected a metrics line {"type", "step", …}, got ${JSON.stringify(lines[i]!.slice(0, 40))}; only a torn last line is dropped on --resume: fix or remove this one`);
    }
    if (m.type === 'epoch' ? m.step < step : m.step <= step) keep.push(lines[i]!);
    else if (m.step > step) past++; // an epoch line at `step` itself is not lost: the resumed run writes it again
  }
  const dropped = [torn !== undefined ? `a torn last line (${torn} bytes, an append cut short)` : '', past > 0 ? `${past} line${past === 1 ? '' : 's'} past the checkpoint's step ${step}` : ''].filter(Boolean);
  if (dropped.length > 0) warn(`--resume: ${displayPath(file)}: dropped ${dropped.join(' and ')}`);
  await withIo('write metrics', file, () => writeFileAtomic(file, [Buffer.from(keep.map((l) => l + '\n').join(''))]));
}
