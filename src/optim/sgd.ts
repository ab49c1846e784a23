/**
 * SGD and momentum kernels.
 *
 * Every kernel in src/optim reproduces tfjs's arithmetic op by op: tfjs's CPU backend stores the
 * result of every op in a Float32Array, so each intermediate is rounded to float32, and each scalar
 * hyperparameter becomes a float32 scalar tensor. Wrapping each operation in Math.fround does the
 * same (float64 has more than 2*24+2 bits, so computing + - * / sqrt in float64 and rounding once to
 * float32 is the correctly rounded float32 result). The kernels therefore agree with tf.train
 * bit-for-bit on the CPU backend, and, being purely elementwise with per-call scalars that depend
 * only on (spec, lr, step), give identical bits whatever [lo, hi) slices the workers are handed.
 */
import type { MomentumSpec } from './types.js';

const f = Math.fround;

/** tf.train.sgd: `value = c * g + value` with `c = float32(-lr)`. */
export function sgdKernel(lr: number, p: Float32Array, g: Float32Array, lo: number, hi: number): void {
  const c = f(-lr);
  for (let i = lo; i < hi; i++) p[i] = f(f(c * g[i]!) + p[i]!);
}

/**
 * tf.train.momentum: `acc = m * acc + g`; then `value = c * acc + value`, or with Nesterov
 * `value = c * (g + acc * m) + value` (tfjs's operand order kept: it decides rounding).
 */
export function momentumKernel(
  spec: MomentumSpec,
  lr: number,
  p: Float32Array,
  g: Float32Array,
  acc: Float32Array,
  lo: number,
  hi: number,
): void {
  const c = f(-lr);
  const m = f(spec.momentum);
  if (spec.useNesterov) {
    for (let i = lo; i < hi; i++) {
      const gi = g[i]!;
      const a = f(f(m * acc[i]!) + gi);
      acc[i] = a;
      p[i] = f(f(c * f(gi + f(a * m))) + p[i]!);
    }
  } else {
    for (let i = lo; i < hi; i++) {
      const a = f(f(m * acc[i]!) + g[i]!);
      acc[i] = a;
      p[i] = f(f(c * a) + p[i]!);
    }
  }
}
