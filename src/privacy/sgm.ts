/**
 * Core numerics of the RDP accountant, on already-validated arguments.
 *
 * The Sampled Gaussian Mechanism (SGM) with Poisson rate q and noise multiplier sigma has, at order
 * alpha, RDP = log(A_alpha) / (alpha - 1), where A_alpha = E_{z~mu0}[(mu(z)/mu0(z))^alpha],
 * mu0 = N(0, sigma^2) and mu = (1-q) N(0, sigma^2) + q N(1, sigma^2)
 * (Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
 * arXiv:1908.10530, Section 3.3). A_alpha is computed the way TF Privacy's `rdp_accountant.py` and
 * Opacus's `opacus/accountants/analysis/rdp.py` do, so results agree with theirs to ~1e-13:
 * the binomial expansion for integer alpha, the two-sided erfc series for fractional alpha.
 */

import { errors } from '../errors.js';
import { logAdd, logErfc, logSub } from './logmath.js';
import type { RdpConversion } from './validate.js';

/**
 * Integer alpha: A_alpha = sum_{k=0..alpha} C(alpha,k) q^k (1-q)^(alpha-k) exp((k^2-k)/(2 sigma^2))
 * (Mironov et al. 2019, Section 3.3). Summed in log space around the largest term, with the rest
 * added through log1p so that log(A) ~ 1e-6 (small q) keeps its relative precision.
 */
function logAIntOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVar = 2 * sigma * sigma;
  const terms = new Float64Array(alpha + 1);
  let logBinom = 0; // log C(alpha, k), advanced by the ratio C(alpha,k)/C(alpha,k-1) = (alpha-k+1)/k
  let best = 0;
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinom += Math.log((alpha - k + 1) / k);
    terms[k] = logBinom + k * logQ + (alpha - k) * log1mQ + (k * k - k) / twoVar;
    if (terms[k]! > terms[best]!) best = k;
  }
  const top = terms[best]!;
  let rest = 0;
  for (let k = 0; k <= alpha; k++) if (k !== best) rest += Math.exp(terms[k]! - top);
  return top + Math.log1p(rest);
}

/**
 * Fractional alpha: split the integral at z0 = sigma^2 log(1/q - 1) + 1/2, where mu/mu0 crosses the
 * point that makes the generalized binomial series converge on each side, and sum
 * A = sum_i C(alpha,i) [ q^i (1-q)^(alpha-i) e^((i^2-i)/(2s^2)) erfc((i-z0)/(sqrt2 s))/2
 *                      + q^(alpha-i) (1-q)^i e^((j^2-j)/(2s^2)) erfc((z0-j)/(sqrt2 s))/2 ], j = alpha - i
 * (Mironov et al. 2019, Section 3.3). C(alpha,i) changes sign past i = ceil(alpha), so each half is a
 * signed log-space sum. The loop stops once both new terms are below e^-30, exactly the stopping rule
 * of TF Privacy and Opacus, so truncation matches theirs too.
 */
function logAFracOrder(q: number, sigma: number, alpha: number, index: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVar = 2 * sigma * sigma;
  const scale = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * (log1mQ - logQ) + 0.5; // log(1/q - 1) = log(1-q) - log(q)
  let a0 = -Infinity;
  let a1 = -Infinity;
  let logAbsCoef = 0; // log |C(alpha, i)|
  let positive = true; // sign of C(alpha, i)
  for (let i = 0; i < 1_000_000; i++) {
    if (i > 0) {
      const ratio = (alpha - i + 1) / i; // C(alpha,i)/C(alpha,i-1), negative once i > alpha + 1
      logAbsCoef += Math.log(Math.abs(ratio));
      if (ratio < 0) positive = !positive;
    }
    const j = alpha - i;
    const s0 = logAbsCoef + i * logQ + j * log1mQ + (i * i - i) / twoVar - Math.LN2 + logErfc((i - z0) / scale);
    const s1 = logAbsCoef + j * logQ + i * log1mQ + (j * j - j) / twoVar - Math.LN2 + logErfc((z0 - j) / scale);
    if (positive) {
      a0 = logAdd(a0, s0);
      a1 = logAdd(a1, s1);
    } else {
      a0 = logSub(a0, s0);
      a1 = logSub(a1, s1);
    }
    if (Number.isNaN(a0) || Number.isNaN(a1)) break; // partial sum went negative: report below
    if (Math.max(s0, s1) < -30) return logAdd(a0, a1);
  }
  // Not reached for any (q, sigma, alpha) we know of; refuse rather than return a wrong bound.
  throw errors.invalidOption(`orders[${index}]`, 'an order at which the RDP series converges in float64', alpha);
}

/** RDP of one SGM step at order alpha (Mironov et al. 2019), with the closed-form edge cases. */
function rdpOneStep(q: number, sigma: number, alpha: number, index: number): number {
  if (q === 0) return 0; // the data is never touched
  if (sigma === 0) return Infinity; // no noise, no privacy
  if (q === 1) return alpha / (2 * sigma * sigma); // plain Gaussian mechanism
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAIntOrder(q, sigma, alpha) : logAFracOrder(q, sigma, alpha, index);
  // log A >= 0 mathematically (Renyi divergences are non-negative); clamp rounding noise at tiny q.
  return Math.max(0, logA) / (alpha - 1);
}

/** RDP of `steps` SGM steps at each order: RDP composes additively. */
export function sgmRdp(q: number, sigma: number, steps: number, orders: Float64Array): Float64Array {
  const out = new Float64Array(orders.length);
  // steps = 0 means no mechanism ran; skipping it also avoids 0 * Infinity = NaN when sigma = 0.
  if (steps === 0) return out;
  for (let i = 0; i < orders.length; i++) out[i] = rdpOneStep(q, sigma, orders[i]!, i) * steps;
  return out;
}

/**
 * epsilon(alpha) for one order.
 * - 'improved': eps = rdp + log((alpha-1)/alpha) - (log(delta) + log(alpha)) / (alpha - 1), Balle et
 *   al. 2020 "Hypothesis testing interpretations and Rényi differential privacy" (arXiv:1905.09982,
 *   Theorem 21). This is the expression in current Opacus `get_privacy_spent`
 *   (opacus/accountants/analysis/rdp.py, pytorch/opacus@4d0ebc84, lines 319-323:
 *   `rdp_vec - (np.log(delta) + np.log(orders_vec)) / (orders_vec - 1) + np.log((orders_vec - 1) / orders_vec)`)
 *   and, rearranged as `r + log1p(-1/a) - log(delta * a) / (a - 1)`, in TF Privacy since Dec 2020.
 * - 'classic': eps = rdp - log(delta) / (alpha - 1), Mironov 2017 "Rényi Differential Privacy"
 *   Proposition 3; what TF Privacy used before Dec 2020 (commit be8175b) and what its older
 *   published figures were computed with.
 * At alpha = Infinity both reduce to eps = rdp (the limit of the correction terms is 0).
 */
function epsilonAtOrder(rdp: number, alpha: number, logDelta: number, conversion: RdpConversion): number {
  if (alpha === Infinity) return rdp;
  if (conversion === 'classic') return rdp - logDelta / (alpha - 1);
  return rdp + Math.log1p(-1 / alpha) - (logDelta + Math.log(alpha)) / (alpha - 1);
}

/**
 * The smallest epsilon over the orders, and the order attaining it (the first one on ties, like
 * numpy's argmin). Differences from Opacus, both only in degenerate cases and both sound:
 * - rdp = 0 at some order means the two output distributions are identical, so epsilon = 0 exactly
 *   (Opacus would report the positive slack of the conversion, e.g. 0.103 at delta = 1e-5);
 * - the result is clamped at 0 (Opacus can return a negative epsilon for delta close to 1; TF
 *   Privacy clamps the same way).
 */
export function bestEpsilon(
  orders: Float64Array,
  rdp: Float64Array,
  delta: number,
  conversion: RdpConversion,
): { epsilon: number; order: number } {
  const logDelta = Math.log(delta);
  let epsilon = Infinity;
  let order = orders[0]!;
  for (let i = 0; i < orders.length; i++) {
    if (rdp[i] === 0) return { epsilon: 0, order: orders[i]! };
    const e = epsilonAtOrder(rdp[i]!, orders[i]!, logDelta, conversion);
    if (e < epsilon) {
      epsilon = e;
      order = orders[i]!;
    }
  }
  return { epsilon: Math.max(0, epsilon), order };
}

/**
 * The smallest epsilon the conversion can ever give at this delta and these orders: its value at
 * rdp -> 0+, i.e. with infinite noise. Targets at or below it are unreachable by adding noise.
 */
export function epsilonFloor(orders: Float64Array, delta: number, conversion: RdpConversion): number {
  const logDelta = Math.log(delta);
  let floor = Infinity;
  for (const a of orders) floor = Math.min(floor, epsilonAtOrder(0, a, logDelta, conversion));
  return Math.max(0, floor);
}
