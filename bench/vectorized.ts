/**
 * The vectorized executor's absolute targets, measured at the thread count they name (the most
 * requested): per-sample gradients of the seed model at B=65536 (PyTorch vmap(grad): 0.05 µs/sample on
 * our machine), of the MNIST MLP (≤ 137 µs/sample, 2× PyTorch), and MNIST training steps against tfjs
 * `model.fit` on the same backend, architecture, optimizer and batch size (≥ 2×). Reported, never asserted.
 * Per-sample results use `{ copy: false }` (views into the pool's reused buffers), as torch.func hands
 * back its tensors without a second copy.
 */
import { GradPool, sgd } from '../src/index.js';
import { initParams } from '../src/model/define.js';
import { loadModel, modelHref } from '../src/model/load.js';
import { target } from './analyze.js';
import { FitBaseline } from './baselines.js';
import { measure, settle } from './measure.js';
import { VECTORIZED_BATCHES, type ResolvedBenchOptions } from './options.js';
import { poolOptions } from './suite.js';
import type { VectorizedResult, VectorizedRow } from './types.js';
import { WORKLOADS } from './workloads.js';

export async function runVectorized(o: ResolvedBenchOptions, sizes: { seedBatch: number; mlpBatch: number; trainBatch: number } = VECTORIZED_BATCHES): Promise<VectorizedResult> {
  const threads = Math.max(...o.threads);
  const rows: VectorizedRow[] = [];
  const time = async (label: string, batch: number, chunkSize: number | null, fn: () => Promise<unknown>) => {
    await settle([fn], o.settleMs);
    const latency = await measure(`vectorized ${label}`, fn, true, o);
    const row = { label, batch, threads, chunkSize, latency, usPerSample: (latency.medianMs * 1000) / batch };
    rows.push(row);
    if (o.log) console.log(`  vectorized: ${label.padEnd(52)} ${row.usPerSample.toFixed(3)} µs/sample`);
    return row;
  };
  const vec = { ...o, executor: 'vectorized' as const };

  const seed = WORKLOADS.seed;
  const sd = seed.data(sizes.seedBatch, o.seed);
  const seedRows: VectorizedRow[] = [];
  for (const chunkSize of [undefined, sizes.seedBatch / 2]) {
    const pool = await GradPool.create(poolOptions({ ...vec, ...(chunkSize ? { chunkSize } : {}) }, seed, threads));
    try {
      const label = `seed perSampleGrads, vectorized, chunk ${pool.chunkSizeFor(sizes.seedBatch)}${chunkSize ? ' (set)' : ' (default)'}`;
      seedRows.push(await time(label, sizes.seedBatch, pool.chunkSizeFor(sizes.seedBatch), () => pool.perSampleGrads(sd.x, sd.y, { copy: false })));
    } finally {
      await pool.close();
    }
  }

  const mlp = WORKLOADS.mlp;
  const md = mlp.data(Math.max(sizes.mlpBatch, sizes.trainBatch), o.seed);
  const pool = await GradPool.create(poolOptions(vec, mlp, threads));
  let psg: VectorizedRow;
  let step: VectorizedRow;
  let fit: VectorizedRow;
  try {
    const x = md.x.subarray(0, sizes.mlpBatch * 784);
    const y = md.y.subarray(0, sizes.mlpBatch * 10);
    psg = await time('mlp perSampleGrads, vectorized', sizes.mlpBatch, pool.chunkSizeFor(sizes.mlpBatch), () => pool.perSampleGrads(x, y, { copy: false }));
    const tx = md.x.subarray(0, sizes.trainBatch * 784);
    const ty = md.y.subarray(0, sizes.trainBatch * 10);
    const opt = sgd({ learningRate: 0.1 });
    step = await time(`mlp training step (pool.step, sgd), B=${sizes.trainBatch}`, sizes.trainBatch, pool.chunkSizeFor(sizes.trainBatch), () => pool.step(tx, ty, { optimizer: opt }));
    const def = await loadModel(modelHref(mlp.model.href));
    const baseline = new FitBaseline(def, mlp, initParams(def, o.seed), 0.1);
    try {
      const r = await time(`mlp training step (tfjs model.fit, main thread), B=${sizes.trainBatch}`, sizes.trainBatch, null, () => baseline.step(md.x, md.y, sizes.trainBatch));
      fit = { ...r, threads: 1 };
      rows[rows.length - 1] = fit;
    } finally {
      baseline.dispose();
    }
  } finally {
    await pool.close();
  }
  const bestSeed = Math.min(...seedRows.map((r) => r.usPerSample));
  return {
    rows,
    targets: [
      target('vectorized-seed', `seed perSampleGrads B=${sizes.seedBatch}, ${threads} threads: µs/sample (best chunk size) ≤ 0.05 (PyTorch vmap(grad))`, bestSeed, 0.05, true),
      target('vectorized-mlp', `MNIST MLP perSampleGrads B=${sizes.mlpBatch}, ${threads} threads: µs/sample ≤ 137 (2× faster than PyTorch)`, psg.usPerSample, 137, true),
      target('vectorized-train', `MNIST MLP training, B=${sizes.trainBatch}, ${threads} threads: pool.step throughput / tfjs model.fit throughput ≥ 2`, fit.usPerSample / step.usPerSample, 2, false),
    ],
  };
}
