// I/O faults under `gradpool train`, injected into the CLI's own process by a fault-injecting fs
// (test/fixtures/cli/fs-fault.mjs): each prints one line naming the file and the cause, exits 1, and
// loses nothing: the checkpoints already written are byte-for-byte intact and `--resume` ends
// bit-identical to an uninterrupted run. Data-content errors exit 2 and write nothing.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsFault, makeJob, plainLines, runCli, warningsOf } from './helpers.js';

const output = { dir: 'out', checkpointEvery: 10, keepLast: 20 };
const ckptDir = (dir: string) => join(dir, 'out', 'checkpoints');
const ckptBytes = (dir: string, step: number) => readFileSync(join(ckptDir(dir), `ckpt-${String(step).padStart(12, '0')}.gpck`));
const weightsOf = (dir: string) => readFileSync(join(dir, 'out', 'final', 'weights.bin'));
const stepsOf = (dir: string) =>
  readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number }).filter((l) => l.type === 'step').map((l) => l.step);

describe('cli: I/O faults and data-content errors', function () {
  let refDir: string;

  before(async () => {
    const { dir, job } = makeJob({ output });
    refDir = dir;
    const r = await runCli(['train', job]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('a full disk while writing a checkpoint: one line naming the checkpoint and ENOSPC, earlier checkpoints intact, --resume bit-identical', async () => {
    const { dir, job } = makeJob({ output });
    const { env, nodeArgs } = fsFault({ code: 'ENOSPC', op: 'write', path: 'ckpt-000000000040', bytes: 300 });
    const failed = await runCli(['train', job], undefined, env, nodeArgs);
    assert.equal(failed.code, 1, failed.stderr);
    const file = join(ckptDir(dir), 'ckpt-000000000040.gpck');
    assert.deepEqual(plainLines(failed.stderr), [`gradpool: cannot write checkpoint ${file}: no space left on device (ENOSPC)`]);
    // The cut-short temporary file is gone; the three checkpoints before it are the uninterrupted run's, byte for byte.
    assert.deepEqual(readdirSync(ckptDir(dir)), ['ckpt-000000000010.gpck', 'ckpt-000000000020.gpck', 'ckpt-000000000030.gpck']);
    for (const step of [10, 20, 30]) assert.ok(ckptBytes(dir, step).equals(ckptBytes(refDir, step)), `checkpoint ${step} changed`);
    const resumed = await runCli(['train', job, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.events.find((e) => e.type === 'resume')!.step, 30);
    assert.ok(weightsOf(dir).equals(weightsOf(refDir)), 'resumed weights differ from the uninterrupted run');
  });

  it('a read-only file system under a metrics append: one line naming metrics.jsonl and EROFS; --resume drops the torn line with a warning', async () => {
    const { dir, job } = makeJob({ output });
    // The 25th step line fails after 17 of its bytes reached the disk: a torn last line.
    const { env, nodeArgs } = fsFault({ code: 'EROFS', op: 'append', path: 'metrics\\.jsonl$', skip: 24, bytes: 17 });
    const failed = await runCli(['train', job], undefined, env, nodeArgs);
    assert.equal(failed.code, 1, failed.stderr);
    const metrics = join(dir, 'out', 'metrics.jsonl');
    assert.deepEqual(plainLines(failed.stderr), [`gradpool: cannot write metrics ${metrics}: read-only file system (EROFS)`]);
    assert.match(readFileSync(metrics, 'utf8'), /"step":24,[^\n]*\n\{"type":"step","s$/);
    for (const step of [10, 20]) assert.ok(ckptBytes(dir, step).equals(ckptBytes(refDir, step)), `checkpoint ${step} changed`);
    const resumed = await runCli(['train', job, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(warningsOf(resumed), [`--resume: ${metrics}: dropped a torn last line (17 bytes, an append cut short) and 4 lines past the checkpoint's step 20`]);
    assert.deepEqual(stepsOf(dir), Array.from({ length: 90 }, (_, i) => i + 1));
    assert.ok(weightsOf(dir).equals(weightsOf(refDir)));
  });

  it('a data file that cannot be read: one line naming it and EACCES, nothing written', async () => {
    const { dir, job } = makeJob({ output });
    const { env, nodeArgs } = fsFault({ code: 'EACCES', op: 'read', path: 'train\\.csv$' });
    const failed = await runCli(['train', job], undefined, env, nodeArgs);
    assert.equal(failed.code, 1, failed.stderr);
    assert.deepEqual(plainLines(failed.stderr), [`gradpool: cannot read data file ${join(dir, 'train.csv')}: permission denied (EACCES)`]);
    assert.equal(existsSync(join(dir, 'out')), false);
  });

  it('a lock that cannot be created on a read-only output directory: one line naming the lock and EROFS', async () => {
    const { dir, job } = makeJob({ output });
    const { env, nodeArgs } = fsFault({ code: 'EROFS', op: 'open', path: 'gradpool\\.lock$' });
    const failed = await runCli(['train', job], undefined, env, nodeArgs);
    assert.equal(failed.code, 1, failed.stderr);
    assert.deepEqual(plainLines(failed.stderr), [`gradpool: cannot create lock ${join(dir, 'out', 'gradpool.lock')}: read-only file system (EROFS)`]);
  });

  it('predict on a full disk: one line naming predictions.jsonl and ENOSPC, no half-written file left', async () => {
    const { env, nodeArgs } = fsFault({ code: 'ENOSPC', op: 'write', path: 'predictions\\.jsonl', bytes: 1000 });
    const r = await runCli(['predict', join(refDir, 'job.json')], undefined, env, nodeArgs);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(plainLines(r.stderr), [`gradpool: cannot write predictions ${join(refDir, 'out', 'predictions.jsonl')}: no space left on device (ENOSPC)`]);
    assert.deepEqual(readdirSync(join(refDir, 'out')).sort(), ['checkpoints', 'final', 'metrics.jsonl']);
  });

  const dataErrors: [string, (csv: string) => string, (file: string) => string][] = [
    ['an unknown CSV column', (csv) => csv.replace('a,b,c,d,e,label', 'a,b,c,d,f,label'), () => 'data.x: column "e" not in header (a, b, c, d, f, label)'],
    ['a non-numeric cell', (csv) => csv.replace(/\n[^\n]*/, '\n0.5,oops,0.1,0.2,0.3,1'), () => 'data.path: row 2 column "b": not a number: "oops"'],
    ['a ragged row', (csv) => csv.replace(/\n[^\n]*/, '\n0.5,0.1,0.2,1'), (file) => `data.path: cannot parse CSV ${file}: Invalid Record Length: expect 6, got 4 on line 2`],
  ];
  for (const [what, edit, message] of dataErrors) {
    it(`exits 2 on ${what} in the data, naming the field, and writes nothing`, async () => {
      const { dir, job } = makeJob({ output });
      const file = join(dir, 'train.csv');
      writeFileSync(file, edit(readFileSync(file, 'utf8')));
      const r = await runCli(['train', job]);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(plainLines(r.stderr), [`gradpool: ${message(file)}`]);
      assert.equal(existsSync(join(dir, 'out')), false);
    });
  }
});
