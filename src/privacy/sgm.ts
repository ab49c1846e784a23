/**
 * Core numerics of the RDP accountant, on already-validated arguments.
 *
 * The Sampled Gaussian Mechanism (SGM) with Poisson rate q and noise multiplier sigma has, at order
 * alpha, RDP = log(A_alpha) / (alpha - 1), where A_alpha = E_{z~mu0}[(mu(z)/mu0(z))^alpha],
 * mu0 = N(0, sigma^2) and mu = (1-q) N(0, sigma^2) + q N(1, sigma^2)
 * (Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
 * arXiv:1908.10530, Section 3.3). A_alpha is computed the way TF Privacy's `rdp_accountant.py` and
 * Opacus's `opacus/accountants/analysis/rdp.py` do: the binomial expansion for integer alpha, the
 * two-sided erfc series (same e^-30 cutoff) for fractional alpha. Epsilons agree with theirs to
 * ~1e-12 relative; integer-order RDP is summed in a cancellation-free form (see logAIntOrder).
 */

import { errors } from '../errors.js';
import { logAdd, logErfc, logSub } from './logmath.js';
import type { RdpConversion } from './validate.js';

/**
 * Opacus's `RDPAccountant.DEFAULT_ALPHAS`: `[1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))`,
 * i.e. 1.1, 1.2, …, 10.9 and 12, 13, …, 63 (151 orders). Same float arithmetic, so the same values.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10.0),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
]);

/**
 * Integer alpha: A_alpha = sum_{k=0..alpha} C(alpha,k) q^k (1-q)^(alpha-k) exp((k^2-k)/(2 sigma^2))
 * (Mironov et al. 2019, Section 3.3). The binomial weights sum to 1 and the exponent vanishes at
 * k = 0, 1, so we sum only the excess A - 1 = sum_{k>=2} C(alpha,k) q^k (1-q)^(alpha-k) expm1(c_k) in
 * log space and return log1p(A - 1). Summing the full series around its largest term (as TF Privacy
 * and Opacus do) cancels ~1 against ~1 and leaves log A ~ 1e-9 (tiny q) with relative error up to
 * 1e-6; this form keeps ~1e-14.
 */
function logAIntOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVar = 2 * sigma * sigma;
  let logBinom = Math.log(alpha); // log C(alpha, 1); advanced by C(alpha,k)/C(alpha,k-1) = (alpha-k+1)/k
  // Streaming log-sum-exp (no array, so a huge integer order costs time, not memory).
  let top = -Infinity;
  let sum = 0;
  for (let k = 2; k <= alpha; k++) {
    logBinom += Math.log((alpha - k + 1) / k);
    const c = (k * k - k) / twoVar;
    const logExpm1 = c > 1 ? c + Math.log1p(-Math.exp(-c)) : Math.log(Math.expm1(c));
    const t = logBinom + k * logQ + (alpha - k) * log1mQ + logExpm1;
    if (t > top) {
      sum = sum * Math.exp(top - t) + 1;
      top = t;
    } else {
      sum += Math.exp(t - top);
    }
  }
  if (top === -Infinity) return 0;
  const logExcess = top + Math.log(sum);
  // log1p(exp(x)) without overflow for large x.
  return logExcess > 0 ? logExcess + Math.log1p(Math.exp(-logExcess)) : Math.log1p(Math.exp(logExcess));
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
  if (sigma * sigma === 0) return Infinity; // sigma^2 underflows: as good as no noise
  // Subsampling only lowers RDP, so the q = 1 value bounds it; when that bound rounds to 0 (sigma^2
  // overflows) the series below would meet Infinity * 0, so return the bound.
  if (alpha / (2 * sigma * sigma) === 0) return 0;
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
 * numpy's argmin in Opacus). One deliberate difference from Opacus: the result is clamped at 0, as TF
 * Privacy does; the formula goes negative only for delta close to 1 (e.g. rdp = 0, alpha = 2,
 * delta = 0.9), where Opacus would report a meaningless negative epsilon. Note that rdp = 0 (q = 0
 * or steps = 0) still gives the conversion's slack, epsilonFloor(), not 0, exactly as in Opacus.
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
