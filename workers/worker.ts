/**
 * The piscina worker entry. Each worker keeps, for its whole life: its tfjs backend, the loaded model,
 * the executor, and the parameters as tensors (re-uploaded only when the parameter version changes).
 * Errors that belong to the call (bad sample, model that fails to load) are returned as data so their
 * code and message survive the thread boundary; only a real crash rejects the piscina task.
 */
import { threadId } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { errors, GradPoolError } from '../src/errors.js';
import type { ModelDef } from '../src/model/define.js';
import { loadModelFor } from '../src/model/load.js';
import { withTraining } from '../src/model/mode.js';
import type { MemberChunkTask } from '../src/shared/members.js';
import { abortClaims, CTL } from '../src/shared/ctl.js';
import { REGION, regionView, type ExecutorName, type LoadSpec, type RemoteError, type Task, type TaskResult, type WorkerInfo } from '../src/shared/protocol.js';
import { initBackend } from './backend.js';
import { runChunks } from './chunks.js';
import { arriveAndWait } from './claim.js';
import { runUpdate } from './update.js';
import { describeModel } from './describe.js';
import { primeExecutor } from './prime.js';
import { withRandomness } from '../src/shared/random/scope.js';
import { createExecutor } from './executors/index.js';
import { SampleError, type Executor } from './executors/types.js';
import { createVectorizedExecutor } from './executors/vectorized/executor.js';
import { resetWarnings } from '../src/shared/batching/errors.js';
import { setReplay } from './executors/vectorized/replay.js';
import { runVmapTask } from './vmap.js';

/** This worker's model and the executors made for it, by name (a pool uses one; the probe another). */
let runtime: { model: string; value: ModelDef; executors: Map<ExecutorName, Executor> } | null = null;
let paramCache: { key: string; tensors: tf.Tensor[][] } | null = null;

/** Selects the backend and loads the model (once per model). */
async function load(spec: LoadSpec): Promise<NonNullable<typeof runtime>> {
  await initBackend(spec.backend, spec.backendModule);
  if (runtime?.model !== spec.model) runtime = { model: spec.model, value: await loadModelFor(spec), executors: new Map() };
  return runtime;
}

function executorFor(rt: NonNullable<typeof runtime>, name: ExecutorName, backend: string): Executor {
  let ex = rt.executors.get(name);
  if (!ex) rt.executors.set(name, (ex = createExecutor(name, backend)));
  return ex;
}

/**
 * The parameters as tensors, one set per member (one for a single pool; src/shared/members.ts),
 * rebuilt only when the coordinator bumped the version or swapped regions.
 */
function paramTensors(task: MemberChunkTask, model: ModelDef): tf.Tensor[][] {
  const K = task.members?.count ?? 1;
  const key = `${task.paramsRegion}@${task.paramsVersion}x${K}`;
  if (paramCache?.key === key) return paramCache.tensors;
  paramCache?.tensors.flat().forEach((t) => t.dispose());
  const flat = regionView(task.regions, { name: task.paramsRegion, kind: 'f32' });
  const { offsets, sizes, shapes, total } = model.layout;
  const tensors = Array.from({ length: K }, (_, k) => shapes.map((shape, p) => tf.tensor(flat.slice(k * total + offsets[p]!, k * total + offsets[p]! + sizes[p]!), shape)));
  paramCache = { key, tensors };
  return tensors;
}

/** Warnings of this thread's executors since the last result; the coordinator prints each once per pool. */
const warnings: string[] = [];
resetWarnings((m) => warnings.push(m));

/** The wasm backend's memory (the module's heap), or undefined on another backend. */
function wasmHeapBytes(): number | undefined {
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return heap?.buffer.byteLength;
}

function info(): WorkerInfo {
  const heap = wasmHeapBytes();
  return { threadId, numTensors: tf.memory().numTensors, backend: tf.getBackend(), ...(heap !== undefined ? { wasmHeapBytes: heap } : {}), ...(warnings.length > 0 ? { warnings: warnings.splice(0) } : {}) };
}

const fromError = (e: GradPoolError): RemoteError => ({ code: e.code, message: e.message });

function toRemote(e: unknown, op: string): RemoteError {
  if (e instanceof SampleError) return { ...fromError(errors.sampleFailed(op, e.sample, e.message)), sample: e.sample, ...(e.nonFiniteBefore !== undefined ? { badSample: e.nonFiniteBefore } : {}) };
  if (e instanceof GradPoolError) return fromError(e);
  const message = e instanceof Error ? e.message : String(e);
  if (message.startsWith('backend:')) return { code: 'ERR_BACKEND', message };
  return { code: 'ERR_WORKER', message };
}

export default async function run(task: Task): Promise<TaskResult> {
  try {
    const rt = await load(task.type === 'describe' || task.type === 'warmup' ? task.load : task.runtime);
    switch (task.type) {
      case 'describe': {
        // Not sticky: the probe must report this model's own failure, not fall back quietly.
        const probe = task.probeVectorized ? createVectorizedExecutor(task.load.backend, false) : null;
        // The probe checks gradients, so it runs the model as training does (a Layers model's Dropout on).
        // The probe's draws are keyed like a call's, without taking a call number (call 0 is arbitrary).
        const random = { mode: task.randomness ?? 'different', seed: 0, call: 0 } as const;
        return { ok: true, chunks: 0, ...withRandomness(random, () => withTraining(true, () => describeModel(rt.value, probe))), ...info() };
      }
      case 'warmup': {
        const { prime } = task;
        if (prime) {
          setReplay(prime.runtime.replay);
          primeExecutor(rt.value, executorFor(rt, prime.runtime.executor, prime.runtime.backend), prime.runtime, prime.gradients, prime.outputSize);
        }
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
        setReplay(task.runtime.replay);
        const executor = executorFor(rt, task.runtime.executor, task.runtime.backend);
        const { done: chunks, badSample } = runChunks(task, rt.value, executor, paramTensors(task, rt.value));
        let computeMs = performance.now() - t0;
        if (task.update) {
          const ctl = regionView(task.regions, REGION.ctl);
          // Time at the barrier is waiting, not computing: computeMs stays the worker's own work.
          if (arriveAndWait(ctl, task.update.parties, badSample >= 0)) {
            const t1 = performance.now();
            runUpdate({ ...task.update, regions: task.regions }, CTL.UPDATE_CLAIM);
            computeMs += performance.now() - t1;
          }
        }
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
      case 'vmap': {
        const t0 = performance.now();
        const { done, results } = await runVmapTask(task);
        return { ok: true, chunks: done, computeMs: performance.now() - t0, vmap: results, ...info() };
      }
    }
  } catch (e) {
    if (task.type === 'chunks' || task.type === 'update' || task.type === 'vmap') abortClaims(regionView(task.regions, REGION.ctl));
    const op = task.type === 'chunks' ? task.label : task.type === 'update' ? 'step' : task.type === 'vmap' ? 'vmap' : 'model';
    return { ok: false, error: toRemote(e, op), ...info() };
  }
}
