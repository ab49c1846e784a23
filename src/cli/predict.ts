import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { loadLatestValid } from '../io/checkpoint.js';
import { loadData } from '../io/load.js';
import { readTfjsWeights } from '../io/tfjs-weights.js';
import { GradPool, type ParamLayout } from '../index.js';
import { accuracy } from '../train/metrics.js';
import { EXIT, UsageError } from './exit.js';
import { withIo } from './io-errors.js';
import { readJobFile } from './job.js';
import { Progress } from './progress.js';
import { checkpointParams, trainMeta } from './state.js';

/** The trained parameters, by name: the final weights if training finished, else the newest valid checkpoint's. */
async function trainedParams(outDir: string, layout: ParamLayout, progress: Progress): Promise<Record<string, Float32Array>> {
  const final = join(outDir, 'final');
  // A Layers model's final model.json also lists its non-trainable weights (fixed, so not parameters).
  if ((await readdir(final).catch(() => [])).length > 0) return Object.fromEntries((await readTfjsWeights(final)).filter((w) => layout.names.includes(w.name)).map((w) => [w.name, w.data]));
  const ckpt = await loadLatestValid(join(outDir, 'checkpoints'), { onWarning: progress.warn });
  if (!ckpt) throw new UsageError(`predict: no trained weights in ${outDir} (expected final/ or checkpoints/; run gradpool train first)`);
  progress.warn(`predict: training has not finished; using the checkpoint at step ${trainMeta(ckpt).globalStep}`);
  return checkpointParams(ckpt, layout);
}

/** `gradpool predict <job.json>`: batch inference over the job's data, one JSON line per sample. */
export async function predict(jobPath: string, flags: { out?: string }): Promise<number> {
  const job = await readJobFile(jobPath);
  const progress = new Progress();
  const data = await withIo('read data file', undefined, () => loadData(job.data, 'data'));
  const pool = await GradPool.create({ model: job.model, threads: job.threads, backend: job.backend, seed: job.seed, ...(job.loss ? { loss: job.loss } : {}) });
  try {
    pool.setParams(await trainedParams(job.output.dir, pool.model.layout, progress));
    if (data.x.length !== data.count * pool.model.inputSize) throw new UsageError(`data.x: the model takes ${pool.model.inputSize} input values per sample, the data has ${data.x.length / data.count}`);
    const pred = await pool.predict({ shape: [data.count, ...pool.model.inputShape], data: data.x });
    const k = pred.data.length / Math.max(data.count, 1);
    const lines = Array.from({ length: data.count }, (_, i) => JSON.stringify({ index: i, prediction: Array.from(pred.data.subarray(i * k, (i + 1) * k)) }) + '\n');
    const out = flags.out ? resolve(flags.out) : join(job.output.dir, 'predictions.jsonl');
    await withIo('write predictions', out, () => writeFileAtomic(out, [Buffer.from(lines.join(''))]));
    const acc = data.y.length === data.count * pool.model.targetSize && k > 1 ? accuracy(pred.data, data.y, data.count) : undefined;
    progress.event('done', { predictions: data.count, out, ...(acc !== undefined ? { accuracy: acc } : {}) });
    return EXIT.OK;
  } finally {
    await pool.close();
  }
}
