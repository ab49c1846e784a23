import { errors } from '../errors.js';
import type { BatchInput } from '../input.js';
import { checkSignal } from '../lifecycle.js';
import { countAbove, l2Norm, orderedSum } from '../shared/reduce.js';
import { dpNoiseSeed, SHARDED_UPDATE_MIN_PARAMS, stepInputs, stepSetup, type StepOptions } from '../train/step.js';
import type { EnsembleCore } from './core.js';
import type { EnsembleStepResult } from './results.js';

/** Member k's block of a member-major array of K blocks. */
const block = <T extends Float32Array>(a: T, k: number, n: number): T => a.subarray(k * n, (k + 1) * n) as T;

/**
 * Implements {@link EnsemblePool.step}: one sumGrads over every member, one update of the stacked
 * vector (each member's noise keyed by its own seed), then one commit. Each member's arithmetic is its
 * own pool's, in the same order, so its bits are too. The members share one update count, so a step
 * is committed, skipped or refused for all of them together.
 */
export async function ensembleStep(core: EnsembleCore, x: BatchInput, y: BatchInput, o: StepOptions): Promise<EnsembleStepResult> {
  const op = 'step';
  const { xs, ys, B, dp } = stepInputs(core, op, x, y, o);
  const K = core.members;
  const P = core.model.layout.total;
  const each = <T>(f: (k: number) => T): T[] => Array.from({ length: K }, (_, k) => f(k));
  return core.serial(op, async () => {
    // Under 'throw', the run fails with the first failing (sample, member), thrown or non-finite.
    const { optimizer, t, lr, plan, throws, nonFinite, clip } = stepSetup(core, o, B, op);
    const where = o.update ?? 'auto';
    const sharded = where === 'workers' || (where === 'auto' && core.options.threads > 1 && core.stored >= SHARDED_UPDATE_MIN_PARAMS);
    const members = { size: P, noiseSeeds: core.seeds.map(dpNoiseSeed) };
    const noise = { noiseStd: dp ? dp.noiseMultiplier * dp.maxGradNorm : 0, noiseSeed: members.noiseSeeds[0]!, members, ...(dp?.secureRng ? { secureNoise: true } : {}) };
    const spec = { optimizer, lr, t, divisor: dp?.expectedBatchSize ?? B, ...noise };
    // A sharded update runs in the chunk task itself, after the last chunk (PoolCore.fuseUpdate).
    const fused = sharded && B > 0 ? core.fuseUpdate(plan, spec) : undefined;
    const r = B > 0 ? await core.run('sumGrads', plan, { x: xs.data, y: ys.data, clip: clip?.maxGradNorm, ghost: clip?.ghost, nonFinite, update: fused?.update }, op) : null;
    const loss = each((k) => (r ? orderedSum(block(r.loss, k, B)) / B : NaN));
    const clipped = dp && r ? { clippedFraction: each((k) => countAbove(block(r.norms, k, B), dp.maxGradNorm) / B) } : {};
    const skip = (why: string, gradNorm: number[]): EnsembleStepResult => ({ loss, gradNorm, lr, batch: B, step: t - 1, skipped: true, skipReason: why, ...clipped });
    if (r && r.badSample >= 0) return skip(core.memberError(errors.nonFiniteGradient(op, r.badSample)).message, each(() => NaN));
    const grad = fused ? fused.ran() : await core.update(plan, spec, sharded ? 'workers' : 'coordinator');
    const gradNorm = each((k) => l2Norm(block(grad, k, P)));
    const overflow = core.updateOverflow();
    if (overflow) {
      const e = errors.nonFiniteUpdate(op, overflow.what, overflow.index, overflow.value, lr);
      if (throws) throw e;
      return skip(e.message, gradNorm);
    }
    core.commit();
    return { loss, gradNorm, lr, batch: B, step: t, skipped: false, ...clipped };
  }, checkSignal(o.signal));
}
