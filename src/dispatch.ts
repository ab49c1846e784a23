import { once } from 'node:events';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { errors, GradPoolError } from './errors.js';
import type { CallControl } from './lifecycle.js';
import { abortClaims, CTL } from './shared/ctl.js';
import { type ChunkTask, type LoadSpec, type OkResult, type Task, type TaskResult, type UpdateTask, type VmapTask, type WarmupTask } from './shared/protocol.js';

/** What a parallel phase reports back. */
export interface ParallelResult {
  wallMs: number;
  /** The busiest worker's compute time. */
  computeMs: number;
  /** Lowest sample index with a non-finite loss or gradient, or -1. */
  badSample: number;
  /** Every task's result (all succeeded, or this threw). */
  results: OkResult[];
}

/** Per-worker figures from the last task each worker ran. */
export interface WorkerStats {
  threadId: number;
  numTensors: number;
  backend: string;
  /** The worker's WebAssembly memory in bytes (wasm backend; it only grows): its chunks' working set. */
  wasmHeapBytes?: number;
}

/** The built worker entry: workers must be compiled JavaScript (piscina cannot load .ts on Node 20). */
const WORKER_FILE = new URL('../workers/worker.js', import.meta.url).href;

/**
 * Owns the piscina pool and turns one gradpool call into one task per worker. It knows nothing of
 * models or maths: it sends region handles, waits for every task (so no worker is still writing when
 * a call returns), and maps failures to gradpool errors.
 */
export class Dispatcher {
  readonly piscina: Piscina;
  private stats = new Map<number, WorkerStats>();

  constructor(
    readonly threads: number,
    resourceLimits?: ResourceLimits,
  ) {
    this.piscina = new Piscina({
      filename: WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 2 ** 31 - 1, // workers live as long as the pool: they cache backend, model and params
      concurrentTasksPerWorker: 1,
      ...(resourceLimits ? { resourceLimits } : {}),
    });
    // A worker that dies while idle (e.g. a late async throw from model code) is replaced by piscina;
    // without a listener, piscina's 'error' event would take the whole process down.
    this.piscina.on('error', () => {
      this.idleCrashes++;
    });
  }

  /** Workers that died between calls (they were replaced; no call was affected). */
  idleCrashes = 0;

  /**
   * The running call's stop switch (set by the call queue for the call's lifetime): its signal goes
   * with every task, so piscina terminates the workers still running them when the call is stopped.
   */
  call: CallControl | null = null;

  /** What every worker loads (from the first warmup), to load replacements of terminated workers. */
  private load: LoadSpec | null = null;

  /** Worker warnings already printed: each once per pool, however many workers raise it. */
  private readonly warned = new Set<string>();

  private record(r: TaskResult): void {
    this.stats.set(r.threadId, { threadId: r.threadId, numTensors: r.numTensors, backend: r.backend, ...(r.wasmHeapBytes !== undefined ? { wasmHeapBytes: r.wasmHeapBytes } : {}) });
    for (const m of r.warnings ?? []) {
      if (this.warned.has(m)) continue;
      this.warned.add(m);
      process.emitWarning(m, 'GradPoolWarning');
    }
  }

  /** Runs one task on some worker and returns its result, or throws its error. */
  async runOne(task: Task, op: string): Promise<TaskResult & { ok: true }> {
    let r: TaskResult;
    try {
      r = (await this.piscina.run(task)) as TaskResult;
    } catch (e) {
      throw errors.workerCrashed(op, e);
    }
    this.record(r);
    if (!r.ok) throw new GradPoolError(r.error.code, r.error.message);
    return r;
  }

  /**
   * Loads backend and model on every worker before the first call (one task each, via a barrier);
   * with `prime`, each worker also runs the pool's executor a few times (workers/prime.ts).
   */
  async warmup(load: LoadSpec, prime?: WarmupTask['prime']): Promise<void> {
    this.load = load;
    const barrier = new SharedArrayBuffer(4);
    const task: WarmupTask = { type: 'warmup', load, barrier, parties: this.threads, ...(prime ? { prime } : {}) };
    await Promise.all(Array.from({ length: this.threads }, () => this.runOne(task, 'create')));
  }

  /**
   * Runs a work-claiming task (chunks of the batch, or slices of the parameters) on
   * min(threads, units) workers; each claims units from the shared counter `ctl` (the task's ctl
   * region) until none are left. Resolves only when EVERY task has settled, so no worker is still
   * writing when a call returns. `feed`, if given, runs once the tasks are posted, while the threads
   * wake: it stages the inputs of a task marked `staging` (src/staging.ts).
   */
  async runClaimed(task: ChunkTask | UpdateTask | VmapTask, ctl: Int32Array, units: number, publicOp: string, nonFinite?: (sample: number) => GradPoolError, feed?: (ctl: Int32Array) => void): Promise<ParallelResult> {
    const t0 = performance.now();
    for (const field of [CTL.CLAIM, CTL.ABORT, CTL.ARRIVED, CTL.BAD, CTL.UPDATE_CLAIM, CTL.STAGED]) Atomics.store(ctl, field, 0);
    const call = this.call;
    const workers = new Set(this.piscina.threads);
    const options = call ? { signal: call.signal } : {};
    // A task that rejects (its worker died, or the call was stopped) cannot report: stop the others'
    // claims and wake any waiting at a fused update's barrier for it.
    const run = () => (this.piscina.run(task, options) as Promise<TaskResult>).catch((e: unknown) => {
      abortClaims(ctl);
      throw e;
    });
    const posted = Array.from({ length: this.parties(units) }, run);
    let unfed: { error: unknown } | null = null;
    try {
      feed?.(ctl);
    } catch (error) {
      abortClaims(ctl); // the workers waiting for inputs stop; the call fails with the feed's error
      unfed = { error };
    }
    const settled = await Promise.allSettled(posted);
    for (const r of settled) if (r.status === 'fulfilled') this.record(r.value);
    if (unfed) throw unfed.error;
    if (call?.stopped && settled.some((r) => r.status === 'rejected')) {
      // piscina rejects an aborted task at once and terminates its worker without waiting: wait for
      // the thread to be gone, so nothing is still writing into the arena when the call rejects.
      await exited([...workers].filter((w) => !this.piscina.threads.includes(w)));
      // The replacements start empty (a thread start and a tfjs import, about 1-2 s here): load them
      // now, inside the stopped call, so the next call does not pay for it — with callTimeoutMs it
      // could time out on that alone, and again after its own replacement. A pool that is closing
      // needs no replacements. A replacement that cannot load fails the next call, naming why.
      if (call.stopped.kind !== 'close' && this.load) await this.warmup(this.load).catch(() => undefined);
      throw call.error();
    }
    const { computeMs, badSample } = mergeClaimed(settled, units, publicOp, nonFinite);
    return { wallMs: performance.now() - t0, computeMs, badSample, results: settled.map((s) => (s as PromiseFulfilledResult<OkResult>).value) };
  }

  /** How many tasks a work-claiming phase of `units` units runs: one per worker, at most one per unit. */
  parties(units: number): number {
    return Math.min(this.threads, units);
  }

  /** The last figures reported by each live worker, ordered by thread id. */
  workerStats(): WorkerStats[] {
    const live = new Set(this.piscina.threads.map((t) => t.threadId));
    return [...this.stats.values()].filter((s) => live.has(s.threadId)).sort((a, b) => a.threadId - b.threadId);
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}

/** Resolves when every one of `workers` has exited (threadId is -1 once a thread is gone). */
async function exited(workers: Worker[]): Promise<void> {
  await Promise.all(workers.filter((w) => w.threadId !== -1).map((w) => once(w, 'exit')));
}

/**
 * Combines the results of one work-claiming phase, or throws its error. The error is chosen by what
 * failed, never by which worker happened to report first: the failure at the lowest sample — a thrown
 * one, or, when `nonFinite` makes non-finite samples errors, a non-finite one — else a crash, else the
 * first failure in task order. Chunks are claimed in order and a claimed chunk runs to its end, so
 * every chunk before the lowest failing one ran: that sample is the batch's first failing sample,
 * whatever the thread count. A crash ranks below a sample's failure because whether a crash after
 * the first failing sample happens at all depends on timing (the other workers stop claiming).
 */
export function mergeClaimed(settled: PromiseSettledResult<TaskResult>[], units: number, publicOp: string, nonFinite?: (sample: number) => GradPoolError): { computeMs: number; badSample: number } {
  const results = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let badSample = -1;
  for (const r of results) {
    const b = r.ok ? r.badSample : r.error.badSample; // a failed task reports what it had found non-finite before
    if (b !== undefined && b >= 0 && (badSample < 0 || b < badSample)) badSample = b;
  }
  const failures = results.flatMap((r) => (r.ok ? [] : [r.error]));
  const first = failures.length > 0 ? failures.reduce((a, b) => ((b.sample ?? Infinity) < (a.sample ?? Infinity) ? b : a)) : undefined;
  if (nonFinite && badSample >= 0 && badSample < (first?.sample ?? Infinity)) throw nonFinite(badSample);
  if (first?.sample !== undefined) throw new GradPoolError(first.code, first.message, { sample: first.sample });
  const crash = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (crash) throw errors.workerCrashed(publicOp, crash.reason);
  if (first) throw new GradPoolError(first.code, first.message);
  let done = 0;
  let computeMs = 0;
  for (const r of results as OkResult[]) {
    done += r.chunks;
    computeMs = Math.max(computeMs, r.computeMs ?? 0);
  }
  if (done !== units) throw new GradPoolError('ERR_INTERNAL', `${publicOp}: ${done} of ${units} work units were computed`);
  return { computeMs, badSample };
}
