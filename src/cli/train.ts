import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { layersSaveHandler } from '../io/tfjs-layers.js';
import { MANIFEST_FILE, writeTfjsWeights } from '../io/tfjs-weights.js';
import { isModelJsonRef } from '../model/layers/io-handler.js';
import { loadLatestValid, pruneCheckpoints, writeCheckpoint } from '../io/checkpoint.js';
import type { Dataset } from '../io/dataset.js';
import { loadData } from '../io/load.js';
import { GradPool, type FitState, type NDArray } from '../index.js';
import { EXIT, UsageError } from './exit.js';
import { jobHash, readJobFile, type Job } from './job.js';
import { Progress } from './progress.js';
import { capture, restore, type TrainMeta } from './state.js';

export interface TrainFlags {
  resume: boolean;
  force: boolean;
  progressEveryMs: number;
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

/** The exit code after stopping for `signal`. */
const signalExit = (signal: NodeJS.Signals): number => (signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);

/**
 * Keeps only the metrics lines a run resumed at `step` will not write again, so metrics.jsonl reads as
 * one clean run: step lines up to `step`, and epoch lines before it (an epoch that ended exactly at the
 * checkpoint gets its summary line from the resumed run, which replays that summary).
 */
async function truncateMetrics(file: string, step: number): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const keep = text.split('\n').filter((l) => {
    if (!l.trim()) return false;
    const m = JSON.parse(l) as { type: string; step: number };
    return m.type === 'epoch' ? m.step < step : m.step <= step;
  });
  await writeFile(file, keep.map((l) => l + '\n').join(''));
}

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

/** `gradpool train <job.json>`: returns the process exit code. */
export async function train(jobPath: string, flags: TrainFlags): Promise<number> {
  const job: Job = await readJobFile(jobPath);
  const hash = jobHash(job);
  const progress = new Progress(undefined, flags.progressEveryMs);
  const outDir = job.output.dir;
  const ckptDir = join(outDir, 'checkpoints');
  const metricsFile = join(outDir, 'metrics.jsonl');
  await mkdir(ckptDir, { recursive: true });

  const ckpt = flags.resume ? await loadLatestValid(ckptDir, { onWarning: progress.warn }) : undefined;
  const ckptMeta = ckpt?.meta as Partial<TrainMeta> | undefined;
  if (ckpt && ckptMeta?.jobHash !== hash && !flags.force)
    throw new UsageError(`--resume: the job file changed since the checkpoint at step ${ckptMeta?.globalStep} was written (job hash ${hash.slice(0, 12)}…, checkpoint ${String(ckptMeta?.jobHash).slice(0, 12)}…); pass --force to resume anyway`);
  if (flags.resume && !ckpt) progress.warn(`--resume: no valid checkpoint in ${ckptDir}; starting from the beginning`);

  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(signalExit(s)); // a second signal: stop now
    signal = s;
    progress.event('signal', { signal: s, message: 'finishing the current step, then writing a checkpoint' });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const data = await loadData(job.data, 'data');
  const validation = job.validation ? await loadData(job.validation, 'validation') : undefined;
  const pool = await GradPool.create({ model: job.model, threads: job.threads, backend: job.backend, seed: job.seed, ...(job.loss ? { loss: job.loss } : {}) });
  try {
    const trainSet = samples('data', data, pool);
    const validationSet = validation && samples('validation', validation, pool);
    let initialState: FitState | undefined;
    if (ckpt) {
      initialState = restore(pool, job.optimizer, ckpt);
      await truncateMetrics(metricsFile, initialState.globalStep);
      progress.event('resume', { step: initialState.globalStep, epoch: initialState.epoch });
    } else await writeFile(metricsFile, '');

    let last = performance.now();
    let lastGlobal = initialState?.globalStep ?? 0;
    const save = async (state: FitState) => {
      const file = await writeCheckpoint(ckptDir, state.globalStep, capture(pool, job.optimizer, state, hash));
      await pruneCheckpoints(ckptDir, job.output.keepLast);
      progress.event('checkpoint', { step: state.globalStep, file });
    };

    const history = await pool.fit(
      trainSet,
      {
        optimizer: job.optimizer,
        epochs: job.epochs,
        batchSize: job.batchSize,
        ...(validationSet ? { validation: validationSet, metrics: ['accuracy' as const] } : {}),
        ...(job.dp ? { dp: { maxGradNorm: job.dp.maxGradNorm, noiseMultiplier: job.dp.noiseMultiplier, sampling: job.dp.sampling, delta: job.dp.delta } } : {}),
        ...(initialState ? { initialState } : {}),
        onStep: async (s) => {
          const now = performance.now();
          const samplesPerSec = s.batch / Math.max((now - last) / 1000, 1e-9);
          last = now;
          lastGlobal = s.globalStep;
          const eps = s.epsilon !== undefined ? { epsilon: s.epsilon } : {};
          const line = { type: 'step', step: s.globalStep, epoch: s.epoch, loss: s.loss, gradNorm: s.gradNorm, lr: s.lr, batch: s.batch, samplesPerSec, threads: job.threads, ...eps };
          await appendFile(metricsFile, JSON.stringify(line) + '\n');
          progress.tick({ step: s.globalStep, totalSteps: s.stepsPerEpoch * job.epochs, epoch: s.epoch, loss: s.loss, samplesPerSec, ...eps });
          if (s.globalStep % job.output.checkpointEvery === 0 || signal) await save(s.state());
          if (s.globalStep === holdAt) hold(progress, s.globalStep);
          return signal ? false : undefined;
        },
        onEpochEnd: async (e) => {
          await appendFile(metricsFile, JSON.stringify({ type: 'epoch', step: lastGlobal, ...e }) + '\n');
        },
      },
    );
    progress.stop();
    if (signal) return signalExit(signal);
    const files = await writeFinal(pool, isModelJsonRef(job.model), join(outDir, 'final'));
    progress.event('done', { steps: history.steps, epochs: history.epoch.length, loss: history.history.loss?.at(-1), ...(history.epsilon !== undefined ? { epsilon: history.epsilon } : {}), weights: files.manifest });
    return EXIT.OK;
  } finally {
    progress.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await pool.close();
  }
}
