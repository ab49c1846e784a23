import { errors, raw } from '../errors.js';
import { readPair, type BatchInput } from '../input.js';
import { validateOptimizerSpec } from '../optim/spec.js';
import type { OptimizerSpec } from '../optim/types.js';
import type { ModelDef } from '../model/define.js';
import { checkFitDp, DpAccounting, type DpFitState, type FitDp } from './dp-fit.js';
import { METRICS, type Metric } from './metrics.js';
import { Sampler, type SamplerState, type Sampling } from './sampler.js';
import { arrayRows, checkRowSource, isRowSource, type RowSource } from '../io/rows.js';
import type { StepOptions, StepResult } from './step.js';
import { checkOptionsObject, isPosInt } from '../validate.js';
import { appliedSoFar, checkInitialState, EpochBatches, fitStepError, type BatchSource } from './fit-guard.js';
import { datasetRows, givenBatch, physicalStep, type Accumulating } from './accumulate-fit.js';

/** What `fit` needs of a pool ({@link GradPool} is one): a model, a seed, steps, evaluation and staging buffers. */
export interface Trainer {
  readonly model: ModelDef;
  readonly seed: number;
  step(x: BatchInput, y: BatchInput, options: StepOptions): Promise<StepResult>;
  evaluate(x: BatchInput, y: BatchInput, options: { metrics?: Metric[]; signal?: AbortSignal }): Promise<{ loss: number; accuracy?: number }>;
  inputBuffer(batch: number): Float32Array;
  targetBuffer(batch: number): Float32Array;
  /** The pool's call counter that keys random draws in the model (dropout); saved in {@link FitState}. */
  randomCalls?: number;
  /** Virtual batches (`physicalBatchSize`): a single-node, single-model pool's accumulators. */
  accumulate?: Accumulating['accumulate'];
  chunkSizeFor?(batch: number): number;
  /** A node of a multi-node run: fit joins it first, continues from rank 0's state, and reads only its share of each batch. */
  readonly cluster?: { join(state?: FitState): Promise<FitState | undefined>; share(batch: number): [number, number] } | null;
}

/**
 * In-memory arrays, a {@link RowSource} read row by row (on a node of a multi-node run, only the
 * rows of its own chunks), or ready-made batches: an async iterable that starts over each time its
 * `[Symbol.asyncIterator]()` is called (once per epoch), or a function returning a fresh iterable per
 * epoch. A one-shot iterator (an async generator object) is refused for more than one epoch.
 */
export type FitData = { x: BatchInput; y: BatchInput } | RowSource | BatchSource;

export type { FitDp } from './dp-fit.js';

/** Passed to `onStep` after every step. Return `false` (or a promise of it) to stop training. */
export interface StepLogs extends StepResult {
  epoch: number;
  /** Index of this batch within its epoch. */
  batchIndex: number;
  /** Steps taken since training began (1-based, counting resumed ones). */
  globalStep: number;
  /** Steps in one epoch (for iterable data: unknown, NaN). */
  stepsPerEpoch: number;
  /** With `dp`: ε spent so far at δ, counting this step (computed when read: PRV can take a second on large runs). */
  epsilon?: number;
  /** The state to resume from after this step (with the pool's params and optimizer state). */
  state: () => FitState;
}

/** Passed to `onEpochEnd`. Return `false` (or a promise of it) to stop training. */
export interface EpochLogs {
  epoch: number;
  loss: number;
  val_loss?: number;
  val_acc?: number;
  epsilon?: number;
}

/** tfjs-style history: `history.loss[e]`, `history.val_loss[e]`, … per finished epoch. */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
  steps: number;
  stopped: boolean;
  /** With `dp`: ε spent at δ, under `dp.accountant` (PRV by default). */
  epsilon?: number;
  /** With `dp`: the noise multiplier used (the one chosen for `dp.targetEpsilon`, or `dp.noiseMultiplier`). */
  noiseMultiplier?: number;
}

/** Where a run stands between two steps; with params and optimizer state, it resumes bit-exactly. */
export interface FitState {
  epoch: number;
  /** Next batch index within `epoch`. */
  batch: number;
  globalStep: number;
  dpSteps: number;
  sampler: SamplerState;
  history: History;
  epochLoss: number;
  epochSamples: number;
  /**
   * The pool's {@link Trainer.randomCalls} after the last step, restored on resume so the model's
   * random draws (dropout masks) continue as if never interrupted. Saved rather than derived from
   * `globalStep` because evaluation calls take call numbers too. Absent in states saved before it
   * existed: read as 0.
   */
  randomCalls?: number;
  /** With `dp`: the σ in use and the accountant's history of steps (absent in states saved before it existed). */
  dp?: DpFitState;
}

export interface FitOptions {
  optimizer: OptimizerSpec;
  epochs?: number;
  /** Default 32, as tfjs. With Poisson DP sampling, the expected batch size. */
  batchSize?: number;
  /** Shuffle in-memory data each epoch with the pool's seed (default true). */
  shuffle?: boolean;
  validation?: { x: BatchInput; y: BatchInput };
  metrics?: Metric[];
  dp?: FitDp;
  /**
   * Virtual batches: run each logical batch (of `batchSize`, or Poisson-sampled) as physical calls of
   * at most this many samples, accumulated before its one step, as Opacus's `BatchMemoryManager`
   * (`max_physical_batch_size`). Shared memory then holds one physical batch's inputs. The sampling
   * and ε are the logical batch's; the weights are bit-identical to a fit without it when it is a
   * multiple of `pool.chunkSizeFor(batch)`, else equal to float precision. Single-node pools only.
   */
  physicalBatchSize?: number;
  nonFinite?: 'throw' | 'skip-step';
  onStep?: (logs: StepLogs) => unknown;
  onEpochEnd?: (logs: EpochLogs) => unknown;
  /** Continue from a state given to `onStep` (the caller restores params and optimizer state). */
  initialState?: FitState;
  /** Stops training: the step or evaluation it interrupts rejects with `ERR_ABORTED` (steps before it stay applied). */
  signal?: AbortSignal;
}

const KNOWN = ['optimizer', 'epochs', 'batchSize', 'shuffle', 'validation', 'metrics', 'dp', 'physicalBatchSize', 'nonFinite', 'onStep', 'onEpochEnd', 'initialState', 'signal'];
function validate(o: FitOptions, inMemory: boolean): void {
  checkOptionsObject(o, KNOWN, 'an object with an optimizer');
  if (o.optimizer === undefined) throw errors.invalidOption('optimizer', 'an optimizer such as sgd({ learningRate: 0.1 })', undefined);
  validateOptimizerSpec(o.optimizer);
  if (o.epochs !== undefined && !isPosInt(o.epochs)) throw errors.invalidOption('epochs', 'a positive integer', o.epochs);
  if (o.batchSize !== undefined && !isPosInt(o.batchSize)) throw errors.invalidOption('batchSize', 'a positive integer', o.batchSize);
  if (o.physicalBatchSize !== undefined && !isPosInt(o.physicalBatchSize)) throw errors.invalidOption('physicalBatchSize', 'a positive integer', o.physicalBatchSize);
  if (o.shuffle !== undefined && typeof o.shuffle !== 'boolean') throw errors.invalidOption('shuffle', 'a boolean', o.shuffle);
  (o.metrics ?? []).forEach((m, i) => {
    if (!METRICS.includes(m)) throw errors.invalidOption(`metrics[${i}]`, `one of ${METRICS.join(', ')}`, m);
  });
  for (const cb of ['onStep', 'onEpochEnd'] as const) if (o[cb] !== undefined && typeof o[cb] !== 'function') throw errors.invalidOption(cb, 'a function', o[cb]);
  if (o.initialState !== undefined) checkInitialState(o.initialState);
  if (o.dp) {
    checkFitDp(o.dp);
    if (!inMemory) throw errors.invalidOption('dp', 'in-memory {x, y} data (gradpool must control sampling for the privacy accounting)', raw('an async iterable'));
  }
}

/** The pool's accumulators for `physicalBatchSize`, or why it has none. */
function accumulating(pool: Trainer): Accumulating {
  if (pool.cluster) throw errors.invalidOption('physicalBatchSize', 'a single-node pool (virtual batches do not run across nodes)', raw('a multi-node pool'));
  const { accumulate, chunkSizeFor } = pool;
  if (!accumulate || !chunkSizeFor) throw errors.invalidOption('physicalBatchSize', 'a single-model pool (an ensemble runs each batch in one call)', raw('a pool without accumulate (an ensemble)'));
  return { accumulate: accumulate.bind(pool), chunkSizeFor: chunkSizeFor.bind(pool), inputBuffer: (n) => pool.inputBuffer(n), targetBuffer: (n) => pool.targetBuffer(n) };
}

const isIterable = (d: FitData): d is BatchSource => typeof d === 'function' || typeof (d as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';

/** Implements {@link GradPool.fit}. */
export async function fit(pool: Trainer, data: FitData, o: FitOptions): Promise<History> {
  if (!data || (typeof data !== 'object' && typeof data !== 'function')) throw errors.type('data', 'an object {x, y}, an async iterable of batches or a function returning one', data);
  const rowSource = isRowSource(data) ? data : null;
  const iterable = !rowSource && isIterable(data);
  validate(o, !iterable);
  const physical = o.physicalBatchSize === undefined ? null : accumulating(pool);
  const epochs = o.epochs ?? 1;
  const batchSize = o.batchSize ?? 32;
  const m = pool.model;
  if (rowSource) checkRowSource('data', rowSource, m);
  const pair = iterable || rowSource ? null : readPair('data', data as { x: BatchInput; y: BatchInput }, m);
  // Read (and converted) once, before the first step, so a bad one fails with nothing changed.
  const val = o.validation === undefined ? null : readPair('validation', o.validation, m);
  if (pair && pair.x.batch === 0) throw errors.invalidOption('data.x', 'at least one sample', raw('an empty dataset'));
  const rows: RowSource | null = rowSource ?? (pair && arrayRows(pair.x.data, pair.y.data, m.inputSize, m.targetSize));
  const N = rows?.count ?? 0;
  const dp = o.dp;
  const sampling: Sampling = dp ? (dp.sampling ?? 'poisson') : o.shuffle === false ? 'sequential' : 'shuffle';
  const s0 = pool.cluster ? await pool.cluster.join(o.initialState) : o.initialState;
  const sampler = new Sampler(Math.max(N, 1), batchSize, sampling, pool.seed, s0?.sampler);
  const st: FitState = s0
    ? structuredClone({ ...s0, sampler: sampler.state() })
    : { epoch: 0, batch: 0, globalStep: 0, dpSteps: 0, sampler: sampler.state(), history: { epoch: [], history: {}, steps: 0, stopped: false }, epochLoss: 0, epochSamples: 0 };
  if (s0) pool.randomCalls = s0.randomCalls ?? 0;
  // Before any step: choosing σ for a target ε can fail (unreachable), and must leave everything unchanged.
  const acct = dp ? new DpAccounting(dp, { n: N, sampleRate: sampler.q, totalSteps: epochs * sampler.batchesPerEpoch }, s0?.dp, s0?.dp ? 0 : (s0?.dpSteps ?? 0)) : null;
  const stepDp = dp && { maxGradNorm: dp.maxGradNorm, noiseMultiplier: acct!.noiseMultiplier, expectedBatchSize: sampler.q * N, ...(dp.secureRng ? { secureRng: true } : {}), ...(dp.clipping ? { clipping: dp.clipping } : {}) };
  const eps = () => acct?.epsilon();
  const snapshot = (): FitState => structuredClone({ ...st, sampler: sampler.state(), ...(acct ? { dp: acct.state() } : {}) });
  const record = (key: string, v: number | undefined) => v !== undefined && (st.history.history[key] ??= []).push(v);
  // What this fit has changed so far, for an error that stops it part-way.
  const done = { applied: 0, skipped: 0, lastApplied: st.globalStep };
  const applied = () => appliedSoFar(done.applied, done.skipped, done.lastApplied);
  const source = iterable ? new EpochBatches(data, epochs - st.epoch) : null;

  for (; st.epoch < epochs; st.epoch++, st.batch = 0, st.epochLoss = 0, st.epochSamples = 0) {
    const resumingMidEpoch = s0 !== undefined && st.epoch === s0.epoch && st.batch > 0;
    if (!iterable && !resumingMidEpoch) sampler.startEpoch();
    const batches: AsyncIterator<{ x: BatchInput; y: BatchInput }> | null = source ? source.start(st.epoch, applied) : null;
    for (let b = 0; ; b++) {
      let x: BatchInput | null = null;
      let y: BatchInput | null = null;
      let idx: Uint32Array | null = null;
      if (batches) {
        const it = await batches.next();
        if (it.done) {
          source!.end(st.epoch, applied);
          break;
        }
        source!.count();
        if (b < st.batch) continue; // resuming: skip batches already trained on
        ({ x, y } = it.value);
      } else {
        if (b >= sampler.batchesPerEpoch) break;
        if (b < st.batch) continue;
        idx = sampler.batch(b);
        if (!physical) {
          // With physicalBatchSize, physicalStep gathers one physical batch at a time instead.
          x = pool.inputBuffer(idx.length);
          y = pool.targetBuffer(idx.length);
          // A node computes only its share of the batch's rows, so it reads only those; the step
          // takes the whole batch and never looks at the rows of the others' shares.
          const [lo, hi] = pool.cluster ? pool.cluster.share(idx.length) : [0, idx.length];
          rows!.read(idx.subarray(lo, hi), x.subarray(lo * m.inputSize, hi * m.inputSize), y.subarray(lo * m.targetSize, hi * m.targetSize));
        }
      }
      let r: StepResult;
      try {
        const so: StepOptions = { optimizer: o.optimizer, ...(stepDp ? { dp: stepDp } : {}), ...(o.nonFinite ? { nonFinite: o.nonFinite } : {}), ...(o.signal ? { signal: o.signal } : {}) };
        if (!physical) r = await pool.step(x!, y!, so);
        else r = await physicalStep(physical, idx ? datasetRows(physical, rows!, idx) : givenBatch(x!, y!, m), so, o.physicalBatchSize!);
      } catch (e) {
        throw fitStepError(e, { globalStep: st.globalStep + 1, epoch: st.epoch, batch: b, rows: idx }, applied());
      }
      st.batch = b + 1;
      st.globalStep++;
      if (r.skipped) done.skipped++;
      else (done.applied++, (done.lastApplied = st.globalStep));
      if (pool.randomCalls !== undefined) st.randomCalls = pool.randomCalls;
      if (!r.skipped && acct) (st.dpSteps++, acct.step(sampler.q));
      if (r.batch > 0 && !r.skipped) {
        st.epochLoss += r.loss * r.batch;
        st.epochSamples += r.batch;
      }
      const logs: StepLogs = { ...r, epoch: st.epoch, batchIndex: b, globalStep: st.globalStep, stepsPerEpoch: iterable ? NaN : sampler.batchesPerEpoch, state: snapshot };
      if (acct) Object.defineProperty(logs, 'epsilon', { get: acct.epsilonNow(), enumerable: true });
      if ((await o.onStep?.(logs)) === false) st.history.stopped = true;
      if (st.history.stopped) break;
    }
    if (st.history.stopped && st.batch < sampler.batchesPerEpoch && !iterable) break; // stopped mid-epoch: no epoch summary
    const logs: EpochLogs = { epoch: st.epoch, loss: st.epochSamples > 0 ? st.epochLoss / st.epochSamples : NaN };
    if (val) {
      const v = await pool.evaluate(val.x.data, val.y.data, { metrics: o.metrics ?? [], ...(o.signal ? { signal: o.signal } : {}) });
      logs.val_loss = v.loss;
      if (v.accuracy !== undefined) logs.val_acc = v.accuracy;
    }
    if (dp) logs.epsilon = eps();
    st.history.epoch.push(st.epoch);
    record('loss', logs.loss);
    record('val_loss', logs.val_loss);
    record('val_acc', logs.val_acc);
    record('epsilon', logs.epsilon);
    if ((await o.onEpochEnd?.(logs)) === false) st.history.stopped = true;
    if (st.history.stopped) break;
  }
  st.history.steps = st.globalStep;
  if (acct) Object.assign(st.history, { epsilon: eps(), noiseMultiplier: acct.noiseMultiplier });
  return st.history;
}
