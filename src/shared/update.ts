import { applyUpdate } from '../optim/apply.js';
import type { OptimizerSpec } from '../optim/types.js';
import { addNoise } from '../privacy/gaussian.js';
import { addSecureNoise } from '../privacy/secure-noise.js';
import { reducePartials, reducePartialsDivided } from './reduce.js';

/**
 * Everything one optimizer update needs besides the arrays: small, structured-cloneable, so the same
 * plan runs on the coordinator or, sharded by parameter slices, in the workers.
 */
export interface UpdatePlan {
  /** Total parameter count and number of f64 partial rows (chunks) to reduce. */
  P: number;
  numChunks: number;
  /** The summed (clipped) gradient is divided by this: B, or DP's expected batch size. */
  divisor: number;
  /** DP noise std added to the SUM before dividing (noiseMultiplier × maxGradNorm); 0 without DP. */
  noiseStd: number;
  noiseSeed: number;
  /** DP noise from node:crypto instead of the seeded counter-based stream (`dp.secureRng`): not reproducible. */
  secureNoise?: boolean;
  /** Optimizer spec with the schedule replaced by the resolved `lr` (functions cannot be cloned). */
  spec: OptimizerSpec;
  lr: number;
  /** 1-based number of this update; also the DP noise counter. */
  t: number;
  /**
   * An ensemble (src/shared/members.ts): the vector is K member blocks of `size` elements, and member
   * m's noise is keyed by `noiseSeeds[m]` and the element's index within its block, as its own pool's.
   */
  members?: { size: number; noiseSeeds: number[] };
}

/** The arrays of one update. `*In` are read; `*Out` (the inactive double-buffer halves) are written. */
export interface UpdateViews {
  partial: Float64Array;
  grad: Float32Array;
  pIn: Float32Array;
  pOut: Float32Array;
  sIn: Float32Array[];
  sOut: Float32Array[];
}

let shared = new Float64Array(0);
/** A reused float64 scratch: fresh memory costs page faults on every call (~3 ms per MB on our VMs). */
function scratchOf(n: number): Float64Array {
  if (shared.length < n) shared = new Float64Array(n);
  return shared;
}

/**
 * Elements updated per pass. The update streams the C partial rows, the float64 sum, the gradient,
 * the parameters and the optimizer state: done over a whole slice, each of those arrays has left the
 * cache before the next pass reads it back (at P = 100k the coordinator's update then ran at memory
 * speed, ~1.7 ms for an SGD step). Block by block, a block's sum and gradient are still in cache
 * when the next pass reads them.
 */
const BLOCK = 4096;

/**
 * Reduce → noise → divide → optimizer, for parameter elements [lo, hi). Every element depends only
 * on its own column of partials, its own noise (counter-based) and its own optimizer state, so any
 * slicing over any number of workers, and any blocking within a slice, gives the same bits as one
 * call over [0, P).
 */
export function updateSlice(plan: UpdatePlan, v: UpdateViews, lo: number, hi: number, scratch = scratchOf(Math.min(BLOCK, hi - lo))): void {
  for (let b = lo; b < hi; b += BLOCK) updateBlock(plan, v, b, Math.min(hi, b + BLOCK), scratch);
}

/** One block of {@link updateSlice}: elements [lo, hi), with `scratch` of at least hi - lo. */
function updateBlock(plan: UpdatePlan, v: UpdateViews, lo: number, hi: number, scratch: Float64Array): void {
  const { P, numChunks, divisor } = plan;
  if (plan.noiseStd === 0) reducePartialsDivided(v.partial, numChunks, P, v.grad.subarray(lo, hi), divisor, lo, hi);
  else {
    const sum = scratch.subarray(0, hi - lo);
    reducePartials(v.partial, numChunks, P, sum, 1, lo, hi);
    // DP: noise is added to the SUM of clipped gradients, before dividing (as Opacus does).
    if (plan.secureNoise) addSecureNoise(sum, lo, hi, plan.noiseStd, lo);
    else if (plan.members) addMemberNoise(plan, plan.members, sum, lo, hi);
    else addNoise(sum, lo, hi, plan.noiseStd, plan.noiseSeed, plan.t, lo);
    for (let k = lo; k < hi; k++) v.grad[k] = sum[k - lo]! / divisor;
  }
  v.pOut.set(v.pIn.subarray(lo, hi), lo);
  v.sIn.forEach((s, j) => v.sOut[j]!.set(s.subarray(lo, hi), lo));
  applyUpdate(plan.spec, { lr: plan.lr, step: plan.t }, v.pOut, v.grad, v.sOut, lo, hi);
}

/** {@link addNoise} for elements [lo, hi) of an ensemble's vector, member block by member block. */
function addMemberNoise(plan: UpdatePlan, m: NonNullable<UpdatePlan['members']>, sum: Float64Array, lo: number, hi: number): void {
  for (let k = Math.floor(lo / m.size); k * m.size < hi; k++) {
    const base = k * m.size;
    addNoise(sum, Math.max(lo, base) - base, Math.min(hi, base + m.size) - base, plan.noiseStd, m.noiseSeeds[k]!, plan.t, lo - base);
  }
}
