// The job file's dp fields for the accountants, a target ε and secure noise, and a `gradpool train`
// run with a target ε: the chosen σ is announced, saved in every checkpoint, and the run ends at
// ε within 1% below the target.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { canonicalJson, jobHash, parseJob } from '../../src/cli/job.js';
import { trainMeta } from '../../src/cli/state.js';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import { prvEpsilon } from '../../src/index.js';
import { dataFixture } from '../io/helpers.js';
import { throwsExactly } from '../helpers/assert.js';
import { makeJob, runCli } from './helpers.js';

const base = dirname(dataFixture('job/model.js'));
const minimal = { model: 'model.js', data: { format: 'csv', path: 'train.csv', x: 'a:c', y: ['label'], oneHot: 2 }, batchSize: 32, epochs: 2, optimizer: { name: 'adam' } };
const parse = (dp: unknown) => parseJob(JSON.stringify({ ...minimal, dp }), { baseDir: base });

describe('cli: job file dp fields for accounting and secure noise', () => {
  it('parses targetEpsilon, accountant and secureRng, with PRV and the seeded generator by default', () => {
    assert.deepEqual(parse({ maxGradNorm: 1, targetEpsilon: 3, accountant: 'rdp', secureRng: true }).dp, { maxGradNorm: 1, targetEpsilon: 3, sampling: 'poisson', delta: 1e-5, accountant: 'rdp', secureRng: true, clipping: 'auto' });
    assert.deepEqual(parse({ maxGradNorm: 1, noiseMultiplier: 1.1 }).dp, { maxGradNorm: 1, noiseMultiplier: 1.1, sampling: 'poisson', delta: 1e-5, accountant: 'prv', secureRng: false, clipping: 'auto' });
  });

  it('refuses bad dp fields, naming them', () => {
    throwsExactly(() => parse({ maxGradNorm: 1, noiseMultiplier: 1, targetEpsilon: 2 }), 'dp.noiseMultiplier|dp.targetEpsilon: expected one of dp.noiseMultiplier and dp.targetEpsilon, not both, got {"noiseMultiplier":1,"targetEpsilon":2}');
    throwsExactly(() => parse({ maxGradNorm: 1 }), 'dp.noiseMultiplier|dp.targetEpsilon: expected one of dp.noiseMultiplier and dp.targetEpsilon, got undefined');
    throwsExactly(() => parse({ maxGradNorm: 1, targetEpsilon: 0 }), 'dp.targetEpsilon: expected a finite number > 0, got 0');
    throwsExactly(() => parse({ maxGradNorm: 1, noiseMultiplier: 1, accountant: 'gdp' }), 'dp.accountant: expected "prv" or "rdp", got "gdp"');
    throwsExactly(() => parse({ maxGradNorm: 1, noiseMultiplier: 1, secureRng: 'true' }), 'dp.secureRng: expected a boolean, got "true"');
    throwsExactly(() => parse({ maxGradNorm: 1, noiseMultiplier: 1, clipping: 'fast' }), 'dp.clipping: expected "auto" or "ghost" or "per-sample", got "fast"');
  });

  it("keeps the hash of a dp job written before these fields (its checkpoints still resume); a target ε's accountant counts", () => {
    const old = parse({ maxGradNorm: 1, noiseMultiplier: 1.1 });
    const fields = { v: 1, model: 'model.js', data: { format: 'csv', path: 'train.csv', x: 'a:c', y: ['label'], oneHot: 2 }, batchSize: 32, optimizer: old.optimizer, seed: 0, backend: 'wasm', dp: { maxGradNorm: 1, noiseMultiplier: 1.1, sampling: 'poisson', delta: 1e-5 } };
    assert.equal(jobHash(old), createHash('sha256').update(canonicalJson(fields)).digest('hex'));
    assert.equal(jobHash(parse({ maxGradNorm: 1, noiseMultiplier: 1.1, accountant: 'rdp' })), jobHash(old));
    assert.notEqual(jobHash(parse({ maxGradNorm: 1, noiseMultiplier: 1.1, secureRng: true })), jobHash(old));
    assert.equal(jobHash(parse({ maxGradNorm: 1, noiseMultiplier: 1.1, clipping: 'auto' })), jobHash(old), "clipping 'auto' is the default: same hash");
    assert.notEqual(jobHash(parse({ maxGradNorm: 1, noiseMultiplier: 1.1, clipping: 'per-sample' })), jobHash(old));
    assert.notEqual(jobHash(parse({ maxGradNorm: 1, targetEpsilon: 3, accountant: 'rdp' })), jobHash(parse({ maxGradNorm: 1, targetEpsilon: 3 })));
  });
});

describe('cli: gradpool train with a target ε', function () {
  it('announces the chosen σ, saves it in each checkpoint, and ends within 1% below the target', async () => {
    const { dir, job } = makeJob({ dp: { maxGradNorm: 1, targetEpsilon: 5, delta: 1e-3 } });
    const r = await runCli(['train', job]);
    assert.equal(r.code, 0, r.stderr);
    const chosen = r.events.find((e) => e.type === 'dp')!;
    const sigma = chosen.noiseMultiplier as number;
    assert.equal(chosen.accountant, 'prv');
    const done = r.events.find((e) => e.type === 'done')!;
    assert.equal(done.noiseMultiplier, sigma);
    // 240 rows, batch 8: q = 1/30, 30 steps an epoch, 3 epochs.
    const eps = prvEpsilon({ sampleRate: 8 / 240, noiseMultiplier: sigma, steps: 90, delta: 1e-3 });
    assert.equal(done.epsilon, eps);
    assert.ok(eps <= 5 && eps >= 0.99 * 5, `ε ${eps}`);
    const ckpts = readdirSync(join(dir, 'out', 'checkpoints')).filter((f) => f.endsWith('.gpck'));
    assert.ok(ckpts.length > 0);
    for (const f of ckpts) assert.equal(trainMeta(await readCheckpoint(join(dir, 'out', 'checkpoints', f))).fit.dp!.noiseMultiplier, sigma);
  });
});
