/**
 * A plain worker thread for the machine's scaling ceiling (ceiling.ts): tfjs on the pool's backend,
 * no gradpool. Each message runs one fixed unit of work and replies with its time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../workers/backend.js';
import { ceilingUnit } from './ceiling.js';

const { backend } = workerData as { backend: string };
await initBackend(backend);
const unit = ceilingUnit();
for (let i = 0; i < 30; i++) unit(); // past tfjs-wasm's tier-up
parentPort!.postMessage('ready');
parentPort!.on('message', () => {
  const t0 = performance.now();
  unit();
  parentPort!.postMessage(performance.now() - t0);
});
// Keep tf referenced for the unit's closures (and its backend) for the worker's lifetime.
void tf;
