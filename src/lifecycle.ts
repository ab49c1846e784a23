/**
 * A pool's call queue and lifecycle. Calls run one at a time, in the order they were made (they share
 * the arena). Each call can be stopped — by its own `AbortSignal`, by the pool's `callTimeoutMs`, or by
 * `close()` — and `close()` drains the queue, or with `force` rejects it, within a bounded time.
 *
 * Stopping a running call aborts its {@link CallControl.signal}: the dispatcher passes that signal to
 * piscina, which terminates the workers still running the call's tasks and starts replacements. The
 * call itself never commits after that, so parameters and optimizer state stay as they were.
 */
import { setMaxListeners } from 'node:events';
import { errors, GradPoolError } from './errors.js';
import { checkOptionsObject } from './validate.js';

/**
 * Options of {@link GradPool.close}.
 *
 * @example
 * ```ts
 * const pending = pool.step(x, y, { optimizer });
 * await pool.close();                               // the queued step runs to its end first
 * await other.close({ force: true, graceMs: 100 }); // queued calls rejected; a stuck call ended after 100 ms
 * ```
 */
export interface CloseOptions {
  /**
   * `false` (default): queued calls still run, in order, then the workers stop. `true`: queued calls
   * are rejected at once (`ERR_POOL_CLOSED`), and a running call gets `graceMs` to finish.
   */
  force?: boolean;
  /**
   * How long close waits, in ms, before it terminates the workers of the call still running (which
   * rejects with `ERR_ABORTED`) and rejects the calls still queued. Default: 30,000 for a plain close
   * (the whole drain), 1,000 with `force` (the running call). `Infinity` waits as long as calls take.
   */
  graceMs?: number;
}

/** Default grace periods of {@link CloseOptions.graceMs}. */
export const CLOSE_GRACE_MS = { drain: 30_000, force: 1_000 } as const;

/** Why a call was stopped while it ran. */
export type StopReason = { kind: 'signal' } | { kind: 'timeout'; ms: number } | { kind: 'close'; by: string };

/**
 * One running call's stop switch. `signal` goes to piscina with each of the call's tasks; `error()` is
 * what the call rejects with once it was stopped.
 */
export class CallControl {
  private readonly controller = new AbortController();
  /** Why the call was stopped, or null while it may run on. */
  stopped: StopReason | null = null;

  constructor(readonly op: string) {
    // piscina listens once per task, and a call runs one task per worker at once: with more than 10
    // threads Node would warn of a listener leak that is none. Each listener goes when its task ends.
    setMaxListeners(0, this.controller.signal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops the call (the first reason wins: a timeout after an abort does not rename it). */
  stop(why: StopReason): void {
    if (this.stopped) return;
    this.stopped = why;
    this.controller.abort(why);
  }

  /** The error of a stopped call. */
  error(): GradPoolError {
    const why = this.stopped;
    if (!why) throw new Error('lifecycle: error() of a call that was not stopped');
    if (why.kind === 'timeout') return errors.timedOut(this.op, why.ms);
    return errors.aborted(this.op, why.kind === 'signal' ? 'its signal' : why.by);
  }
}

/** A per-call `signal` option, checked like every other option. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw errors.type('options.signal', 'an AbortSignal (e.g. new AbortController().signal)', signal);
  return signal;
}

/** Validates {@link CloseOptions}, filling in the default grace period. */
function closeOptions(o: CloseOptions): { force: boolean; graceMs: number } {
  checkOptionsObject(o, ['force', 'graceMs']);
  if (o.force !== undefined && typeof o.force !== 'boolean') throw errors.invalidOption('options.force', 'true or false', o.force);
  const force = o.force ?? false;
  const graceMs = o.graceMs ?? (force ? CLOSE_GRACE_MS.force : CLOSE_GRACE_MS.drain);
  if (typeof graceMs !== 'number' || Number.isNaN(graceMs) || graceMs < 0) throw errors.invalidOption('options.graceMs', 'a number of milliseconds >= 0 (or Infinity)', graceMs);
  return { force, graceMs };
}

interface Waiting {
  op: string;
  /** Rejects the queued call; it will be skipped when its turn comes. */
  reject(e: GradPoolError): void;
}

/** setTimeout for a finite delay only: Node fires longer delays (and Infinity) after 1 ms. */
function timer(ms: number, fn: () => void): NodeJS.Timeout | undefined {
  return Number.isFinite(ms) && ms <= 2 ** 31 - 1 ? setTimeout(fn, ms) : undefined;
}

/** The call queue of one pool; see the file comment. */
export class CallQueue {
  private tail: Promise<void> = Promise.resolve();
  /** Calls queued and not yet started. */
  private readonly waiting = new Set<Waiting>();
  private running: CallControl | null = null;
  private closing: Promise<void> | null = null;

  /** @param timeoutMs the pool's `callTimeoutMs`: each call's limit from the moment it starts running. */
  constructor(private readonly timeoutMs: number | undefined) {}

  /** True once close() was called: new calls are refused. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Runs `fn` after every earlier call has settled. Rejects at once if `signal` has already fired;
   * if it fires while the call waits, the call is dropped from the queue; while it runs, `fn`'s
   * {@link CallControl} is stopped.
   */
  enqueue<T>(op: string, signal: AbortSignal | undefined, fn: (call: CallControl) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(errors.closed(op));
    if (signal?.aborted) return Promise.reject(errors.abortedBeforeStart(op));
    const call = new CallControl(op);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => (this.waiting.has(entry) ? entry.reject(errors.abortedBeforeStart(op)) : call.stop({ kind: 'signal' }));
      const entry: Waiting = {
        op,
        reject: (e) => {
          this.waiting.delete(entry);
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.waiting.add(entry);
      signal?.addEventListener('abort', onAbort);
      this.tail = this.tail.then(async () => {
        if (!this.waiting.delete(entry)) return; // rejected while it waited
        this.running = call;
        const t = this.timeoutMs === undefined ? undefined : timer(this.timeoutMs, () => call.stop({ kind: 'timeout', ms: this.timeoutMs! }));
        try {
          resolve(await fn(call));
        } catch (e) {
          reject(e);
        } finally {
          clearTimeout(t);
          signal?.removeEventListener('abort', onAbort);
          this.running = null;
        }
      });
    });
  }

  /**
   * Refuses new calls, waits for the queue (see {@link CloseOptions}), then runs `stopWorkers`.
   * Calling it again while it drains applies the new options too (so `close({ force: true })`
   * escalates a draining `close()`), and every caller gets the same promise.
   */
  close(options: CloseOptions, stopWorkers: () => Promise<void>): Promise<void> {
    const { force, graceMs } = closeOptions(options);
    const name = force ? 'close({ force: true })' : 'close()';
    const rejectWaiting = (by: string) => [...this.waiting].forEach((w) => w.reject(errors.closedBeforeStart(w.op, by)));
    if (force) rejectWaiting(name);
    const deadline = timer(graceMs, () => {
      const by = `${name} after its grace period of ${graceMs} ms`;
      rejectWaiting(by);
      this.running?.stop({ kind: 'close', by });
    });
    this.closing ??= this.tail.then(stopWorkers);
    return this.closing.finally(() => clearTimeout(deadline));
  }
}

/**
 * Options every call takes. `signal` (an `AbortSignal`, piscina's convention) stops the call: a call
 * still queued is dropped; a running one has its workers terminated and replaced, and rejects with
 * `ERR_ABORTED`, parameters and optimizer state unchanged.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 5_000);
 * await pool.perSampleGrads(x, y, { signal: ac.signal }); // rejects with ERR_ABORTED after 5 s
 * ```
 */
export interface CallOptions {
  signal?: AbortSignal;
}
