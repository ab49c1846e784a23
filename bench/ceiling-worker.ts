/**
 * A plain worker thread for the machine's scaling ceiling (ceiling.ts): tfjs on the pool's backend,
 * no gradpool. Each message runs one unit of the given kind and replies with its time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../workers/backend.js';
import { CEILING_UNITS, type CeilingUnit } from './ceiling.js';

const { backend, unit: kind } = workerData as { backend: string; unit: CeilingUnit };
await initBackend(backend);
const unit = CEILING_UNITS[kind]();
for (let i = 0; i < 30; i++) unit(); // past tfjs-wasm's tier-up
parentPort!.postMessage('ready');
parentPort!.on('message', () => {
  const t0 = performance.now();
  unit();
  parentPort!.postMessage(performance.now() - t0);
});
