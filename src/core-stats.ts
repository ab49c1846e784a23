/**
 * What `PoolCore` (core.ts) reports of itself (`pool.stats()`), and where a call's time goes: the
 * core starts a record when a call begins to run, its phases add to it, and the finished record is
 * `stats().lastCall`. Apart from the core so the update phase (core-update.ts) adds to the same record.
 */
import type { ParallelResult, WorkerStats } from './dispatch.js';
import type { ClippingChoice } from './train/clipping.js';

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

/** What `PoolCore.stats` reports (`pool.stats()`). */
export interface CoreStats {
  workers: WorkerStats[];
  /** Timings of the last completed call (null before the first). */
  lastCall: CallTimings | null;
  /** Workers that died between calls and were replaced (no call was affected). */
  idleWorkerCrashes: number;
  sharedBytes: number;
  sharedAllocations: number;
  /** How the last DP step clipped, and why (absent before one). */
  dpClipping?: ClippingChoice;
}

type TimingField = 'dispatchMs' | 'computeMs' | 'reduceMs' | 'optimizerMs';

/** The timings of the call running (one at a time: calls are serial) and of the last one finished. */
export class CallTimer {
  /** Timings of the last completed call (null before the first). */
  last: CallTimings | null = null;
  private pending: CallTimings | null = null;
  private t0 = 0;

  /** Starts the record of call `op`, which begins to run now. */
  start(op: string): void {
    this.t0 = performance.now();
    this.pending = { op, totalMs: 0, dispatchMs: 0, computeMs: 0, reduceMs: 0, optimizerMs: 0 };
  }

  /** Ends the call started last: its record becomes {@link last}. */
  finish(): void {
    this.last = { ...this.pending!, totalMs: performance.now() - this.t0 };
  }

  /** Adds `ms` to a field of the current call's timings. */
  add(field: TimingField, ms: number): void {
    if (this.pending) this.pending[field] += ms;
  }

  /** Adds a parallel phase: the busiest worker's time to compute, the rest of its wall time to dispatch. */
  addParallel(r: ParallelResult): void {
    this.add('computeMs', r.computeMs);
    this.add('dispatchMs', r.wallMs - r.computeMs);
  }
}
