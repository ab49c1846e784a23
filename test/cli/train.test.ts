// The gradpool CLI end to end: a happy path, SIGTERM and SIGKILL followed by --resume (bit-identical
// to an uninterrupted run), a corrupt newest checkpoint, a changed job file, and predict.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GradPool, prvEpsilon } from '../../src/index.js';
import { useBackend } from '../helpers/env.js';
import { CLI, makeJob, runCli } from './helpers.js';
import { assertClose } from '../helpers/assert.js';

const weightsOf = (dir: string) => readFileSync(join(dir, 'out', 'final', 'weights.bin'));
const epochsOf = (dir: string) =>
  readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch: number; loss: number }).filter((l) => l.type === 'epoch').map((l) => [l.epoch, l.loss]);
const stepsOf = (dir: string) =>
  readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number }).filter((l) => l.type === 'step').map((l) => l.step);

describe('cli: gradpool train', function () {
  let reference: Buffer;
  let refDir: string;

  before(async function () {
    await useBackend('cpu'); // tf.io.decodeWeights below runs on the main thread
    const { dir, job } = makeJob();
    refDir = dir;
    const r = await runCli(['train', job]);
    assert.equal(r.code, 0, r.stderr);
    reference = weightsOf(dir);
  });

  it('trains, writes metrics.jsonl, the last K checkpoints and tf.io-readable final weights', () => {
    const steps = stepsOf(refDir);
    assert.deepEqual(steps, Array.from({ length: 90 }, (_, i) => i + 1));
    const line = JSON.parse(readFileSync(join(refDir, 'out', 'metrics.jsonl'), 'utf8').split('\n')[0]!) as Record<string, number>;
    for (const k of ['step', 'epoch', 'loss', 'gradNorm', 'lr', 'samplesPerSec', 'threads']) assert.equal(typeof line[k], 'number', k);
    assert.deepEqual(readdirSync(join(refDir, 'out', 'checkpoints')).sort(), ['ckpt-000000000070.gpck', 'ckpt-000000000080.gpck', 'ckpt-000000000090.gpck']);
    const manifest = JSON.parse(readFileSync(join(refDir, 'out', 'final', 'model.json'), 'utf8')) as { weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
    const decoded = tf.io.decodeWeights(new Uint8Array(reference).buffer, manifest.weightsManifest[0]!.weights);
    assert.deepEqual(Object.keys(decoded), ['W1', 'b1', 'W2', 'b2']);
    assert.deepEqual(decoded.W1!.shape, [5, 4]);
  });

  it('on SIGTERM writes a checkpoint and exits 143; --resume then ends bit-identical', async function () {
    const { dir, job } = makeJob();
    let termAt = -1;
    const first = await runCli(['train', job, '--progress-every', '0'], (e, kill) => {
      if (e.type === 'progress' && e.step === 33 && termAt < 0) (termAt = 33), kill('SIGTERM');
    });
    assert.equal(first.code, 143, first.stderr);
    const ckpt = first.events.filter((e) => e.type === 'checkpoint').at(-1)!;
    assert.ok((ckpt.step as number) >= 33, `checkpoint at ${ckpt.step}`);
    const second = await runCli(['train', job, '--resume']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.events.find((e) => e.type === 'resume')!.step, ckpt.step);
    assert.ok(weightsOf(dir).equals(reference), 'resumed weights differ from the uninterrupted run');
    assert.deepEqual(stepsOf(dir), Array.from({ length: 90 }, (_, i) => i + 1));
  });

  it('after SIGKILL, --resume continues from the last checkpoint and ends bit-identical (DP job too)', async function () {
    // Without DP the kill lands just after the checkpoint at step 30, which is also an epoch's end.
    for (const [dp, killAt, resumeAt] of [[undefined, 35, 30], [{ maxGradNorm: 1, noiseMultiplier: 0.8 }, 47, 40]] as const) {
      const base = makeJob(dp ? { dp } : {});
      const uninterrupted = await runCli(['train', base.job]);
      assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
      const { dir, job } = makeJob(dp ? { dp } : {});
      // The trainer freezes after step `killAt` (GRADPOOL_TEST_HOLD_AT_STEP), so the kill lands at a known step.
      const killed = await runCli(['train', job], (e, kill) => e.type === 'hold' && kill('SIGKILL'), { GRADPOOL_TEST_HOLD_AT_STEP: String(killAt) });
      assert.equal(killed.signal, 'SIGKILL');
      const resumed = await runCli(['train', job, '--resume']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(resumed.events.find((e) => e.type === 'resume')!.step, resumeAt);
      assert.ok(weightsOf(dir).equals(weightsOf(base.dir)), `${dp ? 'DP ' : ''}resumed weights differ`);
      // metrics.jsonl reads as one run: every step once, every epoch summary once, same as uninterrupted.
      assert.deepEqual(stepsOf(dir), Array.from({ length: stepsOf(base.dir).length }, (_, i) => i + 1));
      assert.deepEqual(epochsOf(dir), epochsOf(base.dir));
      if (dp) {
        // metrics.jsonl's ε is the (default, PRV) accountant's figure for the steps taken (Poisson q = 8/240).
        const last = readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; epsilon: number }).filter((l) => l.type === 'epoch').at(-1)!;
        assert.equal(last.step, 90);
        assertClose([last.epsilon], [prvEpsilon({ sampleRate: 8 / 240, noiseMultiplier: dp.noiseMultiplier, steps: 90, delta: 1e-5 })], { rtol: 1e-12 }, 'epsilon');
      }
    }
  });

  it('skips a corrupt newest checkpoint with a warning and resumes from the previous one', async function () {
    const { dir, job } = makeJob();
    const killed = await runCli(['train', job], (e, kill) => e.type === 'hold' && kill('SIGKILL'), { GRADPOOL_TEST_HOLD_AT_STEP: '55' });
    assert.equal(killed.signal, 'SIGKILL');
    const newest = join(dir, 'out', 'checkpoints', 'ckpt-000000000050.gpck');
    truncateSync(newest, Math.floor(statSync(newest).size / 2));
    const resumed = await runCli(['train', job, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    // The killed trainer's lock is taken over first (a warning of its own); then the checkpoint's.
    const warning = resumed.events.find((e) => e.type === 'warning' && /checkpoint/.test(String(e.message)))!;
    assert.match(String(warning.message), /ckpt-000000000050\.gpck/);
    assert.match(String(warning.message), /falling back to .*ckpt-000000000040\.gpck/);
    assert.equal(resumed.events.find((e) => e.type === 'resume')!.step, 40);
    assert.ok(weightsOf(dir).equals(reference));
  });

  it('refuses to resume a changed job file unless --force', async function () {
    const { job, config } = makeJob({ epochs: 1 });
    assert.equal((await runCli(['train', job])).code, 0);
    writeFileSync(job, JSON.stringify({ ...config, epochs: 1, optimizer: { name: 'adam', learningRate: 0.02 } }));
    const refused = await runCli(['train', job, '--resume']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^gradpool: --resume: the job file changed since the checkpoint at step 30 was written .*; pass --force to resume anyway$/m);
    const forced = await runCli(['train', job, '--resume', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
  });
});

describe('cli: progress output', function () {
  it('draws a progress bar on a terminal and writes no JSONL progress lines there', function () {
    // `script` (util-linux) gives the CLI a pseudo-terminal, as an operator's shell would.
    const { job } = makeJob({ epochs: 1 });
    const out = execFileSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} train ${JSON.stringify(job)}`, '/dev/null'], { encoding: 'utf8' });
    assert.match(out, /epoch 1 \|[█░]+\| 30\/30 steps · loss [\d.]+ · \d+ samples\/s/);
    assert.doesNotMatch(out, /"type":"progress"/);
    assert.match(out, /"type":"done"/);
  });
});

describe('cli: gradpool predict', function () {
  it('writes one prediction per sample, equal to the pool with the final weights', async function () {
    const { dir, job } = makeJob({ epochs: 1 });
    assert.equal((await runCli(['train', job])).code, 0);
    const r = await runCli(['predict', job]);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(join(dir, 'out', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; prediction: number[] });
    assert.equal(lines.length, 240);
    assert.deepEqual(lines.map((l) => l.index), Array.from({ length: 240 }, (_, i) => i));
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'final', 'model.json'), 'utf8')) as { weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
    const w = tf.io.decodeWeights(new Uint8Array(weightsOf(dir)).buffer, manifest.weightsManifest[0]!.weights);
    const pool = await GradPool.create({ model: join(dir, 'model.js'), threads: 1 });
    try {
      pool.setParams(Object.fromEntries(Object.entries(w).map(([k, t]) => [k, t.dataSync() as Float32Array])));
      const csv = readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 5).map(Number));
      const want = await pool.predict(csv);
      assert.deepEqual(lines.flatMap((l) => l.prediction), Array.from(want.data));
    } finally {
      await pool.close();
    }
    assert.ok(typeof r.events.find((e) => e.type === 'done')!.accuracy === 'number');
  });
});
