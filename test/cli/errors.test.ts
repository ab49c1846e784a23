// Usage and job-file errors: one line naming the field on stderr, exit code 2, nothing started.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeJob, runCli } from './helpers.js';

describe('cli: usage and job-file errors', function () {
  it('prints help (exit 0) and the version', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage:\n {2}gradpool train <job\.json>/m);
    assert.match(help.stdout, /Exit codes: 0 success · 1 runtime failure \(I\/O errors, corrupt checkpoints\) ·\n +2 usage, job-file or data-file error, or output\.dir locked by another trainer/);
    const v = await runCli(['--version']);
    assert.match(v.stdout, /^gradpool \d+\.\d+\.\d+\n$/);
    assert.equal((await runCli([])).code, 2);
  });

  it('every subcommand has --help (and -h), printed on stdout with exit 0, whatever else is on the line', async () => {
    const cases: [string[], RegExp][] = [
      [['train', '--help'], /^Usage: gradpool train <job\.json> \[--resume \| --fresh\] \[--force\] \[--progress-every <ms>\]\n[\s\S]*--fresh /],
      [['train', 'job.json', '--bogus', '-h'], /^Usage: gradpool train /],
      [['predict', '--help'], /^Usage: gradpool predict <job\.json> \[--out <file>\]\n/],
      [['predict', '-h'], /^Usage: gradpool predict /],
      [['bench', '--help'], /^Usage: gradpool bench /],
    ];
    for (const [args, usage] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, usage);
      assert.equal(r.stderr, '');
    }
  });

  const cases: [string, (dir: string, job: string, config: Record<string, unknown>) => string[], RegExp][] = [
    ['an unknown command', () => ['frobnicate'], /^gradpool: unknown command "frobnicate"; expected train, predict, bench, --help or --version$/m],
    ['an unknown flag', (_d, job) => ['train', job, '--resum'], /^gradpool: train: unknown option --resum; see gradpool train --help$/m],
    ['a missing job file', (dir) => ['train', join(dir, 'nope.json')], /^gradpool: job: cannot read .*nope\.json: file not found$/m],
    ['invalid JSON', (_d, job) => (writeFileSync(job, '{ "model": '), ['train', job]), /^gradpool: .*JSON/m],
    ['a bad batch size', (_d, job, c) => (writeFileSync(job, JSON.stringify({ ...c, batchSize: 0 })), ['train', job]), /^gradpool: batchSize: expected a positive integer, got 0$/m],
    ['a missing data file', (_d, job, c) => (writeFileSync(job, JSON.stringify({ ...c, data: { ...(c.data as object), path: 'gone.csv' } })), ['train', job]), /^gradpool: data\.path: file not found: .*gone\.csv$/m],
    ['an unknown field', (_d, job, c) => (writeFileSync(job, JSON.stringify({ ...c, epoch: 3 })), ['train', job]), /^gradpool: epoch: /m],
    ['a bad optimizer field', (_d, job, c) => (writeFileSync(job, JSON.stringify({ ...c, optimizer: { name: 'adam', beta1: 1.5 } })), ['train', job]), /^gradpool: optimizer\.beta1: /m],
    ['a bad --progress-every', (_d, job) => ['train', job, '--progress-every', 'x'], /^gradpool: --progress-every: expected a number of milliseconds >= 0, got "x"$/m],
    ['predict before training', (_d, job) => ['predict', job], /^gradpool: predict: no trained weights in .*out \(expected final\/ or checkpoints\/; run gradpool train first\)$/m],
  ];
  for (const [what, setup, message] of cases) {
    it(`exits 2 on ${what}`, async () => {
      const { dir, job, config } = makeJob();
      const r = await runCli(setup(dir, job, config));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }
});
