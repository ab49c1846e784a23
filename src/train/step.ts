import type { PoolCore } from '../core.js';
import { errors, raw } from '../errors.js';
import type { BatchInput } from '../input.js';
import { resolveLearningRate, validateOptimizerSpec } from '../optim/spec.js';
import type { OptimizerSpec } from '../optim/types.js';
import type { UpdateTask } from '../protocol.js';
import { Rng } from '../rng.js';
import type { OptimizerStates } from './opt-state.js';
import { updateSlice, type UpdatePlan } from './update.js';

/** DP-SGD settings of one step (Abadi et al. 2016; Opacus semantics). */
export interface StepDp {
  /** Each sample's gradient (all parameters together) is clipped to this L2 norm. */
  maxGradNorm: number;
  /** Gaussian noise with std `noiseMultiplier × maxGradNorm` is added to the sum of clipped gradients. */
  noiseMultiplier: number;
  /** The noisy sum is divided by this (Opacus: sampleRate × datasetSize). Default: the batch size. */
  expectedBatchSize?: number;
}

export interface StepOptions {
  optimizer: OptimizerSpec;
  dp?: StepDp;
  /** What a non-finite loss or gradient does: `'throw'` (default; names the sample) or `'skip-step'`. */
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
  /** With `dp`: the fraction of samples whose gradient norm exceeded `maxGradNorm`. */
  clippedFraction?: number;
}

/** Below this many parameters the update is cheaper on the coordinator than a round trip to the workers. */
export const SHARDED_UPDATE_MIN_PARAMS = 32768;
const SLICE = 8192;

const KNOWN = ['optimizer', 'dp', 'nonFinite', 'update'];
const pos = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

function validate(o: StepOptions): void {
  if (!o || typeof o !== 'object') throw errors.type('options', 'an object with an optimizer', o);
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw errors.invalidOption(`options.${k}`, `one of the known options (${KNOWN.join(', ')})`, raw('an unknown option'));
  if (o.optimizer === undefined) throw errors.invalidOption('optimizer', 'an optimizer such as sgd({ learningRate: 0.1 })', undefined);
  validateOptimizerSpec(o.optimizer);
  if (o.nonFinite !== undefined && o.nonFinite !== 'throw' && o.nonFinite !== 'skip-step') throw errors.invalidOption('nonFinite', "'throw' or 'skip-step'", o.nonFinite);
  if (o.update !== undefined && !['auto', 'coordinator', 'workers'].includes(o.update)) throw errors.invalidOption('update', "'auto', 'coordinator' or 'workers'", o.update);
  const dp = o.dp;
  if (dp !== undefined) {
    if (!dp || typeof dp !== 'object') throw errors.type('dp', 'an object {maxGradNorm, noiseMultiplier}', dp);
    if (!pos(dp.maxGradNorm)) throw errors.invalidOption('dp.maxGradNorm', 'a positive number', dp.maxGradNorm);
    if (typeof dp.noiseMultiplier !== 'number' || !Number.isFinite(dp.noiseMultiplier) || dp.noiseMultiplier < 0)
      throw errors.invalidOption('dp.noiseMultiplier', 'a number >= 0', dp.noiseMultiplier);
    if (dp.expectedBatchSize !== undefined && !pos(dp.expectedBatchSize)) throw errors.invalidOption('dp.expectedBatchSize', 'a positive number', dp.expectedBatchSize);
  }
}

/** The Philox key for a pool's DP noise: derived from the pool seed, distinct from the init stream. */
export function dpNoiseSeed(seed: number): number {
  const r = new Rng(seed ^ 0x2545f491);
  return r.nextU32() * 2 ** 21 + (r.nextU32() >>> 11);
}

/** Implements {@link GradPool.step}. */
export async function trainStep(core: PoolCore, states: OptimizerStates, x: BatchInput, y: BatchInput, o: StepOptions): Promise<StepResult> {
  const op = 'step';
  validate(o);
  const [xs, ys] = core.readXY(op, x, y);
  const B = xs.batch;
  const dp = o.dp;
  if (!dp && B === 0) throw errors.invalidOption('x', 'at least one sample (an empty batch is only meaningful with dp)', raw('an empty batch'));
  return core.serial(op, async () => {
    const { total: P } = core.model.layout;
    const spec = o.optimizer;
    const st = states.prepare(spec);
    const t = st.t + 1;
    const lr = resolveLearningRate(spec, t); // throws before anything changes
    const numChunks = core.numChunks(B);
    let badSample = -1;
    let clippedFraction: number | undefined;
    let loss = NaN;
    core.arena.ensure('partial', 'f64', Math.max(1, numChunks) * P);
    if (B > 0) {
      core.stage(B, xs.data, ys.data);
      badSample = (await core.run('sumGrads', B, op, dp ? { clip: dp.maxGradNorm } : {})).badSample;
      const t0 = performance.now();
      let s = 0;
      const losses = core.arena.f32('loss', B);
      for (let i = 0; i < B; i++) s += losses[i]!;
      loss = s / B;
      if (dp) {
        const norms = core.arena.f32('norms', B);
        let n = 0;
        for (let i = 0; i < B; i++) if (norms[i]! > dp.maxGradNorm) n++;
        clippedFraction = n / B;
      }
      core.time('reduceMs', performance.now() - t0);
    }
    if (badSample >= 0) {
      if ((o.nonFinite ?? 'throw') === 'throw') throw errors.nonFiniteGradient(op, badSample);
      return { loss, gradNorm: NaN, lr, batch: B, step: st.t, skipped: true, ...(clippedFraction !== undefined ? { clippedFraction } : {}) };
    }
    core.arena.ensure('grad', 'f32', P);
    const plan: UpdatePlan = {
      P,
      numChunks,
      divisor: dp?.expectedBatchSize ?? B,
      noiseStd: dp ? dp.noiseMultiplier * dp.maxGradNorm : 0,
      noiseSeed: dpNoiseSeed(core.options.seed),
      spec: { ...spec, learningRate: lr } as OptimizerSpec,
      lr,
      t,
    };
    const names = { partial: 'partial', grad: 'grad', pIn: core.params.region, pOut: core.params.inactiveRegion, sIn: st.sIn, sOut: st.sOut };
    const where = o.update ?? 'auto';
    if (where === 'workers' || (where === 'auto' && core.options.threads > 1 && P >= SHARDED_UPDATE_MIN_PARAMS)) {
      const task: UpdateTask = { type: 'update', runtime: core.dispatcher.runtime, regions: core.arena.handles(), plan, names, sliceSize: SLICE };
      core.timeParallel(await core.dispatcher.runClaimed(task, core.arena, Math.ceil(P / SLICE), op));
    } else {
      const t0 = performance.now();
      const f32 = (n: string) => core.arena.f32(n, P);
      updateSlice(plan, { partial: core.arena.f64('partial'), grad: f32('grad'), pIn: f32(names.pIn), pOut: f32(names.pOut), sIn: names.sIn.map(f32), sOut: names.sOut.map(f32) }, 0, P);
      core.time('optimizerMs', performance.now() - t0);
    }
    const grad = core.arena.f32('grad', P);
    let ss = 0;
    for (let k = 0; k < P; k++) ss += grad[k]! * grad[k]!;
    // Commit: parameters and optimizer state switch to the freshly written halves together.
    core.params.commit();
    states.commit(spec);
    return { loss, gradNorm: Math.sqrt(ss), lr, batch: B, step: t, skipped: false, ...(clippedFraction !== undefined ? { clippedFraction } : {}) };
  });
}
