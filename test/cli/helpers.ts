import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

/**
 * Runs the built CLI. `onEvent` sees each JSONL event line from stderr as it arrives and may kill the
 * child — the tests synchronise on the child's own progress lines, never on sleeps.
 */
export function runCli(args: string[], onEvent?: (e: Record<string, unknown>, kill: (s: NodeJS.Signals) => void) => void, env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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
        onEvent?.(e, kill);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, events }));
  });
}
