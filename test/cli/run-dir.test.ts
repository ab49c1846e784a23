// What `train` does with an output directory that already holds something: a torn metrics line on
// --resume, an earlier run's checkpoints without --resume (refused; --fresh moves them aside), and
// checkpoints that are all corrupt (the run fails naming them; they are kept in checkpoints/corrupt/).
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeJob, plainLines, runCli, snapshot, warningsOf } from './helpers.js';

const weightsOf = (dir: string) => readFileSync(join(dir, 'out', 'final', 'weights.bin'));
/** metrics.jsonl as [type, step, loss] (samplesPerSec differs from run to run). */
const metricsOf = (dir: string) =>
  readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; loss: number }).map((m) => [m.type, m.step, m.loss]);
const ckpt = (step: number) => `ckpt-${String(step).padStart(12, '0')}.gpck`;

describe('cli: the output directory of an earlier run', function () {
  let reference: { dir: string; job: string };

  before(async () => {
    reference = makeJob();
    const r = await runCli(['train', reference.job]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('--resume drops a torn last metrics line and the lines past the checkpoint, with one warning', async () => {
    const { dir, job } = makeJob();
    const killed = await runCli(['train', job], (e, kill) => e.type === 'hold' && kill('SIGKILL'), { GRADPOOL_TEST_HOLD_AT_STEP: '35' });
    assert.equal(killed.signal, 'SIGKILL');
    const metrics = join(dir, 'out', 'metrics.jsonl');
    appendFileSync(metrics, '{"type":"step","st'); // what a full disk leaves of an append
    const resumed = await runCli(['train', job, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(warningsOf(resumed).filter((w) => w.includes('metrics')), [`--resume: ${metrics}: dropped a torn last line (18 bytes, an append cut short) and 5 lines past the checkpoint's step 30`]);
    assert.deepEqual(metricsOf(dir), metricsOf(reference.dir));
    assert.ok(weightsOf(dir).equals(weightsOf(reference.dir)));
  });

  it('--resume refuses a damaged metrics line before the last one, naming the line, and changes nothing', async () => {
    const { dir, job } = makeJob({ epochs: 1 });
    assert.equal((await runCli(['train', job])).code, 0);
    const metrics = join(dir, 'out', 'metrics.jsonl');
    const lines = readFileSync(metrics, 'utf8').split('\n');
    lines[4] = 'garbage';
    writeFileSync(metrics, lines.join('\n'));
    const before = snapshot(join(dir, 'out'));
    const r = await runCli(['train', job, '--resume']);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(plainLines(r.stderr), [`gradpool: metrics ${metrics}: line 5: expected a metrics line {"type", "step", …}, got "garbage"; only a torn last line is dropped on --resume: fix or remove this one`]);
    assert.deepEqual(snapshot(join(dir, 'out')), before);
  });

  it('train without --resume into a directory with checkpoints exits 2 and changes nothing; --fresh moves the earlier run aside', async () => {
    const { dir, job } = makeJob();
    assert.equal((await runCli(['train', job, '--progress-every', '0'], (e, kill) => e.type === 'hold' && kill('SIGKILL'), { GRADPOOL_TEST_HOLD_AT_STEP: '55' })).signal, 'SIGKILL');
    const out = join(dir, 'out');
    // The killed run's lock is stale: the refused run takes it over (a warning) and releases it; all else stays.
    const withoutLock = (m: Map<string, Buffer>) => new Map([...m].filter(([name]) => name !== 'gradpool.lock'));
    const earlier = withoutLock(snapshot(out));
    const refused = await runCli(['train', job]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.deepEqual(plainLines(refused.stderr), ['gradpool: output.dir: holds checkpoints of an earlier run (newest step 50); pass --resume to continue it or --fresh to start over']);
    assert.deepEqual(snapshot(out), earlier);

    const fresh = await runCli(['train', job, '--fresh']);
    assert.equal(fresh.code, 0, fresh.stderr);
    const [moved, ...more] = readdirSync(join(out, 'previous-runs'));
    assert.deepEqual(more, []);
    assert.deepEqual(warningsOf(fresh), [`--fresh: moved the earlier run (checkpoints/, metrics.jsonl) to ${join(out, 'previous-runs', moved!)}`]);
    // Every file of the earlier run, byte for byte, under previous-runs/<time>/.
    assert.deepEqual(snapshot(join(out, 'previous-runs', moved!)), earlier);
    // The new run is a whole run of its own: its own checkpoints (not pruned by the earlier run's), its own metrics.
    assert.deepEqual(readdirSync(join(out, 'checkpoints')), [ckpt(70), ckpt(80), ckpt(90)]);
    assert.deepEqual(metricsOf(dir), metricsOf(reference.dir));
    assert.ok(weightsOf(dir).equals(weightsOf(reference.dir)));
    assert.equal((await runCli(['train', job, '--fresh', '--resume'])).code, 2);
  });

  it('--resume with every checkpoint corrupt fails (exit 1) naming them, keeps them in checkpoints/corrupt/, and --fresh starts over', async () => {
    const { dir, job } = makeJob({ epochs: 1 });
    assert.equal((await runCli(['train', job])).code, 0);
    const ckptDir = join(dir, 'out', 'checkpoints');
    truncateSync(join(ckptDir, ckpt(30)), 100);
    const bytes = readFileSync(join(ckptDir, ckpt(20)));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(join(ckptDir, ckpt(20)), bytes);
    truncateSync(join(ckptDir, ckpt(10)), 0);
    const damaged = new Map([10, 20, 30].map((s) => [s, readFileSync(join(ckptDir, ckpt(s)))]));

    const corruptDir = join(ckptDir, 'corrupt');
    const message = `gradpool: --resume: every checkpoint in ${ckptDir} is corrupt, so there is nothing to resume from: ${ckpt(10)} (truncated: expected at least 48 bytes, got 0), ${ckpt(20)} (body checksum mismatch), ${ckpt(30)} (truncated: expected at least`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await runCli(['train', job, '--resume']);
      assert.equal(r.code, 1, r.stderr);
      const [line, ...rest] = plainLines(r.stderr);
      assert.deepEqual(rest, []);
      assert.ok(line!.startsWith(message), line);
      assert.ok(line!.endsWith(`; they are kept in ${corruptDir}; pass --fresh to start over (it moves the earlier run aside)`), line);
      // Moved, never deleted or pruned: the damaged bytes are all still there, and no new checkpoint was written.
      assert.deepEqual(readdirSync(ckptDir), ['corrupt']);
      for (const [s, b] of damaged) assert.ok(readFileSync(join(corruptDir, ckpt(s))).equals(b), `corrupt ${ckpt(s)}`);
    }
    const fresh = await runCli(['train', job, '--fresh']);
    assert.equal(fresh.code, 0, fresh.stderr);
    const [moved] = readdirSync(join(dir, 'out', 'previous-runs'));
    for (const [s, b] of damaged) assert.ok(readFileSync(join(dir, 'out', 'previous-runs', moved!, 'checkpoints', 'corrupt', ckpt(s))).equals(b));
    assert.deepEqual(readdirSync(ckptDir), [ckpt(10), ckpt(20), ckpt(30)]);
  });

  it('a corrupt newest checkpoint is moved to checkpoints/corrupt/ on --resume, and the resumed run neither overwrites nor prunes it', async () => {
    const { dir, job } = makeJob();
    assert.equal((await runCli(['train', job], (e, kill) => e.type === 'hold' && kill('SIGKILL'), { GRADPOOL_TEST_HOLD_AT_STEP: '55' })).signal, 'SIGKILL');
    const newest = join(dir, 'out', 'checkpoints', ckpt(50));
    truncateSync(newest, 500);
    const damaged = readFileSync(newest);
    const resumed = await runCli(['train', job, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.events.find((e) => e.type === 'resume')!.step, 40);
    assert.ok(weightsOf(dir).equals(weightsOf(reference.dir)));
    assert.deepEqual(readdirSync(join(dir, 'out', 'checkpoints')), [ckpt(70), ckpt(80), ckpt(90), 'corrupt']);
    assert.ok(readFileSync(join(dir, 'out', 'checkpoints', 'corrupt', ckpt(50))).equals(damaged));
  });
});
