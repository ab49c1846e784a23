/**
 * Core numerics of the PRV accountant (privacy random variables; Gopi, Lee & Wutschitz 2021,
 * "Numerical Composition of Differential Privacy", arXiv:2106.02848), on already-validated
 * arguments. A faithful float64 port of Opacus's `opacus/accountants/prv.py` and
 * `opacus/accountants/analysis/prv/{prvs,domain,compose}.py` (itself adapted from
 * microsoft/prv_accountant): the same privacy-loss CDF, truncation, domain and mesh, discretisation
 * with the mean-preserving shift, FFT self-composition per phase, pairwise convolution across phases,
 * and ε recovered from the composed PMF. Deliberate differences, all at the rounding level: the
 * discretisation shares each cell edge between neighbours (so the PMF telescopes exactly), and the
 * "floating point errors dominate" check uses float64's epsilon (Opacus: long double's, 1e-19),
 * because every sum here is float64.
 */

import { erfc } from './logmath.js';
import { circularSelfConvolve, convolveSame } from './fft.js';
import { integrate } from './quad.js';
import { DEFAULT_ORDERS, bestEpsilon, sgmRdp } from './sgm.js';

/** One stretch of identical DP-SGD steps: Poisson rate q, noise multiplier σ, how many. */
export interface PrivacyPhase {
  sampleRate: number;
  noiseMultiplier: number;
  steps: number;
}

/** A grid t_min, t_min + dt, …, t_max of `size` (even) points, offset by `shifts` from where it was built. */
export class Domain {
  constructor(
    readonly tMin: number,
    readonly tMax: number,
    readonly size: number,
    readonly shifts = 0,
  ) {}

  /** Opacus `Domain.create_aligned`: ends on multiples of dt, an even number of points. */
  static aligned(tMin: number, tMax: number, dt: number): Domain {
    const lo = Math.floor(tMin / dt) * dt;
    let hi = Math.ceil(tMax / dt) * dt;
    let size = Math.round((hi - lo) / dt) + 1; // np.round: half to even; (hi-lo)/dt is within ulps of an integer here
    if (size % 2 === 1) {
      size += 1;
      hi += dt;
    }
    const d = new Domain(lo, hi, size);
    if (Math.abs(d.dt - dt) / dt >= 1e-8) throw new Error(`internal: PRV domain mesh ${d.dt} differs from ${dt}`);
    return d;
  }

  get dt(): number {
    return (this.tMax - this.tMin) / (this.size - 1);
  }

  shiftRight(dt: number): Domain {
    return new Domain(this.tMin + dt, this.tMax + dt, this.size, this.shifts + dt);
  }

  /** numpy.linspace(t_min, t_max, size): i·step + t_min, the last point exactly t_max. */
  ts(): Float64Array {
    const out = new Float64Array(this.size);
    const step = (this.tMax - this.tMin) / (this.size - 1);
    for (let i = 0; i < this.size; i++) out[i] = i * step + this.tMin;
    out[this.size - 1] = this.tMax;
    return out;
  }
}

/**
 * CDF of the privacy loss of the Poisson-subsampled Gaussian mechanism (Gopi et al. 2021,
 * Proposition B4; Opacus `PoissonSubsampledGaussianPRV.cdf`), same expression term for term.
 */
export function prvCdf(q: number, sigma: number, t: number): number {
  if (!(t > Math.log(1 - q))) return 0;
  const z = Math.log((Math.exp(t) + q - 1) / q);
  const s2 = sigma * sigma;
  const d = 2 * Math.SQRT2 * sigma;
  return (-q * erfc((2 * z * s2 - 1) / d)) / 2 - ((1 - q) * erfc((2 * z * s2 + 1) / d)) / 2 + 1.0;
}

/** The PRV conditioned on [tMin, tMax) (Opacus `TruncatedPrivacyRandomVariable`). */
class TruncatedPrv {
  private readonly cdfMin: number;
  private readonly mass: number;
  constructor(
    private readonly q: number,
    private readonly sigma: number,
    readonly tMin: number,
    readonly tMax: number,
  ) {
    this.cdfMin = prvCdf(q, sigma, tMin);
    this.mass = prvCdf(q, sigma, tMax) - this.cdfMin;
  }

  cdf(t: number): number {
    if (t < this.tMin) return 0;
    if (t < this.tMax) return (prvCdf(this.q, this.sigma, t) - this.cdfMin) / this.mass;
    return 1;
  }

  /** E[T] = Σ over pieces of [t·F(t)] − ∫F, split at Opacus's log-spaced points around 0. */
  mean(): number {
    const lower = Math.trunc(Math.log10(Math.abs(this.tMin)));
    const upper = Math.trunc(Math.log10(this.tMax));
    const logspace = (a: number, b: number) => Array.from({ length: 10 }, (_, i) => 10 ** (i === 9 ? b : a + (i * (b - a)) / 9));
    const points = [this.tMin, ...logspace(lower, -5).map((x) => -x), 0, ...logspace(-5, upper), this.tMax];
    const f = (t: number) => this.cdf(t);
    let mean = 0;
    for (let i = 0; i + 1 < points.length; i++) {
      const left = points[i]!;
      const right = points[i + 1]!;
      const integral = integrate(f, left, right, { limit: 500 }).value;
      mean += right * f(right) - left * f(left) - integral;
    }
    return mean;
  }
}

/** A PMF on a domain. */
export interface DiscretePrv {
  pmf: Float64Array;
  domain: Domain;
}

/** Opacus `discretize`: cell masses F(t + dt/2) − F(t − dt/2), shifted so the mean is the continuous one. */
function discretize(prv: TruncatedPrv, domain: Domain): DiscretePrv {
  const ts = domain.ts();
  const half = domain.dt / 2;
  const pmf = new Float64Array(domain.size);
  let left = prv.cdf(ts[0]! - half);
  let meanD = 0;
  for (let i = 0; i < domain.size; i++) {
    const right = prv.cdf(ts[i]! + half);
    pmf[i] = right - left;
    left = right;
    meanD += ts[i]! * pmf[i]!;
  }
  const shift = prv.mean() - meanD;
  if (Math.abs(shift) >= half) throw new Error('internal: PRV discrete mean differs significantly from the continuous mean');
  return { pmf, domain: domain.shiftRight(shift) };
}

/** Opacus `_compose_fourier`: the n-fold self-composition, re-centred by a roll. */
function composeFourier(d: DiscretePrv, n: number): DiscretePrv {
  const composed = circularSelfConvolve(d.pmf, n);
  const size = composed.length;
  let m = n - 1;
  if (n % 2 === 0) m += size / 2;
  m %= size;
  const rolled = new Float64Array(size);
  for (let i = 0; i < size; i++) rolled[(i + m) % size] = composed[i]!;
  return { pmf: rolled, domain: d.domain.shiftRight(d.domain.shifts * (n - 1)) };
}

/** Opacus `_compose_convolution_tree`: convolve neighbours until one PMF is left. */
function composeTree(list: DiscretePrv[]): DiscretePrv {
  let level = list.slice();
  while (level.length > 1) {
    const next: DiscretePrv[] = [];
    if (level.length % 2 === 1) next.push(level.pop()!);
    for (let i = 0; i + 1 < level.length; i += 2) {
      const l = level[i]!;
      const r = level[i + 1]!;
      next.push({ pmf: convolveSame(l.pmf, r.pmf), domain: l.domain.shiftRight(r.domain.shifts) });
    }
    level = next;
  }
  return level[0]!;
}

/** Opacus's RDP accountant ε over phases (its default orders, improved conversion). */
function rdpOfPhases(phases: readonly PrivacyPhase[], delta: number): number {
  const orders = Float64Array.from(DEFAULT_ORDERS);
  const total = new Float64Array(orders.length);
  for (const p of phases) sgmRdp(p.sampleRate, p.noiseMultiplier, p.steps, orders).forEach((r, i) => (total[i]! += r));
  return bestEpsilon(orders, total, delta, 'improved').epsilon;
}

/** Opacus `compute_safe_domain_size` (Gopi et al. Remark 5.6, as the authors' code implements it). */
function safeDomainSize(phases: readonly PrivacyPhase[], epsError: number, deltaError: number): number {
  const total = phases.reduce((n, p) => n + p.steps, 0);
  let lMax = rdpOfPhases(phases, deltaError / 4);
  for (const p of phases) lMax = Math.max(lMax, rdpOfPhases([{ ...p, steps: 1 }], deltaError / (8 * total)));
  return Math.max(lMax, epsError) + 3;
}

/** The composed PRV of all phases (Opacus `PRVAccountant._get_dprv`). */
export function composedPrv(phases: readonly PrivacyPhase[], epsError: number, deltaError: number): DiscretePrv {
  const total = phases.reduce((n, p) => n + p.steps, 0);
  const L = safeDomainSize(phases, epsError, deltaError);
  const mesh = epsError / Math.sqrt((total * Math.log(12 / deltaError)) / 2);
  const domain = Domain.aligned(-L, L, mesh);
  const parts = phases.map((p) => composeFourier(discretize(new TruncatedPrv(p.sampleRate, p.noiseMultiplier, domain.tMin, domain.tMax), domain), p.steps));
  return composeTree(parts);
}

/** numpy.searchsorted(a, key, side='left') with numpy's own bisection (a is sorted up to round-off). */
function searchLeft(a: Float64Array, key: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    if (a[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Opacus `DiscretePRV.compute_epsilon`: [lower, estimate, upper] of ε at δ. */
export function epsilonBounds(d: DiscretePrv, delta: number, deltaError: number, epsError: number): { lower: number; estimate: number; upper: number } {
  const n = d.domain.size;
  if (Number.EPSILON * n > delta - deltaError) throw new Error(`floating point errors dominate for delta = ${delta} on a ${n}-point grid`);
  const t = d.domain.ts();
  const d1 = new Float64Array(n);
  const d2 = new Float64Array(n);
  let s1 = 0;
  let s2 = 0;
  for (let i = n - 1; i >= 0; i--) {
    s1 += d.pmf[i]!;
    s2 += d.pmf[i]! * Math.exp(-t[i]!);
    d1[i] = s1;
    d2[i] = s2;
  }
  const ndelta = new Float64Array(n);
  for (let i = 0; i < n; i++) ndelta[i] = Math.exp(t[i]!) * d2[i]! - d1[i]!;
  const find = (target: number) => {
    const i = searchLeft(ndelta, -target);
    if (i <= 0) throw new Error(`cannot compute epsilon at delta = ${target}: the privacy loss exceeds the accountant's domain`);
    return Math.log((d1[i]! - target) / d2[i]!);
  };
  return { lower: find(delta + deltaError) - epsError, estimate: find(delta), upper: find(delta - deltaError) + epsError };
}

/**
 * [lower, estimate, upper] of ε at δ for `phases`: phases that touch no data (q = 0 or no steps) are
 * left out, none left is ε = 0, and σ = 0 on data is ε = ∞.
 */
export function prvBounds(phases: readonly PrivacyPhase[], delta: number, epsError: number, deltaError: number): { lower: number; estimate: number; upper: number } {
  const live = phases.filter((p) => p.sampleRate > 0 && p.steps > 0);
  if (live.length === 0) return { lower: 0, estimate: 0, upper: 0 };
  if (live.some((p) => p.noiseMultiplier === 0)) return { lower: Infinity, estimate: Infinity, upper: Infinity };
  return epsilonBounds(composedPrv(live, epsError, deltaError), delta, deltaError, epsError);
}
