import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/rng.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * A small job in a fresh temp directory: a 5-feature, 3-class CSV, the test MLP copied in as the
 * job's own model (it imports gradpool and tfjs from outside any node_modules), and job.json.
 */
export function makeJob(overrides: Record<string, unknown> = {}, rows = 240): { dir: string; job: string; config: Record<string, unknown> } {
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-job-'));
  const r = new Rng(99);
  const lines = ['a,b,c,d,e,label'];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: 5 }, () => r.uniform());
    lines.push([...x.map((v) => v.toFixed(4)), (x[0]! + x[1]! > 1 ? 1 : 0) + (x[2]! > 0.5 ? 1 : 0)].join(','));
  }
  writeFileSync(join(dir, 'train.csv'), lines.join('\n') + '\n');
  copyFileSync(fileURLToPath(new URL('../fixtures/models/mlp.js', import.meta.url)), join(dir, 'model.js'));
  const config = {
    model: 'model.js',
    data: { format: 'csv', path: 'train.csv', x: ['a', 'b', 'c', 'd', 'e'], y: ['label'], oneHot: 3 },
    batchSize: 8,
    epochs: 3,
    optimizer: { name: 'adam', learningRate: 0.01 },
    threads: 2,
    seed: 5,
    output: { dir: 'out', checkpointEvery: 10, keepLast: 3 },
    ...overrides,
  };
  const job = join(dir, 'job.json');
  writeFileSync(job, JSON.stringify(config, null, 2));
  return { dir, job, config };
}

export interface CliRun {
  /** The child's pid (what a lock it took holds). */
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

/**
 * Runs the built CLI. `onEvent` sees each JSONL event line from stderr as it arrives and may kill the
 * child — the tests synchronise on the child's own progress lines, never on sleeps. `nodeArgs` go to
 * node before the CLI (e.g. `--import` of the fault-injecting fs in test/fixtures/cli/fs-fault.mjs).
 */
export function runCli(
  args: string[],
  onEvent?: (e: Record<string, unknown>, kill: (s: NodeJS.Signals) => void, pid: number) => unknown,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  /** A command the CLI runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` (a node in another network namespace). */
  prefix: string[] = [],
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, process.execPath, ...nodeArgs, CLI, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const events: Record<string, unknown>[] = [];
    const kill = (s: NodeJS.Signals) => child.kill(s);
    // A child that a failed test never kills (e.g. one frozen by GRADPOOL_TEST_HOLD_AT_STEP) must not
    // keep the test run alive: end it after a generous bound.
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 150_000).unref();
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      pending += d;
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as Record<string, unknown>;
        events.push(e);
        void Promise.resolve(onEvent?.(e, kill, child.pid!)).catch(reject);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ pid: child.pid!, code, signal, stdout, stderr, events }));
  });
}

/** Node arguments and environment that make the CLI's file system fail as `fault` says (see test/fixtures/cli/fs-fault.mjs). */
export function fsFault(fault: { code: 'ENOSPC' | 'EROFS' | 'EACCES' | 'EIO'; op: 'write' | 'append' | 'read' | 'open'; path: string; skip?: number; bytes?: number }): {
  env: Record<string, string>;
  nodeArgs: string[];
} {
  const hook = fileURLToPath(new URL('../../../test/fixtures/cli/fs-fault.mjs', import.meta.url));
  return { env: { GRADPOOL_TEST_FS_FAULT: JSON.stringify(fault) }, nodeArgs: ['--import', hook] };
}

/** The stderr lines that are not JSONL events: what a person reads (an error is exactly one such line). */
export const plainLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));

/** Every file under `dir` by relative path, with its bytes: to show that a failed command changed nothing. */
export function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The messages of a run's `warning` events. */
export const warningsOf = (r: CliRun): string[] => r.events.filter((e) => e.type === 'warning').map((e) => String(e.message));
