/**
 * Rényi-DP accountant for DP-SGD with Poisson sampling (the Sampled Gaussian Mechanism), in plain
 * float64 TypeScript. Numbers match Opacus's RDP accountant (opacus/accountants/analysis/rdp.py and
 * opacus/accountants/utils.py) and TF Privacy's rdp_accountant.py; see sgm.ts for the algorithm and
 * test/privacy/rdp.test.ts for the published figures it reproduces.
 *
 * Composition: RDP adds up over mechanisms at the same order, so a run with several phases (changing
 * q or sigma) is `epsilonFromRdp` of the element-wise sum of each phase's `computeRdp`.
 */

import { DEFAULT_ORDERS, bestEpsilon, sgmRdp } from './sgm.js';
import {
  checkConversion,
  checkDelta,
  checkNoiseMultiplier,
  checkOptions,
  checkOrders,
  checkRdp,
  checkSampleRate,
  checkSteps,
  type RdpConversion,
} from './validate.js';

export { DEFAULT_ORDERS } from './sgm.js';
export { noiseMultiplierFor, type NoiseSearchOptions } from './noise.js';
export { erf, erfc, logErfc } from './logmath.js';
export type { RdpConversion } from './validate.js';

/** One phase of DP-SGD: `steps` steps with Poisson rate `sampleRate` and noise multiplier `noiseMultiplier`. */
export interface RdpOptions {
  /** Poisson sampling rate q in [0, 1] (expected batch size / dataset size). */
  sampleRate: number;
  /** Noise standard deviation over the clipping norm, sigma >= 0 (0 means no privacy). */
  noiseMultiplier: number;
  /** Number of steps, a non-negative integer. */
  steps: number;
  /** RDP orders alpha > 1 (+Infinity allowed); default {@link DEFAULT_ORDERS}. */
  orders?: readonly number[] | Float64Array;
}

/** {@link RdpOptions} plus the delta and conversion used to turn RDP into (epsilon, delta)-DP. */
export interface EpsilonOptions extends RdpOptions {
  /** Target delta in (0, 1). */
  delta: number;
  /**
   * 'improved' (default): Balle et al. 2020 Theorem 21, as in current Opacus and TF Privacy.
   * 'classic': eps = rdp - log(delta)/(alpha - 1) (Mironov 2017), as in TF Privacy before Dec 2020;
   * use it to reproduce older published figures. 'improved' is never larger for the orders used here.
   */
  conversion?: RdpConversion;
}

/** An epsilon and the RDP order that attains it. */
export interface EpsilonDetail {
  epsilon: number;
  /**
   * The optimal order. If it is the smallest or largest of the orders, a wider range of orders may
   * give a smaller epsilon (Opacus warns in that case).
   */
  order: number;
}

/**
 * RDP of `steps` steps of the Sampled Gaussian Mechanism at each order (Mironov, Talwar & Zhang
 * 2019): integer orders exactly via the binomial expansion, fractional ones via the erfc series.
 * Edge cases: sampleRate 0 gives 0, sampleRate 1 gives alpha / (2 sigma^2) per step, noiseMultiplier
 * 0 gives Infinity (for steps > 0).
 *
 * @example
 * ```ts
 * import { computeRdp } from './rdp.js'; // internal: not in gradpool's public API
 * const rdp = computeRdp({ sampleRate: 0.01, noiseMultiplier: 2.5, steps: 50, orders: [1.5, 2.5, 5, 50] });
 * console.log(Array.from(rdp)); // ≈ [0.00065007, 0.00108542, 0.00218076, 0.0238460]
 * ```
 */
export function computeRdp(options: RdpOptions): Float64Array {
  checkOptions('computeRdp', options);
  const q = checkSampleRate(options.sampleRate);
  const sigma = checkNoiseMultiplier(options.noiseMultiplier);
  const steps = checkSteps(options.steps);
  const orders = checkOrders(options.orders, DEFAULT_ORDERS);
  return sgmRdp(q, sigma, steps, orders);
}

/**
 * Turns per-order RDP values into the best (epsilon, delta) guarantee over the orders. Use it for
 * runs composed of several phases: sum the phases' {@link computeRdp} arrays (same orders) first.
 *
 * @example
 * ```ts
 * import { computeRdp, epsilonFromRdp, DEFAULT_ORDERS } from './rdp.js'; // internal
 * const warmup = computeRdp({ sampleRate: 0.01, noiseMultiplier: 2, steps: 100 });
 * const main = computeRdp({ sampleRate: 0.02, noiseMultiplier: 1, steps: 1000 });
 * const total = warmup.map((r, i) => r + main[i]!);
 * console.log(epsilonFromRdp({ rdp: total, orders: DEFAULT_ORDERS, delta: 1e-5 })); // { epsilon, order }
 * ```
 */
export function epsilonFromRdp(options: {
  rdp: readonly number[] | Float64Array;
  orders?: readonly number[] | Float64Array;
  delta: number;
  conversion?: RdpConversion;
}): EpsilonDetail {
  checkOptions('epsilonFromRdp', options);
  const orders = checkOrders(options.orders, DEFAULT_ORDERS);
  const rdp = checkRdp(options.rdp, orders.length);
  const delta = checkDelta(options.delta);
  const conversion = checkConversion(options.conversion);
  return bestEpsilon(orders, rdp, delta, conversion);
}

/**
 * The (epsilon, delta)-DP guarantee of DP-SGD with Poisson sampling under the RDP accountant, and
 * the RDP order attaining it; the equivalent of Opacus `RDPAccountant.get_privacy_spent(delta)`
 * after `steps` identical steps.
 *
 * @example
 * ```ts
 * import { rdpEpsilonDetail } from 'gradpool';
 * const { epsilon, order } = rdpEpsilonDetail({ sampleRate: 0.04, noiseMultiplier: 1.5, steps: 2250, delta: 1e-5 });
 * console.log(epsilon, order); // 7.32911117143…, 3.9
 * ```
 */
export function rdpEpsilonDetail(options: EpsilonOptions): EpsilonDetail {
  return epsilonDetail('rdpEpsilonDetail', options);
}

function epsilonDetail(op: string, options: EpsilonOptions): EpsilonDetail {
  checkOptions(op, options);
  const q = checkSampleRate(options.sampleRate);
  const sigma = checkNoiseMultiplier(options.noiseMultiplier);
  const steps = checkSteps(options.steps);
  const delta = checkDelta(options.delta);
  const orders = checkOrders(options.orders, DEFAULT_ORDERS);
  const conversion = checkConversion(options.conversion);
  return bestEpsilon(orders, sgmRdp(q, sigma, steps, orders), delta, conversion);
}

/**
 * The epsilon of {@link rdpEpsilonDetail}, alone.
 *
 * @example
 * ```ts
 * import { rdpEpsilon } from 'gradpool';
 * // TF Privacy's MNIST tutorial: batch 256 of 60000, sigma 1.1, 60 epochs.
 * const steps = Math.ceil((60 * 60000) / 256);
 * console.log(rdpEpsilon({ sampleRate: 256 / 60000, noiseMultiplier: 1.1, steps, delta: 1e-5 })); // ≈ 2.597
 * ```
 */
export function rdpEpsilon(options: EpsilonOptions): number {
  return epsilonDetail('rdpEpsilon', options).epsilon;
}
