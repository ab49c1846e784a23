/**
 * Argument checks shared by the RDP accountant's public functions. Each throws the uniform
 * `name: expected …, got …` error from errors.ts; the exact wording is asserted in
 * test/privacy/rdp.test.ts, so change it deliberately.
 */

import { errors } from '../errors.js';
import { checkKnownFields } from '../validate.js';

/** The ways to turn RDP into (epsilon, delta)-DP; see `epsilonFromRdp` in rdp.ts. */
export type RdpConversion = 'improved' | 'classic';

const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

/** Each public function's option names: a misspelt one (`sigma`, `epsilon`) would otherwise be ignored. */
const KNOWN: Readonly<Record<string, readonly string[]>> = {
  computeRdp: ['sampleRate', 'noiseMultiplier', 'steps', 'orders'],
  epsilonFromRdp: ['rdp', 'orders', 'delta', 'conversion'],
  rdpEpsilon: ['sampleRate', 'noiseMultiplier', 'steps', 'orders', 'delta', 'conversion'],
  rdpEpsilonDetail: ['sampleRate', 'noiseMultiplier', 'steps', 'orders', 'delta', 'conversion'],
  noiseMultiplierFor: ['targetEpsilon', 'delta', 'sampleRate', 'epochs', 'steps', 'epsilonTolerance', 'orders', 'conversion', 'accountant', 'epsError'],
  prvEpsilon: ['sampleRate', 'noiseMultiplier', 'steps', 'phases', 'delta', 'epsError', 'deltaError'],
  prvEpsilonDetail: ['sampleRate', 'noiseMultiplier', 'steps', 'phases', 'delta', 'epsError', 'deltaError'],
};

/**
 * The options bag itself must be a plain object, or every field check would throw a TypeError, and
 * hold only `op`'s option names (`rdpEpsilon options.sigma: unknown field (expected one of: …)`).
 */
export function checkOptions(op: string, v: unknown): asserts v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw errors.type(`${op} options`, 'an object', v);
  const known = KNOWN[op];
  if (!known) throw new Error(`internal: no option names listed for ${op}`); // a new public function must list its options above
  checkKnownFields(`${op} options`, v, known);
}

/** Poisson sampling probability; `allowZero` is false where q = 0 makes the question meaningless. */
export function checkSampleRate(v: unknown, allowZero = true): number {
  const ok = isNum(v) && v <= 1 && (allowZero ? v >= 0 : v > 0);
  if (!ok) throw errors.invalidOption('sampleRate', allowZero ? 'a number in [0, 1]' : 'a number in (0, 1]', v);
  return v;
}

export function checkNoiseMultiplier(v: unknown): number {
  if (!isNum(v) || !Number.isFinite(v) || v < 0) throw errors.invalidOption('noiseMultiplier', 'a finite number >= 0', v);
  return v;
}

export function checkSteps(v: unknown, name = 'steps', positive = false): number {
  if (!isNum(v) || !Number.isSafeInteger(v) || v < (positive ? 1 : 0)) {
    throw errors.invalidOption(name, positive ? 'a positive integer' : 'a non-negative integer', v);
  }
  return v;
}

export function checkDelta(v: unknown): number {
  if (!isNum(v) || !(v > 0 && v < 1)) throw errors.invalidOption('delta', 'a number in (0, 1)', v);
  return v;
}

export function checkPositive(name: string, v: unknown): number {
  if (!isNum(v) || !Number.isFinite(v) || v <= 0) throw errors.invalidOption(name, 'a finite number > 0', v);
  return v;
}

export function checkConversion(v: unknown): RdpConversion {
  if (v === undefined) return 'improved';
  if (v !== 'improved' && v !== 'classic') throw errors.invalidOption('conversion', '"improved" or "classic"', v);
  return v;
}

const isArrayLike = (v: unknown): v is ArrayLike<unknown> =>
  Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));

/**
 * RDP orders: every alpha must exceed 1 (alpha = 1 is the KL divergence, which the sampled-Gaussian
 * formulas and both conversions divide by alpha - 1 to avoid). +Infinity is allowed and has infinite
 * RDP unless q = 0, as in TF Privacy.
 */
export function checkOrders(v: unknown, fallback: readonly number[]): Float64Array {
  if (v === undefined) return Float64Array.from(fallback);
  if (!isArrayLike(v) || v.length === 0) throw errors.invalidOption('orders', 'a non-empty array of numbers > 1', v);
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const a = v[i];
    if (!isNum(a) || !(a > 1)) throw errors.invalidOption(`orders[${i}]`, 'a number > 1', a);
    out[i] = a;
  }
  return out;
}

/** Per-order RDP values as produced by `computeRdp` (possibly summed over several phases). */
export function checkRdp(v: unknown, length: number): Float64Array {
  if (!isArrayLike(v) || v.length !== length) {
    throw errors.invalidOption('rdp', `an array of ${length} numbers (one per order)`, v);
  }
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const r = v[i];
    if (!isNum(r) || r < 0) throw errors.invalidOption(`rdp[${i}]`, 'a number >= 0', r);
    out[i] = r;
  }
  return out;
}
