/**
 * What `fit` checks so that nothing passes silently: the resume state it is given, data that cannot
 * start over for a second epoch, and step failures re-worded for the dataset (the row, not the index
 * within a batch; what this fit had already applied, not "unchanged").
 */
import { errors, GradPoolError, raw } from '../errors.js';
import type { BatchInput } from '../input.js';
import { checkKnownFields } from '../validate.js';
import { checkDpState } from './dp-fit.js';

type Batch = { x: BatchInput; y: BatchInput };
/** What `fit` accepts as data besides in-memory arrays: a restartable async iterable, or a function returning a fresh one per epoch. */
export type BatchSource = AsyncIterable<Batch> | (() => AsyncIterable<Batch>);

const STATE_FIELDS = ['epoch', 'batch', 'globalStep', 'dpSteps', 'sampler', 'history', 'epochLoss', 'epochSamples', 'randomCalls', 'dp'];
const HISTORY_FIELDS = ['epoch', 'history', 'steps', 'stopped', 'epsilon', 'noiseMultiplier'];
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isWords = (v: unknown): boolean => Array.isArray(v) && (v.length === 4 || v.length === 5) && v.every((w) => typeof w === 'number' && Number.isFinite(w));

/** Checks a `FitState` from `onStep`'s `state()` field by field, so a wrong one is named instead of failing deep inside with a TypeError. */
export function checkInitialState(s: unknown): void {
  const name = 'initialState';
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw errors.type(name, "a FitState (from onStep's logs.state())", s);
  checkKnownFields(name, s, STATE_FIELDS);
  const o = s as Record<string, unknown>;
  for (const f of ['epoch', 'batch', 'globalStep', 'dpSteps', 'epochSamples'])
    if (!isCount(o[f])) throw errors.invalidOption(`${name}.${f}`, 'a non-negative integer', o[f]);
  if (o.dp !== undefined) checkDpState(`${name}.dp`, o.dp);
  if (o.randomCalls !== undefined && !isCount(o.randomCalls)) throw errors.invalidOption(`${name}.randomCalls`, 'a non-negative integer', o.randomCalls);
  if (typeof o.epochLoss !== 'number' || !Number.isFinite(o.epochLoss)) throw errors.invalidOption(`${name}.epochLoss`, 'a finite number', o.epochLoss);
  const sampler = o.sampler as Record<string, unknown> | undefined;
  if (!sampler || typeof sampler !== 'object') throw errors.type(`${name}.sampler`, 'an object {epochRng, rng}', sampler);
  checkKnownFields(`${name}.sampler`, sampler, ['epochRng', 'rng']);
  for (const f of ['epochRng', 'rng']) if (!isWords(sampler[f])) throw errors.invalidOption(`${name}.sampler.${f}`, 'a generator state (an array of 4 or 5 numbers)', sampler[f]);
  const h = o.history as Record<string, unknown> | undefined;
  if (!h || typeof h !== 'object') throw errors.type(`${name}.history`, 'an object {epoch, history, steps, stopped}', h);
  checkKnownFields(`${name}.history`, h, HISTORY_FIELDS);
  if (!Array.isArray(h.epoch) || !h.epoch.every(isCount)) throw errors.invalidOption(`${name}.history.epoch`, 'an array of epoch numbers', h.epoch);
  if (!h.history || typeof h.history !== 'object') throw errors.type(`${name}.history.history`, 'an object of number arrays', h.history);
  for (const [k, v] of Object.entries(h.history)) if (!Array.isArray(v) || !v.every((n) => typeof n === 'number')) throw errors.invalidOption(`${name}.history.history.${k}`, 'an array of numbers', v);
  if (!isCount(h.steps)) throw errors.invalidOption(`${name}.history.steps`, 'a non-negative integer', h.steps);
  if (typeof h.stopped !== 'boolean') throw errors.invalidOption(`${name}.history.stopped`, 'a boolean', h.stopped);
}

/** What the steps of this fit so far changed, for an error that stops it. */
export function appliedSoFar(applied: number, skipped: number, lastStep: number): string {
  const skips = skipped > 0 ? ` (${skipped} more skipped under nonFinite: 'skip-step')` : '';
  if (applied === 0) return `no earlier step of this fit was applied${skips}: parameters and optimizer state are as before this fit`;
  return `${applied} earlier step${applied === 1 ? '' : 's'} of this fit ${applied === 1 ? 'was' : 'were'} applied${skips}: parameters and optimizer state are as after step ${lastStep}`;
}

const RESTARTABLE = 'a restartable async iterable (each epoch calls its [Symbol.asyncIterator]() for a fresh pass) or a function returning a fresh one';

/**
 * The batches of each epoch from a {@link BatchSource}. An async generator object is its own iterator
 * and cannot start over: with more than one epoch it would train one and then silently none, so it is
 * refused; so is an iterable that hands out an exhausted iterator, or none at all, for a later epoch.
 */
export class EpochBatches {
  private last: AsyncIterator<Batch> | null = null;
  private yielded = 0;

  constructor(
    private readonly source: BatchSource,
    /** Epochs this fit will run: a one-shot iterator is fine for one. */
    private readonly epochs: number,
  ) {}

  /** The iterator for the next epoch; `applied` describes what this fit changed so far (for the error). */
  start(epoch: number, applied: () => string): AsyncIterator<Batch> {
    const iterable = typeof this.source === 'function' ? this.source() : this.source;
    if (!iterable || typeof (iterable as AsyncIterable<Batch>)[Symbol.asyncIterator] !== 'function')
      throw errors.type('data', 'a function returning an async iterable of batches', iterable);
    const it = iterable[Symbol.asyncIterator]();
    if (this.last === null && this.epochs > 1 && (it as unknown) === iterable && typeof this.source !== 'function')
      throw errors.invalidOption('data', `${RESTARTABLE} for ${this.epochs} epochs`, raw('a one-shot iterator (e.g. an async generator object), which is exhausted after one epoch'));
    if (this.last !== null && it === this.last) throw errors.fitData(RESTARTABLE, `the same, exhausted iterator again for epoch ${epoch}`, applied());
    this.last = it;
    this.yielded = 0;
    return it;
  }

  /** Counts a batch of the current epoch (skipped ones of a resumed epoch included). */
  count(): void {
    this.yielded++;
  }

  /** Refuses an epoch that yielded no batch at all: it would train nothing and report a NaN loss. */
  end(epoch: number, applied: () => string): void {
    if (this.yielded === 0) throw errors.fitData('at least one batch per epoch', `none for epoch ${epoch}`, applied());
  }
}

/** Where a failed step was: the fit step, the epoch and batch, and the dataset rows of the batch (in-memory data). */
export interface StepSite {
  globalStep: number;
  epoch: number;
  batch: number;
  rows: Uint32Array | null;
}

/** The step failures whose "unchanged" is re-worded: a sample's, an overflow, and a step stopped or crashed. */
const REWORDED = ['ERR_NON_FINITE_GRADIENT', 'ERR_SAMPLE_FAILED', 'ERR_NON_FINITE_UPDATE', 'ERR_WORKER_CRASHED', 'ERR_ABORTED', 'ERR_TIMEOUT'];

/**
 * Re-words a step's failure for `fit`: the sample becomes the dataset row (or the sample of the
 * iterable's batch), and "unchanged" becomes what this fit applied before it. Other errors pass through.
 */
export function fitStepError(e: unknown, at: StepSite, applied: string): unknown {
  if (!(e instanceof GradPoolError) || !REWORDED.includes(e.code)) return e;
  const where = `step ${at.globalStep} (epoch ${at.epoch}, batch ${at.batch})`;
  // The step's own message: `step: sample 1 has …; parameters and optimizer state are unchanged`, or
  // `step: a worker crashed (…); …, and parameters are unchanged` — true of the step, not of the fit.
  let cause = e.message.replace(/^step: /, '').replace(/(;( nothing was committed:)?|, and) parameters( and optimizer state)? are unchanged$/, '');
  if (e.sample !== undefined) {
    const row = at.rows?.[e.sample];
    const who = row !== undefined ? `dataset row ${row} (sample ${e.sample} of the batch)` : `sample ${e.sample} of the batch`;
    cause = cause.replace(new RegExp(`^sample ${e.sample}\\b`), who);
  }
  return errors.fitStepFailed(e.code, where, cause, applied, e);
}
