/**
 * The piscina worker entry. Each worker keeps, for its whole life: its tfjs backend, the loaded model,
 * the executor, and the parameters as tensors (re-uploaded only when the parameter version changes).
 * Errors that belong to the call (bad sample, model that fails to load) are returned as data so their
 * code and message survive the thread boundary; only a real crash rejects the piscina task.
 */
import { threadId } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { regionView } from '../src/arena.js';
import { GradPoolError } from '../src/errors.js';
import type { ModelDef } from '../src/model/define.js';
import { loadModel } from '../src/model/load.js';
import { CTL, type ChunkTask, type RemoteError, type RuntimeSpec, type Task, type TaskResult } from '../src/protocol.js';
import { initBackend } from './backend.js';
import { runChunks } from './chunks.js';
import { runUpdate } from './update.js';
import { describeModel } from './describe.js';
import { createExecutor } from './executors/index.js';
import { SampleError, type Executor } from './executors/types.js';
import { createVectorizedExecutor, type VectorizedExecutor } from './executors/vectorized/executor.js';

/** The vectorized executor to probe a model with, on this worker's backend. */
function spec(backend: string): VectorizedExecutor {
  return createVectorizedExecutor(backend, false);
}

interface Runtime {
  model: ModelDef;
  executor: Executor;
}

let runtime: { key: string; value: Runtime } | null = null;
let paramCache: { key: string; tensors: tf.Tensor[] } | null = null;

async function getRuntime(spec: RuntimeSpec): Promise<Runtime> {
  const key = `${spec.model}|${spec.executor}`;
  await initBackend(spec.backend, spec.backendModule);
  if (runtime?.key !== key) runtime = { key, value: { model: await loadModel(spec.model), executor: createExecutor(spec.executor, spec.backend) } };
  return runtime.value;
}

/** The parameters as tensors, rebuilt only when the coordinator bumped the version or swapped regions. */
function paramTensors(task: ChunkTask, model: ModelDef): tf.Tensor[] {
  const key = `${task.paramsRegion}@${task.paramsVersion}`;
  if (paramCache?.key === key) return paramCache.tensors;
  paramCache?.tensors.forEach((t) => t.dispose());
  const flat = regionView(task.regions[task.paramsRegion], 'f32', task.paramsRegion);
  const { offsets, sizes, shapes } = model.layout;
  const tensors = shapes.map((shape, p) => tf.tensor(flat.slice(offsets[p]!, offsets[p]! + sizes[p]!), shape));
  paramCache = { key, tensors };
  return tensors;
}

function info(): { threadId: number; numTensors: number; backend: string } {
  return { threadId, numTensors: tf.memory().numTensors, backend: tf.getBackend() };
}

function toRemote(e: unknown, op: string): RemoteError {
  if (e instanceof SampleError) return { code: 'ERR_SAMPLE_FAILED', message: `${op}: sample ${e.sample}: ${e.message}` };
  if (e instanceof GradPoolError) return { code: e.code, message: e.message };
  const message = e instanceof Error ? e.message : String(e);
  if (message.startsWith('backend:')) return { code: 'ERR_BACKEND', message };
  return { code: 'ERR_WORKER', message };
}

export default async function run(task: Task): Promise<TaskResult> {
  try {
    const rt = await getRuntime(task.runtime);
    switch (task.type) {
      case 'describe':
        return { ok: true, chunks: 0, ...describeModel(rt.model, task.probeVectorized ? spec(task.runtime.backend) : null), ...info() };
      case 'warmup': {
        const b = new Int32Array(task.barrier);
        Atomics.add(b, 0, 1);
        Atomics.notify(b, 0);
        // Hold this worker until every party has arrived (bounded, so a lost worker cannot hang us).
        const deadline = Date.now() + 60_000;
        for (let v = Atomics.load(b, 0); v < task.parties && Date.now() < deadline; v = Atomics.load(b, 0)) Atomics.wait(b, 0, v, 100);
        return { ok: true, chunks: 0, ...info() };
      }
      case 'chunks': {
        const t0 = performance.now();
        const { done: chunks, badSample } = runChunks(task, rt.model, rt.executor, paramTensors(task, rt.model));
        const computeMs = performance.now() - t0;
        // Let anything the model scheduled during the call (a stray async throw) happen before we
        // report success, so a crash it causes rejects THIS call instead of racing our result.
        await new Promise((r) => setImmediate(r));
        return { ok: true, chunks, computeMs, ...(badSample >= 0 ? { badSample } : {}), ...info() };
      }
      case 'update': {
        const t0 = performance.now();
        const chunks = runUpdate(task);
        return { ok: true, chunks, computeMs: performance.now() - t0, ...info() };
      }
    }
  } catch (e) {
    if (task.type === 'chunks' || task.type === 'update') Atomics.store(regionView(task.regions.ctl, 'i32', 'ctl'), CTL.ABORT, 1);
    return { ok: false, error: toRemote(e, task.type === 'chunks' ? task.label : task.type === 'update' ? 'step' : 'model'), ...info() };
  }
}
