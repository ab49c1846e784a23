/**
 * Noise calibration: the smallest noise multiplier (up to a tolerance) whose epsilon, under the RDP
 * or the PRV accountant, meets a target, found by the same doubling-then-bisection search as Opacus
 * `get_noise_multiplier` (opacus/accountants/utils.py), so that equal inputs give equal answers.
 */

import { errors } from '../errors.js';
import { ACCOUNTANTS, type Accountant } from './accountant.js';
import { prvBounds } from './prv-numerics.js';
import { DEFAULT_ORDERS, bestEpsilon, epsilonFloor, sgmRdp } from './sgm.js';
import {
  checkConversion,
  checkDelta,
  checkOptions,
  checkOrders,
  checkPositive,
  checkSampleRate,
  checkSteps,
  type RdpConversion,
} from './validate.js';

/** Options of {@link noiseMultiplierFor}. Give exactly one of `epochs` and `steps`. */
export interface NoiseSearchOptions {
  /** The epsilon to reach, > 0. */
  targetEpsilon: number;
  /** The delta of the (epsilon, delta) target, in (0, 1). */
  delta: number;
  /** Poisson sampling rate q in (0, 1] (expected batch size / dataset size). */
  sampleRate: number;
  /** Training length in epochs; steps = floor(epochs / sampleRate), as in Opacus. */
  epochs?: number;
  /** Training length in optimizer steps. */
  steps?: number;
  /** The returned sigma's epsilon lies in [targetEpsilon - epsilonTolerance, targetEpsilon]. Default 0.01. */
  epsilonTolerance?: number;
  /** RDP orders; default {@link DEFAULT_ORDERS}. */
  orders?: readonly number[] | Float64Array;
  /** RDP -> (epsilon, delta) conversion; default 'improved' (Opacus). */
  conversion?: RdpConversion;
  /** `'rdp'` (default, as Opacus `get_noise_multiplier`) or `'prv'` (`orders` and `conversion` then do not apply). */
  accountant?: Accountant;
  /** PRV only: the accountant's `epsError` (default 0.01). */
  epsError?: number;
}

/** Opacus's MAX_SIGMA: doubling from 20 stops at 655360, the last power-of-two multiple of 10 below 1e6. */
const MAX_SIGMA = 1e6;

/**
 * Opacus computes `int(epochs / sample_rate)`, which truncates float noise such as
 * 3 / 0.03 = 99.99999999999999 to 99 steps. We snap quotients within 1e-9 (relative) of an integer to
 * it first, and otherwise truncate like Opacus.
 */
function stepsFromEpochs(epochs: number, q: number): number {
  const raw = epochs / q;
  const near = Math.round(raw);
  return Math.abs(raw - near) <= 1e-9 * Math.max(1, near) ? near : Math.floor(raw);
}

/**
 * The noise multiplier sigma for DP-SGD with Poisson sampling so that the run satisfies
 * (targetEpsilon, delta)-DP under the RDP accountant (default) or, with `accountant: 'prv'`, the
 * PRV accountant ({@link prvEpsilon}'s upper bound); the returned sigma's epsilon is within
 * `epsilonTolerance` below the target. Mirrors Opacus `get_noise_multiplier(accountant=…)`:
 * start at sigma = 20 and double until epsilon <= target, then bisect on [0, sigma] until epsilon is
 * within tolerance, returning the upper end.
 *
 * Throws when the target is unreachable: at or below the epsilon that even infinite noise gets
 * (the RDP conversion's slack, about 0.103 at delta = 1e-5 with the default orders), or needing
 * sigma > 655360 (Opacus's limit).
 *
 * @example
 * ```ts
 * import { noiseMultiplierFor, rdpEpsilon } from 'gradpool';
 * // MNIST-sized run: batches of 256 out of 60000, 60 epochs, target (1, 1e-5)-DP.
 * const sigma = noiseMultiplierFor({ targetEpsilon: 1, delta: 1e-5, sampleRate: 256 / 60000, epochs: 60 });
 * console.log(sigma); // 2.1875
 * console.log(rdpEpsilon({ sampleRate: 256 / 60000, noiseMultiplier: sigma, steps: 14062, delta: 1e-5 })); // ~0.9949
 * // The PRV accountant needs less noise for the same budget (Opacus's accountants_test: 1.34765625).
 * noiseMultiplierFor({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, epochs: 90, accountant: 'prv' });
 * ```
 */
export function noiseMultiplierFor(options: NoiseSearchOptions): number {
  checkOptions('noiseMultiplierFor', options);
  const target = checkPositive('targetEpsilon', options.targetEpsilon);
  const delta = checkDelta(options.delta);
  const q = checkSampleRate(options.sampleRate, false);
  const tolerance = options.epsilonTolerance === undefined ? 0.01 : checkPositive('epsilonTolerance', options.epsilonTolerance);
  const orders = checkOrders(options.orders, DEFAULT_ORDERS);
  const conversion = checkConversion(options.conversion);

  if ((options.epochs === undefined) === (options.steps === undefined)) {
    throw errors.invalidOption('epochs|steps', 'exactly one of epochs and steps', { epochs: options.epochs, steps: options.steps });
  }
  let steps: number;
  if (options.epochs !== undefined) {
    const epochs = checkPositive('epochs', options.epochs);
    steps = stepsFromEpochs(epochs, q);
    if (steps < 1) throw errors.invalidOption('epochs', `at least one step (epochs >= sampleRate = ${q})`, epochs);
  } else {
    steps = checkSteps(options.steps, 'steps', true);
  }

  const accountant = options.accountant ?? 'rdp';
  if (!ACCOUNTANTS.includes(accountant)) throw errors.invalidOption('accountant', "'rdp' or 'prv'", accountant);
  if (accountant === 'prv') {
    const epsError = options.epsError === undefined ? 0.01 : checkPositive('epsError', options.epsError);
    const at = (sigma: number) => prvBounds([{ sampleRate: q, noiseMultiplier: sigma, steps }], delta, epsError, delta / 1000).upper;
    return searchNoiseMultiplier('targetEpsilon', target, tolerance, at, { epsilon: epsError, why: "the PRV accountant's epsError, which its upper bound adds even for infinite noise" });
  }
  if (options.epsError !== undefined) throw errors.invalidOption('epsError', "nothing with accountant 'rdp' (it is the PRV accountant's)", options.epsError);
  const at = (sigma: number) => bestEpsilon(orders, sgmRdp(q, sigma, steps, orders), delta, conversion).epsilon;
  // With sigma -> infinity the RDP tends to 0 and epsilon to this floor; it is never reached.
  return searchNoiseMultiplier('targetEpsilon', target, tolerance, at, { epsilon: epsilonFloor(orders, delta, conversion), why: 'the epsilon of infinite noise at this delta and these orders' });
}

/**
 * Opacus's search: start at sigma = 20 and double until epsilonAt(sigma) <= target, then bisect on
 * [0, sigma] until the epsilon is within `tolerance` below the target, returning the upper end.
 * `floor` is the epsilon of infinite noise (never reached): a target at or below it is refused at
 * once, naming `field`, as is one that needs sigma > 655360 (Opacus's limit).
 */
export function searchNoiseMultiplier(field: string, target: number, tolerance: number, epsilonAt: (sigma: number) => number, floor: { epsilon: number; why: string }): number {
  if (target <= floor.epsilon) throw errors.invalidOption(field, `a number > ${floor.epsilon.toPrecision(6)} (${floor.why})`, target);
  let sigmaLow = 0;
  let sigmaHigh = 10;
  let epsHigh = Infinity;
  while (epsHigh > target) {
    if (2 * sigmaHigh > MAX_SIGMA) {
      throw errors.invalidOption(field, `a budget reachable with noiseMultiplier <= ${sigmaHigh} (which gives epsilon ${epsHigh.toPrecision(6)})`, target);
    }
    sigmaHigh *= 2;
    epsHigh = epsilonAt(sigmaHigh);
  }
  // Invariant: epsilon(sigmaHigh) = epsHigh <= target < epsilon(sigmaLow) (epsilon falls as sigma grows).
  while (target - epsHigh > tolerance) {
    const sigma = (sigmaLow + sigmaHigh) / 2;
    // Out of float resolution (only with a tolerance near machine precision): stop, keeping the bound.
    if (sigma === sigmaLow || sigma === sigmaHigh) break;
    const eps = epsilonAt(sigma);
    if (eps < target) {
      sigmaHigh = sigma;
      epsHigh = eps;
    } else {
      sigmaLow = sigma;
    }
  }
  return sigmaHigh;
}
