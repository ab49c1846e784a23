/**
 * Job files: defaults, path resolution, every validation message exactly (each naming its field
 * path), optimizer validation through the optim factories, and a stable, canonical jobHash.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { canonicalJson, jobHash, parseJob, type Job } from '../../src/cli/job.js';
import { adam, momentum } from '../../src/optim/index.js';
import { dataFixture, scratchDir } from '../io/helpers.js';
import { throwsExactly } from '../helpers/assert.js';

const base = dirname(dataFixture('job/model.js'));
const csv = { format: 'csv', path: 'train.csv', x: 'a:c', y: ['label'], oneHot: 2 };
const minimal = { model: 'model.js', data: csv, batchSize: 32, epochs: 2, optimizer: { name: 'adam' } };
const parse = (o: unknown, baseDir = base) => parseJob(JSON.stringify(o), { baseDir });
/** `minimal` with `patch` merged in at the top level (undefined deletes a field). */
const withFields = (patch: Record<string, unknown>) => ({ ...minimal, ...patch });

describe('cli: job file', () => {
  it('fills in every default and resolves paths against baseDir', () => {
    const job = parse(minimal);
    const expected: Job = {
      baseDir: base,
      model: join(base, 'model.js'),
      data: { format: 'csv', path: join(base, 'train.csv'), x: 'a:c', y: ['label'], oneHot: 2 },
      batchSize: 32,
      epochs: 2,
      optimizer: adam(),
      threads: availableParallelism(),
      backend: 'wasm',
      seed: 0,
      output: { dir: join(base, 'out'), checkpointEvery: 100, keepLast: 3 },
    };
    assert.deepEqual(job, expected);
  });

  it('accepts every field: npy data, MNIST validation (test split by default), dp, output, absolute paths', () => {
    const job = parse({
      model: join(base, 'model.js'),
      data: { format: 'npy', x: '../x-f32.npy', y: '../y-i64.npy', oneHot: 3 },
      validation: { format: 'mnist', limit: 500 },
      batchSize: 8,
      epochs: 1,
      optimizer: { name: 'momentum', learningRate: 0.1, momentum: 0.9 },
      threads: 2,
      backend: 'cpu',
      seed: -7,
      dp: { maxGradNorm: 1, noiseMultiplier: 1.1 },
      output: { dir: '/tmp/run', checkpointEvery: 5, keepLast: 1 },
    });
    assert.deepEqual(job.data, { format: 'npy', x: dataFixture('x-f32.npy'), y: dataFixture('y-i64.npy'), oneHot: 3 });
    assert.deepEqual(job.validation, { format: 'mnist', split: 'test', limit: 500 });
    assert.deepEqual(job.optimizer, momentum({ learningRate: 0.1, momentum: 0.9 }));
    assert.deepEqual([job.threads, job.backend, job.seed], [2, 'cpu', -7]);
    assert.deepEqual(job.dp, { maxGradNorm: 1, noiseMultiplier: 1.1, sampling: 'poisson', delta: 1e-5, accountant: 'prv', secureRng: false, clipping: 'auto' });
    assert.deepEqual(job.output, { dir: '/tmp/run', checkpointEvery: 5, keepLast: 1 });
    assert.deepEqual(parse(withFields({ data: { format: 'mnist' } })).data, { format: 'mnist', split: 'train' });
    assert.deepEqual(parse(withFields({ validation: { format: 'jsonl', path: 'val.jsonl' } })).validation, { format: 'jsonl', path: join(base, 'val.jsonl') });
  });

  it('names the field path of every invalid value', () => {
    const LR = 'a finite number >= 0 or a schedule (step) => number';
    const cases: [unknown, string, string?][] = [
      [[1], 'job: expected a JSON object, got [1]', 'ERR_INVALID_ARG_TYPE'],
      [withFields({ batchsize: 3 }), 'batchsize: unknown field (expected one of: model, loss, data, validation, batchSize, physicalBatchSize, epochs, optimizer, threads, backend, seed, dp, output)', 'ERR_JOB_INVALID'],
      [withFields({ model: undefined }), 'model: expected a path to the model module or a tfjs Layers model.json, got undefined'],
      [withFields({ model: 'missing.js' }), `model: file not found: ${join(base, 'missing.js')}`, 'ERR_JOB_INVALID'],
      [withFields({ model: '.' }), `model: not a file: ${base}`],
      [withFields({ data: 'train.csv' }), 'data: expected a data source object such as { "format": "csv", ... }, got "train.csv"'],
      [withFields({ data: { format: 'xml' } }), 'data.format: expected "csv" or "jsonl" or "npy" or "mnist", got "xml"'],
      [withFields({ data: { ...csv, path: 'nope.csv' } }), `data.path: file not found: ${join(base, 'nope.csv')}`],
      [withFields({ data: { ...csv, path: 3 } }), 'data.path: expected a file path, got 3'],
      [withFields({ data: { ...csv, x: [] } }), 'data.x: expected a non-empty array of column names or a "first:last" range, got []'],
      [withFields({ data: { ...csv, y: [1] } }), 'data.y: expected a non-empty array of column names or a "first:last" range, got [1]'],
      [withFields({ data: { ...csv, oneHot: 1.5 } }), 'data.oneHot: expected an integer >= 2 (the number of classes), got 1.5'],
      [withFields({ data: { ...csv, delimiter: '' } }), 'data.delimiter: expected a non-empty string, got ""'],
      [withFields({ data: { ...csv, split: 'train' } }), 'data.split: unknown field (expected one of: format, path, x, y, oneHot, delimiter)'],
      [withFields({ data: { format: 'npy', x: '../x-f32.npy' } }), 'data.y: expected a file path, got undefined'],
      [withFields({ data: { format: 'mnist', split: 'val' } }), 'data.split: expected "train" or "test", got "val"'],
      [withFields({ validation: { format: 'mnist', limit: 0 } }), 'validation.limit: expected a positive integer, got 0'],
      [withFields({ validation: { format: 'jsonl', path: 'val.csv' } }), `validation.path: file not found: ${join(base, 'val.csv')}`],
      [withFields({ batchSize: 0 }), 'batchSize: expected a positive integer, got 0'],
      [withFields({ batchSize: undefined }), 'batchSize: expected a positive integer, got undefined'],
      [withFields({ epochs: 1.5 }), 'epochs: expected a positive integer, got 1.5'],
      [withFields({ optimizer: 'adam' }), 'optimizer: expected an optimizer object such as { "name": "adam", "learningRate": 0.001 }, got "adam"'],
      [withFields({ optimizer: { name: 'lion' } }), 'optimizer.name: expected "sgd" or "momentum" or "adam" or "adamw" or "rmsprop", got "lion"'],
      [withFields({ optimizer: { name: 'sgd', learningRate: -1 } }), `optimizer.learningRate: expected ${LR}, got -1`, 'ERR_INVALID_OPTION'],
      [withFields({ optimizer: { name: 'sgd' } }), `optimizer.learningRate: expected ${LR}, got undefined`],
      [withFields({ optimizer: { name: 'adam', beta1: 1 } }), 'optimizer.beta1: expected a number in [0, 1), got 1'],
      [withFields({ optimizer: { name: 'adam', lr: 0.1 } }), 'optimizer.lr: unknown field (expected one of: learningRate, beta1, beta2, epsilon)'],
      [withFields({ threads: 0 }), 'threads: expected a positive integer, got 0'],
      [withFields({ backend: '' }), "backend: expected a backend name such as 'wasm' or 'cpu', got \"\""],
      [withFields({ seed: 0.5 }), 'seed: expected an integer, got 0.5'],
      [withFields({ dp: true }), 'dp: expected an object { maxGradNorm, noiseMultiplier | targetEpsilon, sampling?, delta?, accountant?, secureRng? }, got true'],
      [withFields({ dp: { noiseMultiplier: 1 } }), 'dp.maxGradNorm: expected a finite number > 0, got undefined'],
      [withFields({ dp: { maxGradNorm: 1, noiseMultiplier: -1 } }), 'dp.noiseMultiplier: expected a finite number >= 0, got -1'],
      [withFields({ dp: { maxGradNorm: 1, noiseMultiplier: 1, sampling: 'uniform' } }), 'dp.sampling: expected "poisson" or "shuffle", got "uniform"'],
      [withFields({ dp: { maxGradNorm: 1, noiseMultiplier: 1, delta: 1 } }), 'dp.delta: expected a number in (0, 1), got 1'],
      [withFields({ dp: { maxGradNorm: 1, noiseMultiplier: 1, epsilon: 3 } }), 'dp.epsilon: unknown field (expected one of: maxGradNorm, noiseMultiplier, targetEpsilon, sampling, delta, accountant, secureRng, clipping)'],
      [withFields({ output: [] }), 'output: expected an object { dir?, checkpointEvery?, keepLast? }, got []'],
      [withFields({ output: { dir: '' } }), 'output.dir: expected a directory path, got ""'],
      [withFields({ output: { checkpointEvery: -5 } }), 'output.checkpointEvery: expected a positive integer, got -5'],
      [withFields({ output: { keepLast: 0 } }), 'output.keepLast: expected a positive integer, got 0'],
      [withFields({ output: { keep: 2 } }), 'output.keep: unknown field (expected one of: dir, checkpointEvery, keepLast)'],
    ];
    for (const [job, message, code] of cases) throwsExactly(() => parse(job), message, code);
  });

  it('reports malformed JSON with the parser\'s own position', () => {
    const text = '{ "model": "model.js", }';
    let why = '';
    try {
      JSON.parse(text);
    } catch (e) {
      why = (e as Error).message;
    }
    throwsExactly(() => parseJob(text, { baseDir: base }), `job: not valid JSON: ${why}`, 'ERR_JOB_INVALID');
    throwsExactly(() => parseJob('{}', {} as never), 'baseDir: expected a directory path, got undefined');
  });

  it('jobHash is canonical, ignores what cannot change the weights, and is relative to baseDir', () => {
    const h = jobHash(parse(minimal));
    assert.match(h, /^[0-9a-f]{64}$/);
    // Pinned: a change here means checkpoints written by earlier versions would be refused on resume.
    assert.equal(h, createHash('sha256').update(PINNED_CANONICAL).digest('hex'));
    assert.equal(h, '3c9665be6a792190bcbf65318c82c7c13a200e0b22b15b6c20df979c54d3be51');
    const reordered = parseJob(JSON.stringify({ optimizer: { name: 'adam' }, epochs: 2, batchSize: 32, data: { y: ['label'], oneHot: 2, x: 'a:c', path: 'train.csv', format: 'csv' }, model: 'model.js' }, null, 4), { baseDir: base });
    assert.equal(jobHash(reordered), h);
    const same = [{ threads: 1 }, { epochs: 50 }, { output: { dir: 'elsewhere', keepLast: 9, checkpointEvery: 1 } }, { validation: { format: 'mnist' } }];
    for (const patch of same) assert.equal(jobHash(parse(withFields(patch))), h, JSON.stringify(patch));
    const explicitDefaults = withFields({ optimizer: { name: 'adam', learningRate: 0.001, beta1: 0.9 } });
    assert.equal(jobHash(parse(explicitDefaults)), h, 'defaults written out hash like defaults left out');
    const changed = [
      { batchSize: 16 },
      { seed: 1 },
      { backend: 'cpu' },
      { optimizer: { name: 'adam', learningRate: 0.01 } },
      { data: { ...csv, x: ['a', 'b'] } },
      { dp: { maxGradNorm: 1, noiseMultiplier: 1 } },
    ];
    const hashes = changed.map((patch) => jobHash(parse(withFields(patch))));
    assert.equal(new Set([h, ...hashes]).size, changed.length + 1);

    const { dir, cleanup } = scratchDir();
    try {
      cpSync(base, dir, { recursive: true });
      assert.equal(jobHash(parse(minimal, dir)), h, 'a moved job directory keeps its hash');
    } finally {
      cleanup();
    }
  });

  it('canonicalJson sorts keys at every level and drops undefined', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: undefined } }), '{"a":{"d":[1,{"y":null,"z":0}]},"b":1}');
  });
});

/** What jobHash hashes for `minimal`: sorted keys, paths relative to baseDir, the optimizer spec with its defaults. */
const PINNED_CANONICAL =
  '{"backend":"wasm","batchSize":32,"data":{"format":"csv","oneHot":2,"path":"train.csv","x":"a:c","y":["label"]},"model":"model.js",' +
  '"optimizer":{"beta1":0.9,"beta2":0.999,"epsilon":1e-7,"kind":"adam","learningRate":0.001},"seed":0,"v":1}';
