import type { PoolCore } from '../core.js';
import type { UpdatePlacement, UpdateSpec } from '../core-update.js';
import { errors, raw, type GradPoolError } from '../errors.js';
import type { BatchInput } from '../input.js';
import { resolveLearningRate, validateOptimizerSpec } from '../optim/spec.js';
import type { OptimizerSpec } from '../optim/types.js';
import { Rng } from '../rng.js';
import { countAbove, l2Norm, orderedSum } from '../shared/reduce.js';
import { checkOptionsObject, isPositive } from '../validate.js';
import { checkSignal, type CallOptions } from '../lifecycle.js';
import { chooseClipping, CLIPPINGS, type ClipSpec, type Clipping } from './clipping.js';
import type { ChunkPlan } from '../shared/chunks.js';

/** DP-SGD settings of one step (Abadi et al. 2016; Opacus semantics). */
export interface StepDp {
  /** Each sample's gradient (all parameters together) is clipped to this L2 norm. */
  maxGradNorm: number;
  /** Gaussian noise with std `noiseMultiplier × maxGradNorm` is added to the sum of clipped gradients. */
  noiseMultiplier: number;
  /** The noisy sum is divided by this (Opacus: sampleRate × datasetSize). Default: the batch size. */
  expectedBatchSize?: number;
  /**
   * Draw the noise from node:crypto (the sum-of-four-Gaussians sampler of Holohan & Braghin 2021,
   * as Opacus's `secure_mode`; see privacy/secure-noise.ts) instead of the seeded counter-based
   * generator. The step is then not reproducible: not bit-identical across thread counts or runs.
   */
  secureRng?: boolean;
  /**
   * `'auto'` (default): ghost clipping on the vectorized executor when every parameterised op of the
   * model has a ghost-norm rule (dense, embedding, conv, bias, scale: see docs/architecture.md),
   * per-sample clipping otherwise and on the loop executor. `'ghost'` insists (refused on the
   * loop executor); `'per-sample'` always materialises. Results agree to float32 precision.
   */
  clipping?: Clipping;
}

export interface StepOptions extends CallOptions {
  optimizer: OptimizerSpec;
  dp?: StepDp;
  /**
   * What a non-finite loss or gradient (of any sample), or an update that would make a parameter or
   * optimizer state non-finite (an overflow), does: `'throw'` (default; names the lowest such sample,
   * or the parameter) or `'skip-step'` (nothing changes; the result says `skipped` and why). Either
   * way nothing non-finite is ever committed.
   */
  nonFinite?: 'throw' | 'skip-step';
  /**
   * Where the reduction and optimizer update run: sharded over the workers by parameter slices, or on
   * the coordinator. `'auto'` (default) picks the workers for models of ≥ {@link SHARDED_UPDATE_MIN_PARAMS}
   * parameters when there is more than one thread (see docs/architecture.md for the measurement).
   */
  update?: 'auto' | 'coordinator' | 'workers';
}

export interface StepResult {
  /** Mean per-sample loss of the batch (NaN for an empty batch). */
  loss: number;
  /** L2 norm of the gradient the optimizer applied (after clipping, noise and division). */
  gradNorm: number;
  /** Learning rate used. */
  lr: number;
  batch: number;
  /** The optimizer's update count after this step. */
  step: number;
  /** True when `nonFinite: 'skip-step'` skipped the update. */
  skipped: boolean;
  /** When skipped: why (what the `'throw'` policy's error would have said). */
  skipReason?: string;
  /** With `dp`: the fraction of samples whose gradient norm exceeded `maxGradNorm`. */
  clippedFraction?: number;
}

/** Below this many parameters the update is cheaper on the coordinator than a round trip to the workers. */
export const SHARDED_UPDATE_MIN_PARAMS = 32768;

const KNOWN = ['optimizer', 'dp', 'nonFinite', 'update', 'signal'];

/** Validates the options of a step (single pools and ensembles alike). */
export function validateStepOptions(o: StepOptions): void {
  checkOptionsObject(o, KNOWN, 'an object with an optimizer');
  if (o.optimizer === undefined) throw errors.invalidOption('optimizer', 'an optimizer such as sgd({ learningRate: 0.1 })', undefined);
  validateOptimizerSpec(o.optimizer);
  if (o.nonFinite !== undefined && o.nonFinite !== 'throw' && o.nonFinite !== 'skip-step') throw errors.invalidOption('nonFinite', "'throw' or 'skip-step'", o.nonFinite);
  if (o.update !== undefined && !['auto', 'coordinator', 'workers'].includes(o.update)) throw errors.invalidOption('update', "'auto', 'coordinator' or 'workers'", o.update);
  const dp = o.dp;
  if (dp !== undefined) {
    checkOptionsObject(dp, ['maxGradNorm', 'noiseMultiplier', 'expectedBatchSize', 'secureRng', 'clipping'], 'an object {maxGradNorm, noiseMultiplier}', 'dp');
    if (dp.clipping !== undefined && !CLIPPINGS.includes(dp.clipping)) throw errors.invalidOption('dp.clipping', "'auto', 'ghost' or 'per-sample'", dp.clipping);
    if (dp.secureRng !== undefined && typeof dp.secureRng !== 'boolean') throw errors.invalidOption('dp.secureRng', 'a boolean', dp.secureRng);
    if (!isPositive(dp.maxGradNorm)) throw errors.invalidOption('dp.maxGradNorm', 'a positive number', dp.maxGradNorm);
    if (typeof dp.noiseMultiplier !== 'number' || !Number.isFinite(dp.noiseMultiplier) || dp.noiseMultiplier < 0)
      throw errors.invalidOption('dp.noiseMultiplier', 'a number >= 0', dp.noiseMultiplier);
    if (dp.expectedBatchSize !== undefined && !isPositive(dp.expectedBatchSize)) throw errors.invalidOption('dp.expectedBatchSize', 'a positive number', dp.expectedBatchSize);
  }
}

/** A step's options and batch, checked before anything runs (a pool's step and an ensemble's alike). */
export function stepInputs(core: PoolCore, op: string, x: BatchInput, y: BatchInput, o: StepOptions) {
  validateStepOptions(o);
  const [xs, ys] = core.readXY(op, x, y);
  checkStepBatch(o.dp, xs.batch);
  return { xs, ys, B: xs.batch, dp: o.dp };
}

/**
 * What every step (a pool's, an ensemble's) fixes before its chunk phase, inside its serial call: the
 * update count and learning rate (resolving it throws before anything changes) and {@link chunkSetup}'s.
 */
export function stepSetup(core: PoolCore, o: StepOptions, B: number, op: string) {
  const optimizer = o.optimizer;
  const t = core.optimizers.prepare(optimizer).t + 1;
  const lr = resolveLearningRate(optimizer, t);
  return { optimizer, t, lr, ...chunkSetup(core, o, B, op) };
}

/**
 * What the chunk phase of a step needs, and no optimizer state (a multi-node follower holds none): the
 * chunk plan, the non-finite policy (under 'throw' the run fails with the lowest failing sample, thrown
 * or non-finite) and, with dp, how it clips (noted for `pool.stats()`).
 */
export function chunkSetup(core: PoolCore, o: StepOptions, B: number, op: string) {
  const throws = (o.nonFinite ?? 'throw') === 'throw';
  const nonFinite = throws ? (s: number) => errors.nonFiniteGradient(op, s) : undefined;
  return { plan: core.plan(B), throws, nonFinite, clip: stepClip(core, o.dp) };
}

/** How a DP step clips (ghost or per-sample, by the model's ghost coverage; noted for `pool.stats()`), or undefined without dp. */
export function stepClip(core: PoolCore, dp: StepDp | undefined): ClipSpec | undefined {
  return dp && { maxGradNorm: dp.maxGradNorm, ghost: core.noteClipping(chooseClipping(core.options.executor, core, dp.clipping, core.model)).mode === 'ghost' };
}

/** The Philox key for a pool's DP noise: derived from the pool seed, distinct from the init stream. */
export function dpNoiseSeed(seed: number): number {
  const r = new Rng(seed ^ 0x2545f491);
  return r.nextU32() * 2 ** 21 + (r.nextU32() >>> 11);
}

/** Refuses an empty batch without dp, and one with dp but no divisor. */
export function checkStepBatch(dp: StepDp | undefined, B: number): void {
  if (!dp && B === 0) throw errors.invalidOption('x', 'at least one sample (an empty batch is only meaningful with dp)', raw('an empty batch'));
  // The noisy sum is divided by expectedBatchSize, else by B: for an empty batch that is 0, and every parameter would become NaN.
  if (dp && B === 0 && dp.expectedBatchSize === undefined)
    throw errors.invalidOption('dp.expectedBatchSize', 'a positive number for an empty batch (the noisy gradient sum is divided by it, else by the batch size, here 0)', undefined);
}

/** What the chunk phase of a step found over the whole batch, and the plan the update reduces. */
export interface BatchSums {
  lossSum: number;
  clipped: number;
  badSample: number;
  plan: ChunkPlan;
  /** The chunk task also ran the step's update (PoolCore.fuseUpdate): stages it, returns its gradient. */
  updated?: () => Float32Array;
  /** The partial rows' sum, folded on the coordinator while the chunks ran (RunInputs.fold): the update reduces it as one row. */
  folded?: Float64Array | null;
}

/** The whole batch of a step, the same on every node of a multi-node run (a node reads only its share's rows of it). */
export interface StepBatch {
  x: Float32Array;
  y: Float32Array;
  B: number;
}

/**
 * A node of a multi-node run as a step uses it (src/cluster/member.ts implements it). The pool hands
 * it in, so train/ never imports cluster/, which builds on train/.
 */
export interface StepNode {
  readonly assembled: boolean;
  join(): Promise<unknown>;
  /** The step on this node: its share of the chunk phase, the fold, rank 0's update and the outcome it broadcasts. */
  step(core: PoolCore, batch: StepBatch, o: StepOptions, op: string): Promise<StepResult>;
}

/**
 * Implements {@link GradPool.step}: sumGrads on the workers, the update, then commit. With a
 * `cluster`, this node computes its share of the batch's chunks, the nodes fold their sums, and rank 0
 * alone runs the update and broadcasts its outcome (src/cluster/step.ts).
 */
export async function trainStep(core: PoolCore, x: BatchInput, y: BatchInput, o: StepOptions, cluster?: StepNode | null): Promise<StepResult> {
  const op = 'step';
  const { xs, ys, B } = stepInputs(core, op, x, y, o);
  core.assertNoAccumulator(op);
  if (cluster && !cluster.assembled) await cluster.join();
  return core.serial(op, async () => {
    if (cluster) return cluster.step(core, { x: xs.data, y: ys.data, B }, o, op);
    const s = stepSetup(core, o, B, op);
    // A sharded update runs in the chunk task itself, after the last chunk: one round trip per step.
    const u = stepUpdateSpec(core, s, o, B);
    const fused = u.placement === 'workers' && B > 0 ? core.fuseUpdate(s.plan, u.spec) : undefined;
    const r = await stepUpdate(core, await localSums(core, s.plan, xs.data, ys.data, s.clip, s.nonFinite, op, fused), s, o, B, op);
    if (!r.skipped) core.commit();
    return r;
  }, checkSignal(o.signal));
}

/**
 * The update of a step whose chunk phase gave `sums` (in the partial rows of `sums.plan`): the
 * non-finite and overflow checks, noise, division and the optimizer, into the inactive halves. A
 * pool's step, a cluster's rank 0 and an accumulator's step (train/accumulate.ts) share it, so their
 * bits agree. The result's `skipped: false` means the caller commits (core.commit) once nothing else
 * can fail; a skip or a throw leaves everything as it was.
 */
export async function stepUpdate(core: PoolCore, sums: BatchSums, s: Pick<ReturnType<typeof stepSetup>, 'optimizer' | 't' | 'lr' | 'throws'>, o: StepOptions, B: number, op: string): Promise<StepResult> {
  const { t, lr, throws } = s;
  const dp = o.dp;
  const loss = B > 0 ? sums.lossSum / B : NaN;
  const clipped = dp && B > 0 ? { clippedFraction: sums.clipped / B } : {};
  const skip = (why: string, gradNorm: number): StepResult => ({ loss, gradNorm, lr, batch: B, step: t - 1, skipped: true, skipReason: why, ...clipped });
  if (sums.badSample >= 0) return skip(errors.nonFiniteGradient(op, sums.badSample).message, NaN);
  let grad: Float32Array;
  if (sums.updated) grad = sums.updated();
  else {
    const u = stepUpdateSpec(core, s, o, B);
    grad = await core.update(sums.plan, u.spec, u.placement, sums.folded ?? null);
  }
  const overflow = core.updateOverflow();
  if (overflow) {
    const e = errors.nonFiniteUpdate(op, overflow.what, overflow.index, overflow.value, lr);
    if (throws) throw e;
    return skip(e.message, l2Norm(grad));
  }
  return { loss, gradNorm: l2Norm(grad), lr, batch: B, step: t, skipped: false, ...clipped };
}

/** A step's update (noise, divisor, lr) and where it runs: sharded over the workers for a large model on several threads. */
function stepUpdateSpec(core: PoolCore, s: Pick<ReturnType<typeof stepSetup>, 'optimizer' | 't' | 'lr'>, o: StepOptions, B: number): { spec: UpdateSpec; placement: UpdatePlacement } {
  const dp = o.dp;
  const where = o.update ?? 'auto';
  const sharded = where === 'workers' || (where === 'auto' && core.options.threads > 1 && core.model.layout.total >= SHARDED_UPDATE_MIN_PARAMS);
  const noise = { noiseStd: dp ? dp.noiseMultiplier * dp.maxGradNorm : 0, noiseSeed: dpNoiseSeed(core.options.seed), ...(dp?.secureRng ? { secureNoise: true } : {}) };
  return { spec: { optimizer: s.optimizer, lr: s.lr, t: s.t, divisor: dp?.expectedBatchSize ?? B, ...noise }, placement: sharded ? 'workers' : 'coordinator' };
}

/** The chunk phase on this pool alone: sumGrads over the whole batch (and, `fused`, the update after it). */
async function localSums(
  core: PoolCore,
  plan: ChunkPlan,
  x: Float32Array,
  y: Float32Array,
  clip: ClipSpec | undefined,
  nonFinite: ((s: number) => GradPoolError) | undefined,
  op: string,
  fused?: ReturnType<PoolCore['fuseUpdate']>,
): Promise<BatchSums> {
  if (plan.batch === 0) return { lossSum: 0, clipped: 0, badSample: -1, plan };
  // Without a fused update the coordinator reduces the rows (stepUpdate), so it may fold them in as they come.
  const r = await core.run('sumGrads', plan, { x, y, clip: clip?.maxGradNorm, ghost: clip?.ghost, nonFinite, update: fused?.update, fold: fused === undefined }, op);
  const updated = fused && r.badSample < 0 ? { updated: fused.ran } : {};
  return { lossSum: orderedSum(r.loss), clipped: clip === undefined ? 0 : countAbove(r.norms, clip.maxGradNorm), badSample: r.badSample, plan, folded: r.folded, ...updated };
}
