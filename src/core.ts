import { Arena } from './arena.js';
import { Dispatcher, type ParallelResult } from './dispatch.js';
import { errors } from './errors.js';
import { readBatch, type BatchInput, type NDArray } from './input.js';
import type { ModelDef } from './model/define.js';
import { defaultChunkSize, type ResolvedOptions } from './options.js';
import { namedArrays, ParamStore } from './params.js';
import { CTL, type ChunkOp, type ChunkTask } from './protocol.js';

/**
 * Where the time of the last call went, in ms. `computeMs` is the busiest worker's time in the
 * executor (or optimizer); `dispatchMs` is the rest of the parallel phases (messaging, waking
 * workers, imbalance); `reduceMs` and `optimizerMs` are coordinator-side work.
 */
export interface CallTimings {
  op: string;
  totalMs: number;
  dispatchMs: number;
  computeMs: number;
  reduceMs: number;
  optimizerMs: number;
}

type TimingField = 'dispatchMs' | 'computeMs' | 'reduceMs' | 'optimizerMs';

/**
 * The machinery under {@link GradPool}: shared memory, parameters, the dispatcher, the call queue and
 * the timings. Inference (pool.ts) and training (train/*.ts) are written on top of these few methods.
 */
export class PoolCore {
  readonly arena = new Arena();
  readonly params: ParamStore;
  /** Calls run one at a time, in order: they share the arena. */
  private queue: Promise<unknown> = Promise.resolve();
  protected closed = false;
  protected timings: CallTimings | null = null;
  private pending: CallTimings | null = null;

  constructor(
    readonly model: ModelDef,
    readonly options: ResolvedOptions,
    readonly dispatcher: Dispatcher,
    /** Shape of one sample's forward output. */
    readonly outputShape: number[],
    initial: Float32Array,
  ) {
    this.params = new ParamStore(this.arena, model.layout, initial);
    this.arena.ensure('ctl', 'i32', CTL.LENGTH);
  }

  /** Runs `fn` after every earlier call has finished; records its timings. */
  serial<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.closed) throw errors.closed(op);
      this.params.flush();
      const t0 = performance.now();
      this.pending = { op, totalMs: 0, dispatchMs: 0, computeMs: 0, reduceMs: 0, optimizerMs: 0 };
      const out = await fn();
      this.timings = { ...this.pending, totalMs: performance.now() - t0 };
      return out;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Timings of the last completed call. */
  get lastCall(): CallTimings | null {
    return this.timings;
  }

  /** Waits for queued calls, then stops the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.dispatcher.close();
  }

  assertOpen(op: string): void {
    if (this.closed) throw errors.closed(op);
  }

  /** Adds `ms` to a field of the current call's timings. */
  time(field: TimingField, ms: number): void {
    if (this.pending) this.pending[field] += ms;
  }

  /** Records a parallel phase's figures in the current call's timings. */
  timeParallel(r: ParallelResult): void {
    this.time('computeMs', r.computeMs);
    this.time('dispatchMs', r.wallMs - r.computeMs);
  }

  /** Reads and checks x and y, including that their batch sizes agree. */
  readXY(op: string, x: BatchInput, y: BatchInput) {
    this.assertOpen(op);
    const xs = readBatch('x', x, this.model.inputShape);
    const ys = readBatch('y', y, this.model.targetShape);
    if (ys.batch !== xs.batch) throw errors.batchMismatch('y', xs.batch, 'x', ys.batch);
    return [xs, ys] as const;
  }

  /** Splits a flat parameter-sized vector into named, shaped copies. */
  split(flat: Float32Array): Record<string, NDArray> {
    return namedArrays(this.model.layout, flat);
  }

  /** Copies x (and y) into the shared regions, unless the caller filled our own buffers. */
  stage(B: number, x: Float32Array, y?: Float32Array): void {
    this.copyIn('x', x, B * this.model.inputSize);
    if (y) this.copyIn('y', y, B * this.model.targetSize);
    this.arena.ensure('loss', 'f32', B);
    this.arena.ensure('norms', 'f32', B);
  }

  private copyIn(name: string, src: Float32Array, n: number): void {
    if (this.arena.has(name) && src.buffer === this.arena.f32(name).buffer && src.byteOffset === 0) return;
    this.arena.ensure(name, 'f32', n);
    this.arena.f32(name, n).set(src.subarray(0, n));
  }

  /** A zero-copy view of region `name` for `batch` samples (see GradPool.inputBuffer). */
  buffer(name: string, batch: number, sampleSize: number): Float32Array {
    if (!Number.isInteger(batch) || batch < 0) throw errors.invalidOption('batch', 'a non-negative integer', batch);
    this.arena.ensure(name, 'f32', batch * sampleSize, true);
    return this.arena.f32(name, batch * sampleSize);
  }

  /** Samples per chunk for a batch of B (fixed by the user, or chosen from B and the model; never from threads). */
  chunkSizeFor(B: number): number {
    return this.options.chunkSize || defaultChunkSize(this.options.executor as 'vectorized' | 'loop', this.model.layout.total, B);
  }

  /** Number of chunks a batch of B is cut into. */
  numChunks(B: number): number {
    return Math.ceil(B / this.chunkSizeFor(B));
  }

  /** Runs a chunk op over the staged batch of B samples. */
  async run(op: ChunkOp, B: number, label: string, extra: Partial<Pick<ChunkTask, 'outputSize' | 'clip'>> = {}): Promise<ParallelResult> {
    const numChunks = this.numChunks(B);
    if (op === 'sumGrads') this.arena.ensure('partial', 'f64', numChunks * this.model.layout.total);
    const task: ChunkTask = {
      type: 'chunks',
      op,
      label,
      runtime: this.dispatcher.runtime,
      regions: this.arena.handles(),
      paramsRegion: this.params.region,
      paramsVersion: this.params.version,
      batch: B,
      chunkSize: this.chunkSizeFor(B),
      outputSize: extra.outputSize ?? 0,
      outputShape: this.outputShape,
      ...(extra.clip !== undefined ? { clip: extra.clip } : {}),
    };
    const r = await this.dispatcher.runClaimed(task, this.arena, numChunks, label);
    this.timeParallel(r);
    return r;
  }
}
