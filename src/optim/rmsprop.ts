/**
 * RMSProp kernel, op-for-op with tfjs's RMSPropOptimizer (see sgd.ts for the Math.fround rationale):
 *
 *   ms  = ms*d + (g*g)*(1-d)
 *   mom = mom*mu + (g*lr) / sqrt(ms + eps)                        (plain)
 *   mg  = mg*d + g*(1-d);  mom = mom*mu + (g*lr) / sqrt(ms - mg*mg + eps)   (centered)
 *   p   = p - mom
 *
 * Centered deviates from tfjs 4.22 on purpose. tfjs computes sqrt(ms - (mg*mg + eps)), i.e. it
 * SUBTRACTS epsilon. On the first update ms - mg^2 = d(1-d) g^2 = 0.09 g^2, so every parameter with
 * |g| < ~1e-3 (including g = 0) gets sqrt of a negative number and becomes NaN for good. We use
 * TensorFlow's ApplyCenteredRMSProp formula, sqrt((ms - mg*mg) + eps), with the variance clamped at
 * 0 first: it is >= 0 in exact arithmetic (Cauchy-Schwarz on the moving averages) and only dips
 * below through float32 cancellation on near-constant gradients, where TF would also produce NaN.
 * With a negligible epsilon (so that both formulas round alike) this matches tf.train bit-for-bit.
 */
import type { RmspropSpec } from './types.js';

const f = Math.fround;

/** One RMSProp update of p, ms, mom (and mg when centered) over [lo, hi). */
export function rmspropKernel(
  spec: RmspropSpec,
  lr: number,
  p: Float32Array,
  g: Float32Array,
  ms: Float32Array,
  mom: Float32Array,
  mg: Float32Array | undefined,
  lo: number,
  hi: number,
): void {
  const d = f(spec.decay);
  const oneMinusD = f(1 - spec.decay);
  const mu = f(spec.momentum);
  const eps = f(spec.epsilon);
  const lr32 = f(lr);
  if (mg !== undefined) {
    for (let i = lo; i < hi; i++) {
      const gi = g[i]!;
      const msi = f(f(ms[i]! * d) + f(f(gi * gi) * oneMinusD));
      const mgi = f(f(mg[i]! * d) + f(gi * oneMinusD));
      const variance = f(msi - f(mgi * mgi));
      // `< 0` rather than `> 0 ?` so that a NaN variance stays NaN instead of being hidden as 0.
      const denom = f(Math.sqrt(f((variance < 0 ? 0 : variance) + eps)));
      const momi = f(f(mom[i]! * mu) + f(f(gi * lr32) / denom));
      ms[i] = msi;
      mg[i] = mgi;
      mom[i] = momi;
      p[i] = f(p[i]! - momi);
    }
  } else {
    for (let i = lo; i < hi; i++) {
      const gi = g[i]!;
      const msi = f(f(ms[i]! * d) + f(f(gi * gi) * oneMinusD));
      const momi = f(f(mom[i]! * mu) + f(f(gi * lr32) / f(Math.sqrt(f(msi + eps)))));
      ms[i] = msi;
      mom[i] = momi;
      p[i] = f(p[i]! - momi);
    }
  }
}
