/**
 * Job files: the JSON a `gradpool` run is configured by. `parseJob` validates every field (errors
 * name the field's path, e.g. `optimizer.beta1` or `data.x`), rejects unknown fields, resolves
 * paths against the job file's directory and fills in defaults, so the trainer never sees an
 * unchecked value. `readJobFile` reads one from disk for a CLI command, turning every problem into a
 * UsageError (exit code 2). `jobHash` fingerprints what determines the trained weights, so a resumed
 * run can refuse a checkpoint written by a different job.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, relative, resolve, sep } from 'node:path';
import { errors, GradPoolError } from '../errors.js';
import { checkOneHot, type DataSource } from '../io/dataset.js';
import { isModelJsonRef } from '../model/layers/io-handler.js';
import { LOSS_NAMES } from '../model/layers/losses.js';
import { adam, adamw, momentum, rmsprop, sgd, type OptimizerKind, type OptimizerSpec } from '../optim/index.js';
import { UsageError } from './exit.js';
import { at, existingFile, nonEmptyString, numberIn, type Obj, objectAt, oneOf, onlyKnown, posInt, resolvePath } from './job-fields.js';

/** Differential-privacy settings (DP-SGD): per-sample clipping norm, Gaussian noise, sampling, target delta. */
export interface DpConfig {
  readonly maxGradNorm: number;
  /** σ; exactly one of `noiseMultiplier` and `targetEpsilon` is set. */
  readonly noiseMultiplier?: number;
  /** The ε the whole run may spend: σ is chosen for it (see `FitDp.targetEpsilon`). */
  readonly targetEpsilon?: number;
  /** `'poisson'` (default; what the accountants assume) or `'shuffle'` (fixed-size batches of a per-epoch permutation). */
  readonly sampling: 'poisson' | 'shuffle';
  /** Target delta for the reported epsilon. Default 1e-5. */
  readonly delta: number;
  /** `'prv'` (default) or `'rdp'`. */
  readonly accountant: 'prv' | 'rdp';
  /** Noise from node:crypto: not reproducible (see `FitDp.secureRng`). Default false. */
  readonly secureRng: boolean;
  /** `'auto'` (default), `'ghost'` or `'per-sample'` (see `StepDp.clipping`). */
  readonly clipping: 'auto' | 'ghost' | 'per-sample';
}

/** Where and how often results are written. */
export interface OutputConfig {
  /** Absolute directory for checkpoints and final weights. Default `<baseDir>/out`. */
  readonly dir: string;
  /** Save a checkpoint every this many optimizer steps. Default 100. */
  readonly checkpointEvery: number;
  /** Checkpoints kept on disk. Default 3. */
  readonly keepLast: number;
}

/** A validated job with every default filled in and every path absolute. */
export interface Job {
  /** Directory the job's relative paths were resolved against (usually the job file's directory). */
  readonly baseDir: string;
  /** Absolute path of the model module (default export: `defineModel(...)`), or of a tfjs Layers `model.json`. */
  readonly model: string;
  /** The loss of a Layers model.json (a tfjs loss name); without it, the model's saved training config's. */
  readonly loss?: (typeof LOSS_NAMES)[number];
  readonly data: DataSource;
  readonly validation?: DataSource;
  readonly batchSize: number;
  /** Virtual batches: each logical batch runs as physical calls of at most this many samples (fit's `physicalBatchSize`). */
  readonly physicalBatchSize?: number;
  readonly epochs: number;
  readonly optimizer: OptimizerSpec;
  /** Worker threads. Default: all cores (`os.availableParallelism()`). */
  readonly threads: number;
  /** tfjs backend in the workers. Default `'wasm'`. */
  readonly backend: string;
  /** Seed for initialisation, sampling and noise. Default 0. */
  readonly seed: number;
  readonly dp?: DpConfig;
  readonly output: OutputConfig;
}

const TOP = ['model', 'loss', 'data', 'validation', 'batchSize', 'physicalBatchSize', 'epochs', 'optimizer', 'threads', 'backend', 'seed', 'dp', 'output'];
const SOURCE_FIELDS: Record<DataSource['format'], readonly string[]> = {
  csv: ['format', 'path', 'x', 'y', 'oneHot', 'delimiter'],
  jsonl: ['format', 'path', 'oneHot'],
  npy: ['format', 'x', 'y', 'oneHot'],
  mnist: ['format', 'split', 'limit'],
};
const FACTORIES: Record<OptimizerKind, (o: never) => OptimizerSpec> = { sgd, momentum, adam, adamw, rmsprop };
const COLUMNS = 'a non-empty array of column names or a "first:last" range';

function columns(path: string, v: unknown): string[] | string {
  if (typeof v === 'string' && v.length > 0) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string' && c.length > 0)) return [...v];
  throw errors.invalidOption(path, COLUMNS, v);
}

/** Validates one data source; `field` is `data` or `validation` (which defaults MNIST to the test split). */
function dataSource(field: string, v: unknown, baseDir: string): DataSource {
  const o = objectAt(field, v, 'a data source object such as { "format": "csv", ... }');
  const format = oneOf(at(field, 'format'), o.format, ['csv', 'jsonl', 'npy', 'mnist'] as const);
  onlyKnown(field, o, SOURCE_FIELDS[format]);
  const oneHot = checkOneHot(field, o.oneHot);
  const withOneHot = oneHot === undefined ? {} : { oneHot };
  switch (format) {
    case 'csv': {
      const path = existingFile(at(field, 'path'), o.path, baseDir);
      const x = columns(at(field, 'x'), o.x);
      const y = columns(at(field, 'y'), o.y);
      const delimiter = o.delimiter === undefined ? {} : { delimiter: nonEmptyString(at(field, 'delimiter'), o.delimiter, 'a non-empty string') };
      return { format, path, x, y, ...withOneHot, ...delimiter };
    }
    case 'jsonl':
      return { format, path: existingFile(at(field, 'path'), o.path, baseDir), ...withOneHot };
    case 'npy':
      return { format, x: existingFile(at(field, 'x'), o.x, baseDir), y: existingFile(at(field, 'y'), o.y, baseDir), ...withOneHot };
    case 'mnist': {
      const split = oneOf(at(field, 'split'), o.split, ['train', 'test'] as const, field === 'validation' ? 'test' : 'train');
      return o.limit === undefined ? { format, split } : { format, split, limit: posInt(at(field, 'limit'), o.limit) };
    }
  }
}

/** Builds the spec with the optimizer's own factory, so job files and code accept exactly the same options. */
function optimizer(v: unknown): OptimizerSpec {
  const { name, ...options } = objectAt('optimizer', v, 'an optimizer object such as { "name": "adam", "learningRate": 0.001 }');
  const kind = oneOf('optimizer.name', name, Object.keys(FACTORIES) as OptimizerKind[]);
  try {
    return FACTORIES[kind](options as never);
  } catch (e) {
    if (e instanceof GradPoolError && !e.message.startsWith('optimizer')) throw new GradPoolError(e.code, `optimizer.${e.message}`);
    throw e;
  }
}

function dp(v: unknown): DpConfig {
  const o = objectAt('dp', v, 'an object { maxGradNorm, noiseMultiplier | targetEpsilon, sampling?, delta?, accountant?, secureRng? }');
  onlyKnown('dp', o, ['maxGradNorm', 'noiseMultiplier', 'targetEpsilon', 'sampling', 'delta', 'accountant', 'secureRng', 'clipping']);
  if ((o.noiseMultiplier === undefined) === (o.targetEpsilon === undefined)) {
    const both = o.noiseMultiplier !== undefined;
    throw errors.invalidOption('dp.noiseMultiplier|dp.targetEpsilon', `one of dp.noiseMultiplier and dp.targetEpsilon${both ? ', not both' : ''}`, both ? { noiseMultiplier: o.noiseMultiplier, targetEpsilon: o.targetEpsilon } : undefined);
  }
  if (o.secureRng !== undefined && typeof o.secureRng !== 'boolean') throw errors.invalidOption('dp.secureRng', 'a boolean', o.secureRng);
  return {
    maxGradNorm: numberIn('dp.maxGradNorm', o.maxGradNorm, 'a finite number > 0', (x) => x > 0),
    ...(o.noiseMultiplier !== undefined ? { noiseMultiplier: numberIn('dp.noiseMultiplier', o.noiseMultiplier, 'a finite number >= 0', (x) => x >= 0) } : {}),
    ...(o.targetEpsilon !== undefined ? { targetEpsilon: numberIn('dp.targetEpsilon', o.targetEpsilon, 'a finite number > 0', (x) => x > 0) } : {}),
    sampling: oneOf('dp.sampling', o.sampling, ['poisson', 'shuffle'] as const, 'poisson'),
    delta: numberIn('dp.delta', o.delta, 'a number in (0, 1)', (x) => x > 0 && x < 1, 1e-5),
    accountant: oneOf('dp.accountant', o.accountant, ['prv', 'rdp'] as const, 'prv'),
    secureRng: o.secureRng === true,
    clipping: oneOf('dp.clipping', o.clipping, ['auto', 'ghost', 'per-sample'] as const, 'auto'),
  };
}

/**
 * The dp fields that determine the trained weights, for {@link jobHash}: the accountant only matters
 * when it picks σ (targetEpsilon), and secureRng only when on, so jobs written before either existed
 * keep their hash (and their checkpoints resume).
 */
function dpIdentity(d: DpConfig | undefined): object | undefined {
  if (!d) return undefined;
  const { accountant, secureRng, clipping, ...rest } = d;
  return { ...rest, ...(d.targetEpsilon !== undefined ? { accountant } : {}), ...(secureRng ? { secureRng } : {}), ...(clipping !== 'auto' ? { clipping } : {}) };
}

function output(v: unknown, baseDir: string): OutputConfig {
  const o = v === undefined ? {} : objectAt('output', v, 'an object { dir?, checkpointEvery?, keepLast? }');
  onlyKnown('output', o, ['dir', 'checkpointEvery', 'keepLast']);
  return {
    dir: resolvePath(nonEmptyString('output.dir', o.dir, 'a directory path', 'out'), baseDir),
    checkpointEvery: posInt('output.checkpointEvery', o.checkpointEvery, 100),
    keepLast: posInt('output.keepLast', o.keepLast, 3),
  };
}

/**
 * Parses and validates a job file's text. Relative paths (model, data files, output.dir) resolve
 * against `baseDir`, normally the job file's directory, and input files must exist.
 *
 * @example
 * const job = parseJob(readFileSync('/job/job.json', 'utf8'), { baseDir: '/job' });
 * // { model: '/job/model.js', batchSize: 64, optimizer: { kind: 'adam', ... }, output: { dir: '/job/out', ... }, ... }
 */
export function parseJob(jsonText: string, options: { baseDir: string }): Job {
  const baseDir = resolve(nonEmptyString('baseDir', options?.baseDir, 'a directory path'));
  let raw: unknown;
  try {
    raw = JSON.parse(jsonText);
  } catch (e) {
    throw errors.jobInvalid('job', `not valid JSON: ${(e as Error).message}`);
  }
  const o: Obj = objectAt('job', raw, 'a JSON object');
  onlyKnown('', o, TOP);
  const model = existingFile('model', o.model, baseDir, 'a path to the model module or a tfjs Layers model.json');
  if (o.loss !== undefined && !isModelJsonRef(model)) throw errors.jobInvalid('loss', 'only for a tfjs Layers model.json model (a defineModel module has its own loss)');
  const job: Job = {
    baseDir,
    model,
    ...(o.loss === undefined ? {} : { loss: oneOf('loss', o.loss, LOSS_NAMES) }),
    data: dataSource('data', o.data, baseDir),
    ...(o.validation === undefined ? {} : { validation: dataSource('validation', o.validation, baseDir) }),
    batchSize: posInt('batchSize', o.batchSize),
    ...(o.physicalBatchSize === undefined ? {} : { physicalBatchSize: posInt('physicalBatchSize', o.physicalBatchSize) }),
    epochs: posInt('epochs', o.epochs),
    optimizer: optimizer(o.optimizer),
    threads: posInt('threads', o.threads, availableParallelism()),
    backend: nonEmptyString('backend', o.backend, "a backend name such as 'wasm' or 'cpu'", 'wasm'),
    seed: numberIn('seed', o.seed, 'an integer', Number.isSafeInteger, 0),
    ...(o.dp === undefined ? {} : { dp: dp(o.dp) }),
    output: output(o.output, baseDir),
  };
  return job;
}

/** Reads and validates a job file; every problem becomes a UsageError (exit code 2) naming the field. */
export async function readJobFile(path: string | undefined): Promise<Job> {
  if (!path) throw new UsageError('job: expected a job file path, e.g. gradpool train /job/job.json');
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`job: cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
  }
  try {
    return parseJob(text, { baseDir: dirname(file) });
  } catch (e) {
    if (e instanceof GradPoolError || e instanceof SyntaxError) throw new UsageError(e.message);
    throw e;
  }
}

/** JSON with object keys sorted at every level, so equal values always serialise to equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).filter(([, e]) => e !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, e]) => `${JSON.stringify(k)}:${canonicalJson(e)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * SHA-256 (hex) of the fields that determine the trained weights: model, loss, data, batchSize,
 * optimizer, seed, backend and dp. Left out, so they may change between a crash and a resume:
 * `threads` (results are bit-identical for any thread count), `physicalBatchSize` (how a logical
 * batch is staged: the same semantics, bits equal when it is a multiple of the chunk size), `output`, `validation` (evaluation
 * only) and `epochs` (so a run can be extended). Paths are hashed relative to `baseDir`, so the job
 * directory can be moved or mounted elsewhere. File contents are not hashed.
 */
export function jobHash(job: Job): string {
  const rel = (p: string) => relative(job.baseDir, p).split(sep).join('/');
  const d = job.data;
  const data = d.format === 'npy' ? { ...d, x: rel(d.x), y: rel(d.y) } : d.format === 'mnist' ? d : { ...d, path: rel(d.path) };
  const fields = { v: 1, model: rel(job.model), loss: job.loss, data, batchSize: job.batchSize, optimizer: job.optimizer, seed: job.seed, backend: job.backend, dp: dpIdentity(job.dp) };
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}
