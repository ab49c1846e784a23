/**
 * The machine's own thread-scaling ceiling: the same fixed work in 1 plain worker thread and in N at
 * once (tfjs on the pool's backend, no gradpool, no shared memory, no messages during the work),
 * interleaved round by round, for three kinds of work a training step is made of. What N threads
 * gain there bounds what any pool can gain on this machine: a VM's vCPUs may be one core's
 * hyperthreads (sharing its SIMD units and caches) or share memory bandwidth, which hits dense SIMD
 * kernels hardest. Reported beside the scaling targets, never used to excuse them.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { ratioStats } from './target-checks.js';
import type { CeilingResult } from './types.js';

/** The kinds of work, each one unit of a few milliseconds, read back so nothing is deferred. */
export const CEILING_UNITS = {
  /** An MNIST-MLP-sized matmul, 128×784 by 784×128: XNNPACK, SIMD-throughput bound. */
  'dense matmul': () => {
    const [a, w] = [tf.randomNormal([128, 784]), tf.randomNormal([784, 128])];
    return () => {
      for (let i = 0; i < 8; i++) tf.tidy(() => tf.matMul(a, w).dataSync());
    };
  },
  /** relu and a product over a conv activation's 1.4 MB: memory streaming. */
  elementwise: () => {
    const act = tf.randomNormal([32, 26, 26, 16]);
    return () => {
      for (let i = 0; i < 8; i++) tf.tidy(() => tf.mul(tf.relu(act), act).dataSync());
    };
  },
  /** Many small ops (64×64 matmuls): tfjs dispatch and JavaScript, latency bound. */
  'small ops': () => {
    const s = tf.randomNormal([64, 64]);
    return () => {
      for (let i = 0; i < 200; i++) tf.tidy(() => tf.matMul(s, s));
    };
  },
} as const;
export type CeilingUnit = keyof typeof CEILING_UNITS;

const WORKER = new URL('./ceiling-worker.js', import.meta.url);

/** `threads` plain workers running `unit`; rounds alternate one unit on worker 0 alone and one unit on each at once. */
async function ceilingOf(unit: CeilingUnit, backend: string, threads: number, rounds: number): Promise<CeilingResult['units'][number]> {
  const workers = await Promise.all(
    Array.from({ length: threads }, () => new Promise<Worker>((res, rej) => {
      const w = new Worker(WORKER, { workerData: { backend, unit } });
      w.once('message', () => res(w));
      w.once('error', rej);
    })),
  );
  const run = (ws: Worker[]) => Promise.all(ws.map((w) => new Promise<number>((res) => { w.once('message', res); w.postMessage(0); })));
  try {
    const one: number[] = [];
    const all: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      await run([workers[0]!]);
      one.push(performance.now() - t0);
      t0 = performance.now();
      await run(workers);
      all.push((performance.now() - t0) / threads); // per unit: N units ran
    }
    return { unit, unitMs: one.slice().sort((p, q) => p - q)[one.length >> 1]!, speedup: ratioStats(one, all) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The ceiling of every unit kind, one after the other. */
export async function machineCeiling(backend: string, threads: number, rounds: number): Promise<CeilingResult> {
  const units: CeilingResult['units'] = [];
  for (const unit of Object.keys(CEILING_UNITS) as CeilingUnit[]) units.push(await ceilingOf(unit, backend, threads, rounds));
  return { threads, rounds, units };
}
