/**
 * Adam and AdamW kernels, op-for-op with tfjs's AdamOptimizer (see sgd.ts for why every op is
 * wrapped in Math.fround).
 *
 * Bias correction: tfjs does not compute beta^t. It keeps `accBeta` as a float32 variable that
 * starts at float32(beta) and is multiplied by float32(beta) after each update, so update t divides
 * by float32(1 - accBeta_t) with accBeta_t the float32 running product of t betas. That product
 * differs from Math.pow(beta, t) in the last bits after a few steps, so `biasCorrection` rebuilds the
 * running product from `step`, which keeps the kernel a pure function of (spec, lr, step) as slicing
 * invariance requires. (tfjs's own setWeights restores accBeta with pow(beta, t), so a tfjs optimizer
 * reloaded from a checkpoint drifts from one that was not; we always use the running product.)
 */
import type { AdamSpec, AdamWSpec } from './types.js';
import { adamSimd, type AdamConstants } from './adam-simd.js';

const f = Math.fround;

/**
 * Per-beta memo of the running product, so that a worker called with step, step+1, ... does O(1)
 * work per call instead of O(step). Each worker has its own copy; values depend only on (beta, step).
 */
const products = new Map<number, { step: number; acc: number }>();
const MAX_MEMO = 64;

/**
 * float32(1 - accBeta_step) exactly as tfjs computes it at its update number `step` (1-based).
 * The product only shrinks, and once 1 - acc rounds to 1 in float32 it stays 1, so the loop stops
 * there (after about 17k steps for beta = 0.999) instead of running to `step`.
 */
export function biasCorrection(beta: number, step: number): number {
  const b = f(beta);
  let memo = products.get(b);
  if (memo === undefined || memo.step > step) memo = { step: 1, acc: b };
  let { step: s, acc } = memo;
  while (s < step && f(1 - acc) !== 1) {
    acc = f(acc * b);
    s++;
  }
  if (!products.has(b) && products.size >= MAX_MEMO) products.clear();
  products.set(b, { step: s, acc });
  return f(1 - acc);
}

/**
 * One Adam (or AdamW) update of p[lo:hi], m[lo:hi], v[lo:hi]:
 *
 *   m = m*b1 + g*(1-b1);  v = v*b2 + (g*g)*(1-b2)
 *   p = (m / c1) / (sqrt(v / c2) + eps) * (-lr) + p * decay
 *
 * where c1, c2 are the bias corrections above and, for AdamW, decay = float32(1 - lr*weightDecay)
 * (torch.optim.AdamW's `p.mul_(1 - lr*wd)` before the Adam step; the Adam step does not read p, so
 * applying both in one expression is the same as applying them in sequence). For Adam, p*1 is exact.
 * Note (1-b1) is computed in float64 and then rounded, as tfjs does (`1 - this.beta1`), which is
 * not float32(1 - float32(b1)).
 */
export function adamKernel(
  spec: AdamSpec | AdamWSpec,
  lr: number,
  step: number,
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  lo: number,
  hi: number,
): void {
  const c = adamConstants(spec, lr, step);
  // The SIMD module gives these bits (adam-simd.ts); below a few dozen elements its copies cost more than they save.
  if (hi - lo >= SIMD_MIN && adamSimd(c, p, g, m, v, lo, hi)) return;
  adamLoop(c, p, g, m, v, lo, hi);
}

const SIMD_MIN = 64;

/** The float32 constants of update number `step` (1-based). */
export function adamConstants(spec: AdamSpec | AdamWSpec, lr: number, step: number): AdamConstants {
  return {
    b1: f(spec.beta1),
    b2: f(spec.beta2),
    oneMinusB1: f(1 - spec.beta1),
    oneMinusB2: f(1 - spec.beta2),
    c1: biasCorrection(spec.beta1, step),
    c2: biasCorrection(spec.beta2, step),
    eps: f(spec.epsilon),
    negLr: f(-lr),
    decay: spec.kind === 'adamw' ? f(1 - lr * spec.weightDecay) : 1,
  };
}

/** The kernel as a JavaScript loop: the reference the SIMD module is tested against, and its fallback. */
export function adamLoop(c: AdamConstants, p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lo: number, hi: number): void {
  const { b1, b2, oneMinusB1, oneMinusB2, c1, c2, eps, negLr, decay } = c;
  for (let i = lo; i < hi; i++) {
    const gi = g[i]!;
    const mi = f(f(m[i]! * b1) + f(gi * oneMinusB1));
    const vi = f(f(v[i]! * b2) + f(f(gi * gi) * oneMinusB2));
    m[i] = mi;
    v[i] = vi;
    const mHat = f(mi / c1);
    const vHat = f(vi / c2);
    const delta = f(f(mHat / f(f(Math.sqrt(vHat)) + eps)) * negLr);
    p[i] = f(delta + f(p[i]! * decay));
  }
}
