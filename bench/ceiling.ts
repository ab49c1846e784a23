/**
 * The machine's own thread-scaling ceiling: the same fixed work in 1 plain worker thread and in N at
 * once (tfjs on the pool's backend, no gradpool, no shared memory, no messages during the work),
 * interleaved round by round. What N threads gain there bounds what any pool can gain on this
 * machine: a VM's vCPUs may share a physical core or its memory bandwidth. Reported beside the
 * scaling targets, never used to excuse them.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { ratioStats } from './target-checks.js';
import type { CeilingResult } from './types.js';

/**
 * One unit of work, the shape of the benchmark's training steps: an MNIST-MLP-sized forward and
 * weight-gradient matmul (128×784 by 784×128, and its transpose product), plus an elementwise pass
 * over 1.4 MB (a conv activation's size), read back so nothing is deferred.
 */
export function ceilingUnit(): () => void {
  const a = tf.randomNormal([128, 784]);
  const w = tf.randomNormal([784, 128]);
  const g = tf.randomNormal([128, 128]);
  const act = tf.randomNormal([32, 26, 26, 16]);
  return () => {
    for (let i = 0; i < 4; i++)
      tf.tidy(() => {
        tf.matMul(a, w).dataSync();
        tf.matMul(tf.transpose(a), g).dataSync();
        tf.mul(tf.relu(act), act).dataSync();
      });
  };
}

const WORKER = new URL('./ceiling-worker.js', import.meta.url);

/** `threads` plain workers; rounds alternate one unit on worker 0 alone and one unit on each at once. */
export async function machineCeiling(backend: string, threads: number, rounds: number): Promise<CeilingResult> {
  const workers = await Promise.all(
    Array.from({ length: threads }, () => new Promise<Worker>((res, rej) => {
      const w = new Worker(WORKER, { workerData: { backend } });
      w.once('message', () => res(w));
      w.once('error', rej);
    })),
  );
  const unit = (ws: Worker[]) => Promise.all(ws.map((w) => new Promise<number>((res) => { w.once('message', res); w.postMessage(0); })));
  try {
    const one: number[] = [];
    const all: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      await unit([workers[0]!]);
      one.push(performance.now() - t0);
      t0 = performance.now();
      await unit(workers);
      all.push((performance.now() - t0) / threads); // per unit: N units ran
    }
    const s = ratioStats(one, all);
    return { threads, rounds, unitMs: one.slice().sort((p, q) => p - q)[one.length >> 1]!, speedup: s };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
