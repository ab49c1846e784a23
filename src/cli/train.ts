import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { layersSaveHandler } from '../io/tfjs-layers.js';
import { MANIFEST_FILE, writeTfjsWeights } from '../io/tfjs-weights.js';
import { isModelJsonRef } from '../model/layers/io-handler.js';
import { checkpointName, pruneCheckpoints, writeCheckpoint } from '../io/checkpoint.js';
import type { Dataset } from '../io/dataset.js';
import { loadData } from '../io/load.js';
import { openRows, type OpenRows } from '../io/open-rows.js';
import { GradPool, type FitData, type FitState, type NDArray } from '../index.js';
import { EXIT, UsageError } from './exit.js';
import { inputDigests } from './identity.js';
import { displayPath, withIo } from './io-errors.js';
import { jobHash, readJobFile, type Job } from './job.js';
import { acquireRunLock } from './lock.js';
import { Progress } from './progress.js';
import { resumePoint, type RunIdentity } from './resume.js';
import { CHECKPOINTS, earlierRunError, FINAL, findEarlierRun, keepMetricsThrough, METRICS_FILE, moveEarlierRunAside } from './run-dir.js';
import { capture, restore } from './state.js';
import { clusterFromCli, EXIT_NODE_LOST, type ClusterFlags } from '../cluster/cli.js';
import type { ClusterOptions } from '../cluster/options.js';
import { GradPoolError } from '../errors.js';

export interface TrainFlags {
  /** Continue from the newest valid checkpoint. */
  resume: boolean;
  /** Resume even if the job file, the model or the data changed since the checkpoint. */
  force: boolean;
  /** Start over in an output directory that holds an earlier run, moving that run aside first. */
  fresh: boolean;
  progressEveryMs: number;
  /** Multi-node flags (src/cluster/cli.ts); absent or --nodes 1: a single-node run. */
  cluster?: ClusterFlags;
}

/**
 * The dataset as `fit` takes it, shaped as the model's samples, after checking it fits the model (same
 * number of values per sample; shapes may differ, e.g. [784] vs [28,28,1]).
 */
function samples(field: string, d: Dataset, pool: GradPool): { x: NDArray; y: NDArray } {
  const m = pool.model;
  if (d.x.length / Math.max(d.count, 1) !== m.inputSize) throw new UsageError(`${field}.x: the model takes ${m.inputSize} input values per sample (shape [${m.inputShape}]), the data has ${d.x.length / d.count}`);
  if (d.y.length / Math.max(d.count, 1) !== m.targetSize) throw new UsageError(`${field}.y: the model takes ${m.targetSize} target values per sample (shape [${m.targetShape}]), the data has ${d.y.length / d.count}`);
  return { x: { shape: [d.count, ...m.inputShape], data: d.x }, y: { shape: [d.count, ...m.targetShape], data: d.y } };
}

/**
 * The training data: on a node of a multi-node run, rows read from disk as `fit` asks for them (only
 * the node's own chunks' rows; src/io/open-rows.ts), else the whole dataset.
 */
function trainingData(job: Job, cluster: ClusterOptions | null): Promise<Dataset | OpenRows> {
  return withIo<Dataset | OpenRows>('read data file', undefined, () => (cluster ? openRows(job.data, 'data') : loadData(job.data, 'data')));
}

/** {@link samples} for the training data, which may be a row source (checked against the model alike). */
function trainSet(d: Dataset | OpenRows, pool: GradPool): FitData {
  if (!('read' in d)) return samples('data', d, pool);
  const m = pool.model;
  if (d.inputSize !== m.inputSize) throw new UsageError(`data.x: the model takes ${m.inputSize} input values per sample (shape [${m.inputShape}]), the data has ${d.inputSize}`);
  if (d.targetSize !== m.targetSize) throw new UsageError(`data.y: the model takes ${m.targetSize} target values per sample (shape [${m.targetShape}]), the data has ${d.targetSize}`);
  return d;
}

/** The exit code after stopping for `signal`. */
const signalExit = (signal: NodeJS.Signals): number => (signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);

/**
 * For crash tests: `GRADPOOL_TEST_HOLD_AT_STEP=N` freezes the run right after step N (and its
 * checkpoint, if one is due), announcing it with a `hold` event, so a test can SIGKILL it at a known
 * point instead of racing a running trainer. It blocks the thread for good: only a kill ends it.
 */
const holdAt = Number(process.env.GRADPOOL_TEST_HOLD_AT_STEP ?? NaN);
function hold(progress: Progress, step: number): never {
  progress.event('hold', { step });
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}

/**
 * The trained model in `dir`: a Layers model.json job gets a loadable tfjs Layers model (modelTopology,
 * weightsManifest, weights.bin), a defineModel job its weights in tfjs's manifest format.
 */
async function writeFinal(pool: GradPool, layers: boolean, dir: string): Promise<{ manifest: string }> {
  if (layers) {
    const model = await pool.toLayersModel();
    try {
      await model.save(layersSaveHandler(dir));
    } finally {
      model.dispose();
    }
    return { manifest: join(dir, MANIFEST_FILE) };
  }
  const p = pool.getParams();
  return writeTfjsWeights(dir, pool.model.layout.names.map((name) => ({ name, shape: p[name]!.shape, data: p[name]!.data })));
}

/**
 * `gradpool train <job.json>`: returns the process exit code. Everything that only reads (the job,
 * the data, the input files' digests) happens before the output directory is touched; then the
 * directory's lock is taken for the rest of the run, so no second trainer can interleave with this one.
 */
export async function train(jobPath: string, flags: TrainFlags): Promise<number> {
  const job: Job = await readJobFile(jobPath);
  const progress = new Progress(undefined, flags.progressEveryMs);
  // Handled from the start, so a signal before training begins still ends through `finally` (releasing the lock).
  const stop: Stop = { signal: null };
  const onSignal = (s: NodeJS.Signals) => {
    if (stop.signal) process.exit(signalExit(s)); // a second signal: stop now (the lock is released on exit)
    stop.signal = s;
    progress.event('signal', { signal: s, message: 'finishing the current step, then writing a checkpoint' });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const cluster = clusterFromCli(flags.cluster ?? {}, process.env, jobHash(job));
    // Only rank 0 owns output.dir; the other ranks touch no file (they get rank 0's state at the start).
    if (cluster && cluster.rank !== 0) return await follower(job, progress, stop, cluster);
    return await trainLocked(job, flags, progress, stop, cluster);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Set by the first SIGTERM or SIGINT: the run stops after the current step and its checkpoint. */
interface Stop {
  signal: NodeJS.Signals | null;
}

async function trainLocked(job: Job, flags: TrainFlags, progress: Progress, stop: Stop, cluster: ClusterOptions | null): Promise<number> {
  const data = await trainingData(job, cluster);
  const validation = job.validation ? await withIo('read validation file', undefined, () => loadData(job.validation!, 'validation')) : undefined;
  const identity: RunIdentity = { jobHash: jobHash(job), files: await inputDigests(job) };
  const outDir = job.output.dir;
  await withIo('create output directory', outDir, () => mkdir(outDir, { recursive: true }));
  const lock = await acquireRunLock(outDir, progress.warn);
  try {
    const earlier = await findEarlierRun(outDir);
    if (flags.fresh) {
      const movedTo = await moveEarlierRunAside(outDir, earlier);
      if (movedTo) progress.warn(`--fresh: moved the earlier run (${earlier!.outputs.join(', ')}) to ${displayPath(movedTo)}`);
    } else if (earlier && !flags.resume) throw earlierRunError(earlier);
    return await run(job, flags, progress, stop, { data, validation, identity }, cluster);
  } finally {
    lock.release();
    if ('close' in data) data.close();
  }
}

/** The training run proper, once the output directory is this process's. */
async function run(job: Job, flags: TrainFlags, progress: Progress, stop: Stop, input: { data: Dataset | OpenRows; validation: Dataset | undefined; identity: RunIdentity }, cluster: ClusterOptions | null): Promise<number> {
  const { data, validation, identity } = input;
  const outDir = job.output.dir;
  const ckptDir = join(outDir, CHECKPOINTS);
  const metricsFile = join(outDir, METRICS_FILE);
  await withIo('create directory', ckptDir, () => mkdir(ckptDir, { recursive: true }));
  const ckpt = flags.resume ? await resumePoint(ckptDir, identity, flags.force, progress.warn) : undefined;

  const pool = await GradPool.create({ ...poolOptions(job), ...(cluster ? { cluster } : {}) });
  try {
    const train = trainSet(data, pool);
    const validationSet = validation && samples('validation', validation, pool);
    let initialState: FitState | undefined;
    if (ckpt) {
      initialState = restore(pool, job.optimizer, ckpt);
      await keepMetricsThrough(metricsFile, initialState.globalStep, progress.warn);
      progress.event('resume', { step: initialState.globalStep, epoch: initialState.epoch });
    } else if (flags.resume) await keepMetricsThrough(metricsFile, 0, progress.warn);
    else await withIo('write metrics', metricsFile, () => writeFile(metricsFile, ''));

    let last = performance.now();
    let lastGlobal = initialState?.globalStep ?? 0;
    /** The fit state after the last committed step, and the step of the last checkpoint written. */
    let committed: FitState | undefined;
    let saved = initialState?.globalStep ?? -1;
    const save = async (state: FitState) => {
      saved = state.globalStep;
      const name = join(ckptDir, checkpointName(state.globalStep));
      const file = await withIo('write checkpoint', name, () => writeCheckpoint(ckptDir, state.globalStep, capture(pool, job.optimizer, state, identity.jobHash, identity.files)));
      await withIo('prune checkpoints in', ckptDir, () => pruneCheckpoints(ckptDir, job.output.keepLast));
      progress.event('checkpoint', { step: state.globalStep, file });
    };

    const history = await lostNode(pool, () => (committed && saved !== committed.globalStep ? save(committed) : Promise.resolve()), () => saved, () => pool.fit(
      train,
      {
        optimizer: job.optimizer,
        epochs: job.epochs,
        batchSize: job.batchSize,
        ...(job.physicalBatchSize ? { physicalBatchSize: job.physicalBatchSize } : {}),
        ...(validationSet ? { validation: validationSet, metrics: ['accuracy' as const] } : {}),
        ...(job.dp ? { dp: { ...job.dp } } : {}),
        ...(initialState ? { initialState } : {}),
        onStep: async (s) => {
          const now = performance.now();
          const samplesPerSec = s.batch / Math.max((now - last) / 1000, 1e-9);
          last = now;
          lastGlobal = s.globalStep;
          if (cluster) committed = s.state(); // taken now: the next epoch's start changes the sampler
          // PRV's ε costs up to a second or two on large runs: step lines carry it under RDP only (epoch lines always do).
          const eps = job.dp?.accountant === 'rdp' ? { epsilon: s.epsilon } : {};
          if (s.globalStep === (initialState?.globalStep ?? 0) + 1 && job.dp) progress.event('dp', { noiseMultiplier: s.state().dp!.noiseMultiplier, accountant: job.dp.accountant, delta: job.dp.delta });
          const line = { type: 'step', step: s.globalStep, epoch: s.epoch, loss: s.loss, gradNorm: s.gradNorm, lr: s.lr, batch: s.batch, samplesPerSec, threads: job.threads, ...eps };
          await withIo('write metrics', metricsFile, () => appendFile(metricsFile, JSON.stringify(line) + '\n'));
          progress.tick({ step: s.globalStep, totalSteps: s.stepsPerEpoch * job.epochs, epoch: s.epoch, loss: s.loss, samplesPerSec, ...eps });
          if (s.globalStep % job.output.checkpointEvery === 0 || stop.signal) await save(s.state());
          if (s.globalStep === holdAt) hold(progress, s.globalStep);
          return stop.signal ? false : undefined;
        },
        onEpochEnd: async (e) => {
          await withIo('write metrics', metricsFile, () => appendFile(metricsFile, JSON.stringify({ type: 'epoch', step: lastGlobal, ...e }) + '\n'));
        },
      },
    ));
    if (typeof history === 'number') return history;
    progress.stop();
    if (stop.signal) return signalExit(stop.signal);
    const finalDir = join(outDir, FINAL);
    const files = await withIo('write final weights in', finalDir, () => writeFinal(pool, isModelJsonRef(job.model), finalDir));
    const dpDone = history.epsilon !== undefined ? { epsilon: history.epsilon, noiseMultiplier: history.noiseMultiplier } : {};
    progress.event('done', { steps: history.steps, epochs: history.epoch.length, loss: history.history.loss?.at(-1), ...dpDone, weights: files.manifest });
    return EXIT.OK;
  } finally {
    progress.stop();
    await pool.close();
  }
}

/** What GradPool.create gets from a job (every rank alike). */
function poolOptions(job: Job) {
  return { model: job.model, threads: job.threads, backend: job.backend, seed: job.seed, ...(job.loss ? { loss: job.loss } : {}) };
}

/**
 * Runs `train`; when a node (or NATS) is lost, rank 0 writes a checkpoint of the last committed step
 * (`checkpoint`), and every survivor prints one line naming the lost rank and returns 75.
 */
async function lostNode<T>(pool: GradPool, checkpoint: () => Promise<void>, savedStep: () => number, train: () => Promise<T>): Promise<T | number> {
  try {
    return await train();
  } catch (e) {
    const lost = e instanceof GradPoolError && e.code === 'ERR_CLUSTER_NODE_LOST' ? e : (e as { cause?: unknown })?.cause;
    if (!(lost instanceof GradPoolError) || lost.code !== 'ERR_CLUSTER_NODE_LOST') throw e;
    const rank = pool.cluster!.rank;
    if (rank === 0) await checkpoint();
    const step = savedStep();
    const after = rank === 0 ? (step >= 0 ? `; rank 0 holds a checkpoint of step ${step}` : '; no step was checkpointed') : '';
    process.stderr.write(`gradpool: ${lost.message}${after}; restart every node with --resume\n`);
    return EXIT_NODE_LOST;
  }
}

/**
 * A rank other than 0: reads the data, trains in step with the others, and writes nothing — no lock,
 * metrics, checkpoints or weights (rank 0 does). Its starting state comes from rank 0.
 */
async function follower(job: Job, progress: Progress, stop: Stop, cluster: ClusterOptions): Promise<number> {
  const data = await trainingData(job, cluster);
  // Followers evaluate the validation set too, though only rank 0 reports it: an evaluation takes a
  // random-call number (the next step's dropout masks are keyed by it), so every node must run it.
  const validation = job.validation ? await withIo('read validation file', undefined, () => loadData(job.validation!, 'validation')) : undefined;
  const pool = await GradPool.create({ ...poolOptions(job), cluster });
  try {
    const train = trainSet(data, pool);
    const validationSet = validation && samples('validation', validation, pool);
    const dp = job.dp ? { dp: { ...job.dp } } : {}; // exactly what rank 0 passes (see train above)
    const result = await lostNode(pool, () => Promise.resolve(), () => -1, () =>
      pool.fit(train, {
        optimizer: job.optimizer,
        epochs: job.epochs,
        batchSize: job.batchSize,
        ...(validationSet ? { validation: validationSet, metrics: ['accuracy' as const] } : {}),
        ...dp,
        onStep: (s) => {
          progress.tick({ step: s.globalStep, totalSteps: s.stepsPerEpoch * job.epochs, epoch: s.epoch, loss: s.loss, samplesPerSec: NaN });
          if (s.globalStep === holdAt) hold(progress, s.globalStep);
          return stop.signal ? false : undefined;
        },
      }),
    );
    if (typeof result === 'number') return result;
    progress.stop();
    if (stop.signal) return signalExit(stop.signal);
    progress.event('done', { steps: result.steps, rank: cluster.rank });
    return EXIT.OK;
  } finally {
    progress.stop();
    await pool.close();
    if ('close' in data) data.close();
  }
}
