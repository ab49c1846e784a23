/**
 * Virtual batches (Opacus's `BatchMemoryManager`): one logical batch run as several physical calls
 * whose clipped gradient sums are folded into a running float64 sum, then ONE step (noise once,
 * divide, optimizer). Each call stages only its own physical batch in shared memory.
 *
 * Why the bits equal one `pool.step` on the concatenated batch: a step sums its chunks' partial rows
 * in chunk order from 0 (shared/reduce.ts); folding each physical batch's rows into the running sum,
 * batch after batch, adds the same numbers in the same order whenever every physical batch but the
 * last is a multiple of the chunk size (so its chunks are the logical batch's). The losses are summed
 * in sample order the same way, every physical batch draws its random ops with the logical batch's
 * one call number and its samples' logical indices, and the step's tail is the step's own
 * (train/step.ts stepUpdate) on the sum written into one partial row (0 + sum is sum exactly).
 */
import type { PoolCore } from '../core.js';
import { errors, GradPoolError, raw } from '../errors.js';
import type { BatchInput } from '../input.js';
import { checkSignal, type CallOptions } from '../lifecycle.js';
import { ChunkPlan } from '../shared/chunks.js';
import { countAbove, foldPartials, orderedSum } from '../shared/reduce.js';
import { checkOptionsObject, isPosInt } from '../validate.js';
import type { ClipSpec } from './clipping.js';
import { stepUpdate, checkStepBatch, stepClip, stepSetup, validateStepOptions, type StepOptions, type StepResult } from './step.js';

/** What `pool.accumulate` takes: a step's options (without `signal`: each call has its own), and the chunk size. */
export interface AccumulateOptions extends Omit<StepOptions, 'signal'> {
  /**
   * Samples per chunk of every physical batch. Default: the pool's `chunkSize` option, else the
   * default for the first non-empty physical batch. For bits identical to `pool.step` on the whole
   * logical batch of B samples, pass `pool.chunkSizeFor(B)` and make every physical batch but the last
   * a multiple of it.
   */
  chunkSize?: number;
  /** How its calls name themselves in errors: set only by `fit` (the key is not exported from the package). */
  [ERRORS_AS]?: AccumulatorLabels;
}

/** Where an accumulator stands, as `add` returns it. */
export interface AccumulatorProgress {
  /** Physical batches added so far. */
  batches: number;
  /** Samples added so far (the logical batch's size once every physical batch is in). */
  samples: number;
}

/**
 * The options key under which `fit` makes its accumulators' errors read as its steps'. A symbol, so
 * it is no option a user can spell, nor one that option validation (string keys) sees.
 */
export const ERRORS_AS = Symbol('accumulator errors as');

/** How an accumulator's calls name themselves in errors (fit's accumulators speak as its steps). */
export interface AccumulatorLabels {
  add: string;
  step: string;
  /** Appended to the error of a failed add. */
  afterFailedAdd: string;
}

const PUBLIC: AccumulatorLabels = { add: 'accumulator.add', step: 'accumulator.step', afterFailedAdd: '; the batch was not added: the accumulator is unchanged and still open' };
/** Labels for `fit`'s accumulators: its errors then read exactly as a step's (fit discards the accumulator on failure). */
export const AS_FIT_STEP: AccumulatorLabels = { add: 'step', step: 'step', afterFailedAdd: '' };

/** The update reduces one partial row: the accumulated sum. */
const ONE_ROW = new ChunkPlan(1, 1);
const KNOWN = ['optimizer', 'dp', 'nonFinite', 'update', 'chunkSize'];
/** One running sum per pool, reused (a pool has at most one open accumulator): fresh P-sized memory per logical batch would cost page faults. */
const sums = new WeakMap<PoolCore, Float64Array>();
let opened = 0;

/**
 * A logical batch being accumulated over several calls; made by `pool.accumulate()`. Nothing is
 * applied until {@link step}. While it is open the pool refuses `step`, `fit`, `setParams`,
 * `setOptimizerState` and a second accumulator (naming this one); other calls (`predict`,
 * `evaluate`, `gradient`, …) may run between its adds.
 *
 * @example
 * ```ts
 * const acc = pool.accumulate({ optimizer, dp: { maxGradNorm: 1, noiseMultiplier: 1.1, expectedBatchSize: 1024 }, chunkSize: pool.chunkSizeFor(1024) });
 * for (let i = 0; i < 1024; i += 256) await acc.add(x.subarray(i * 784, (i + 256) * 784), y.subarray(i * 10, (i + 256) * 10));
 * const { loss, gradNorm, step } = await acc.step();   // = pool.step on all 1024 samples, bit for bit
 * ```
 */
export class Accumulator {
  /** Names it in errors (`accumulator 3`): counted per process. */
  readonly id = ++opened;
  private readonly sum: Float64Array;
  private readonly clip: ClipSpec | undefined;
  private chunkSize: number | undefined;
  /** The logical batch's one call number (keys its random draws), taken by its first non-empty add. */
  private randomCall: number | undefined;
  private lossSum = 0;
  private clipped = 0;
  private badSample = -1;
  private added = 0;
  private batches = 0;
  private ended: 'stepped' | 'discarded' | null = null;
  private readonly labels: AccumulatorLabels;

  /** Use `pool.accumulate()`. Validates everything a step would, before anything is open. */
  constructor(
    private readonly core: PoolCore,
    private readonly o: AccumulateOptions,
  ) {
    checkOptionsObject(o, KNOWN, 'an object with an optimizer');
    const { chunkSize, ...step } = o;
    validateStepOptions(step);
    if (chunkSize !== undefined && !isPosInt(chunkSize)) throw errors.invalidOption('chunkSize', 'a positive integer', chunkSize);
    core.assertOpen('accumulate');
    core.assertNoAccumulator('accumulate');
    this.chunkSize = chunkSize;
    this.labels = o[ERRORS_AS] ?? PUBLIC;
    this.clip = stepClip(core, o.dp);
    const sum = sums.get(core) ?? new Float64Array(core.stored);
    sums.set(core, sum.fill(0));
    this.sum = sum;
    core.accumulator = this;
  }

  /** Whether it still takes adds (not yet stepped or discarded). */
  get open(): boolean {
    return this.ended === null;
  }

  /** How far it got: physical batches and samples added. */
  get progress(): AccumulatorProgress {
    return { batches: this.batches, samples: this.added };
  }

  /** How errors name it: `accumulator 3 (2 physical batches, 64 samples added)`. */
  describe(): string {
    return `accumulator ${this.id} (${this.batches} physical batch${this.batches === 1 ? '' : 'es'}, ${this.added} sample${this.added === 1 ? '' : 's'} added)`;
  }

  /**
   * Runs one physical batch (its chunks, clipped with `dp`) and folds its sums into the accumulator,
   * its samples numbered after those already added. A failed add (a sample that throws or, under
   * `nonFinite: 'throw'`, is non-finite; an abort; a crash) adds nothing: the accumulator and the pool
   * are as before and it stays open (its error says so). Under `'skip-step'` a non-finite sample is
   * noted and the step will be skipped.
   *
   * @example
   * ```ts
   * await acc.add(x1, y1);                    // samples 0 … B1-1 of the logical batch
   * const { samples } = await acc.add(x2, y2); // samples B1 … B1+B2-1
   * ```
   */
  async add(x: BatchInput, y: BatchInput, options: CallOptions = {}): Promise<AccumulatorProgress> {
    const op = this.labels.add;
    this.assertLive(op);
    checkOptionsObject(options, ['signal']);
    const [xs, ys] = this.core.readXY(op, x, y);
    return this.core.serial(op, async () => {
      this.assertLive(op); // stepped or discarded while this add waited in the queue
      if (xs.batch > 0) await this.fold(op, xs.data, ys.data, xs.batch);
      this.batches++;
      return this.progress;
    }, checkSignal(options.signal));
  }

  /**
   * The logical batch's one step: noise once (with `dp`), the sum divided by `dp.expectedBatchSize`
   * or the samples added, the optimizer update, commit. Returns what `pool.step` would (`loss`: the
   * mean over every sample added). It ends the accumulator when it commits or skips; a step that
   * fails (an overflow under `'throw'`, a learning-rate schedule that throws, an abort) changes
   * nothing and leaves it open, to step again or discard.
   *
   * @example
   * ```ts
   * const r = await acc.step();   // { loss, gradNorm, lr, batch, step, skipped, clippedFraction? }
   * ```
   */
  async step(options: CallOptions = {}): Promise<StepResult> {
    const op = this.labels.step;
    this.assertLive(op);
    checkOptionsObject(options, ['signal']);
    const core = this.core;
    return core.serial(op, async () => {
      this.assertLive(op);
      const B = this.added;
      if (!this.o.dp && B === 0) throw errors.invalidOption('accumulator', 'at least one sample added before step() (an empty batch is only meaningful with dp)', raw(this.describe()));
      checkStepBatch(this.o.dp, B);
      const setup = stepSetup(core, this.o, B, op);
      core.partials(ONE_ROW).set(this.sum);
      const r = await stepUpdate(core, { lossSum: this.lossSum, clipped: this.clipped, badSample: this.badSample, plan: ONE_ROW }, setup, this.o, B, op);
      if (!r.skipped) core.commit();
      this.end('stepped');
      return r;
    }, checkSignal(options.signal));
  }

  /**
   * Drops what was accumulated without applying anything, and lets the pool step again. Discarding
   * an accumulator that already ended does nothing (so it can sit in a `finally`).
   *
   * @example
   * ```ts
   * try { for (const b of batches) await acc.add(b.x, b.y); await acc.step(); } finally { acc.discard(); }
   * ```
   */
  discard(): void {
    if (this.ended === null) this.end('discarded');
  }

  private end(how: 'stepped' | 'discarded'): void {
    this.ended = how;
    if (this.core.accumulator === this) this.core.accumulator = null;
  }

  private assertLive(op: string): void {
    this.core.assertOpen(op);
    if (this.ended) throw errors.accumulatorClosed(op, `${this.describe()}, already ${this.ended}`);
  }

  /** sumGrads over one physical batch of B samples, folded in; nothing changes if it fails. */
  private async fold(op: string, x: Float32Array, y: Float32Array, B: number): Promise<void> {
    const core = this.core;
    const first = this.added;
    const plan = new ChunkPlan(B, (this.chunkSize ??= core.plan(B).chunkSize));
    const randomCall = (this.randomCall ??= core.randomCalls++);
    const nonFinite = (this.o.nonFinite ?? 'throw') === 'throw' ? (s: number) => errors.nonFiniteGradient(op, s) : undefined;
    let r;
    try {
      r = await core.run('sumGrads', plan, { x, y, clip: this.clip?.maxGradNorm, ghost: this.clip?.ghost, nonFinite, randomCall, randomBase: first }, op);
    } catch (e) {
      throw this.failedAdd(e, first);
    }
    this.assertLive(op); // discarded while this add ran: a newer accumulator may hold the running sum now
    foldPartials(r.partial, plan.count, core.stored, this.sum);
    this.lossSum = orderedSum(r.loss, B, this.lossSum);
    if (this.clip) this.clipped += countAbove(r.norms, this.clip.maxGradNorm);
    if (r.badSample >= 0 && this.badSample < 0) this.badSample = first + r.badSample;
    this.added += B;
  }

  /** A failed add's error, its sample renumbered from the physical batch's to the logical batch's, saying the accumulator is unchanged. */
  private failedAdd(e: unknown, first: number): unknown {
    if (!(e instanceof GradPoolError)) return e;
    const sample = e.sample === undefined ? undefined : e.sample + first;
    const renumbered = sample === undefined ? e.message : e.message.replace(new RegExp(`\\bsample ${e.sample}\\b`), `sample ${sample}`);
    const message = renumbered + this.labels.afterFailedAdd;
    if (message === e.message) return e;
    return new GradPoolError(e.code, message, { cause: e, ...(sample === undefined ? {} : { sample }) });
  }
}
