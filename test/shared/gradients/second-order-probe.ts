/**
 * The second-order check of one kernel, from its probe (test/shared/kernels/gradient-probes.ts): a
 * Hessian-vector product through tfjs's tape against finite differences of the first derivative.
 *
 * The loss is L(xs) = Σ w⊙f(xs) + c⊙f(xs)² with seeded w, c: the square makes the first backward
 * pass's dy depend on xs, so the check differentiates each gradient function in its dy as well as in
 * its saved tensors (a linear op's gradient is then exercised too; with Σ w⊙f alone it would be a
 * constant). The product is ∇(⟨∇L, v⟩) for a seeded direction v.
 *
 * The oracle: (∇L(x + εv) − ∇L(x − εv)) / 2ε, Richardson-extrapolated over ε = 2⁻⁶ and 2⁻⁷ (O(ε⁴)
 * truncation), the differences taken in float64. ∇L itself can only be evaluated in float32 (tfjs's
 * cpu backend has no float64), so the oracle carries rounding noise of ~1.5·(a few ulps of |∇L|)/ε ≈
 * 4e-5·max|∇L|; the tolerance is 1e-4 of max(|oracle|, |∇L|), elementwise maximum error. The probe's float
 * inputs are first rounded to multiples of 2⁻¹² and v's entries to multiples of 2⁻⁸, so x ± εv is
 * exactly representable in float32: the differences are taken exactly along v.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeAbandonedTape } from '../../../src/shared/batching/engine.js';
import { uniform } from '../../helpers/data.js';
import { probeArgs, type Probe } from '../kernels/gradient-probes.js';

type T = tf.Tensor;

/** How a kernel's second derivative fared. */
export type SecondOrder =
  | { ok: true; error: number }
  | { ok: false; unsupported: string }
  | { ok: false; wrong: string };

const STEPS = [2 ** -6, 2 ** -7] as const;
const TOLERANCE = 1e-4;

const grid = (values: ArrayLike<number>, bits: number) => Float32Array.from(values, (v) => Math.round(v * 2 ** bits) / 2 ** bits);
const maxAbs = (xs: Float64Array) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Reads tensors made by `fn` as float64 arrays, and disposes everything `fn` made. */
function read(fn: () => T[]): Float64Array[] {
  const ts = tf.tidy(fn);
  try {
    return ts.map((t) => Float64Array.from(t.dataSync()));
  } finally {
    tf.dispose(ts);
  }
}

/** L and ∇L at `xs` (zeros for an input L does not depend on). */
function firstOrder(loss: (xs: T[]) => T, xs: T[]): { value: number; grads: Float64Array[] } {
  const [value, ...grads] = read(() => {
    const { value, grads } = tf.engine().gradients(() => loss(xs), xs, undefined, true);
    return [value, ...grads.map((g, k) => g ?? tf.zerosLike(xs[k]!))];
  });
  return { value: value![0]!, grads };
}

/** The kernel a gradient ran that has no gradient itself, from tfjs's message, if that is why it threw. */
const missingGradient = (e: unknown) => /gradient function not found for (\w+)/.exec((e as Error).message)?.[1];

/**
 * Runs the second-order check of `kernel` through `probe` on the current backend. Unsupported
 * outcomes say why, from what the run found: the probe calls the gradient directly (no op runs the
 * kernel), it has no float input, its gradient runs a kernel without a gradient, or its first
 * derivative already differs from finite differences of L (tfjs's gradient is a convention there).
 */
export function secondOrder(kernel: string, probe: Probe): SecondOrder {
  if (!('f' in probe)) return { ok: false, unsupported: 'not run by any op (its gradient is only called directly)' };
  const args = probeArgs(probe);
  try {
    const float = args.flatMap((a, k) => (a.dtype === 'float32' ? [k] : []));
    if (!float.length) return { ok: false, unsupported: 'no float input to differentiate (integer indices only)' };
    const at = float.map((k) => grid(args[k]!.dataSync(), 12));
    const shapes = float.map((k) => args[k]!.shape);
    const out = tf.tidy(() => tf.cast(probe.f(...args), 'float32'));
    const w = tf.tensor(uniform(out.size, 101), out.shape);
    const c = tf.tensor(uniform(out.size, 102), out.shape);
    out.dispose();
    const v = at.map((a, j) => grid(uniform(a.length, 200 + j), 8));
    const loss = (xs: T[]) => {
      const all = args.slice();
      float.forEach((k, j) => (all[k] = xs[j]!));
      const y = tf.cast(probe.f(...all), 'float32');
      return tf.sum(tf.add(tf.mul(w, y), tf.mul(c, tf.square(y))));
    };
    const point = (e: number) => at.map((a, j) => tf.tensor(Float32Array.from(a, (x, i) => x + e * v[j]![i]!), shapes[j]));
    const gradAt = (e: number) => {
      const xs = point(e);
      try {
        return firstOrder(loss, xs);
      } finally {
        tf.dispose(xs);
      }
    };
    try {
      // D(ε) = (∇L(x + εv) − ∇L(x − εv)) / 2ε; R = (4 D(ε/2) − D(ε)) / 3.
      const [d1, d2] = STEPS.map((e) => {
        const up = gradAt(e);
        const down = gradAt(-e);
        return { grad: up.grads.map((g, j) => g.map((u, i) => (u - down.grads[j]![i]!) / (2 * e))), loss: (up.value - down.value) / (2 * e) };
      });
      const oracle = d1!.grad.map((g, j) => g.map((a, i) => (4 * d2!.grad[j]![i]! - a) / 3));
      let hvp: Float64Array[];
      const xs = point(0);
      const vs = v.map((d, j) => tf.tensor(d, shapes[j]));
      try {
        hvp = read(() => {
          const inner = () => {
            const { grads } = tf.engine().gradients(() => loss(xs), xs, undefined, true);
            return tf.addN(grads.map((g, j) => tf.sum(tf.mul(g ?? tf.zerosLike(xs[j]!), vs[j]!))));
          };
          return tf.engine().gradients(inner, xs, undefined, true).grads.map((g, j) => g ?? tf.zerosLike(xs[j]!));
        });
      } catch (e) {
        disposeAbandonedTape(); // a tf.grads that throws leaves its tape's saved tensors behind
        const k = missingGradient(e);
        if (k) return { ok: false, unsupported: `its gradient runs ${k}, which has no gradient` };
        throw e;
      } finally {
        tf.dispose([...xs, ...vs]);
      }
      // The oracle's rounding noise scales with ∇L (its float32 evaluations), not with the product.
      const g0 = gradAt(0).grads;
      const scale = Math.max(...oracle.map(maxAbs), ...g0.map(maxAbs));
      const error = Math.max(...hvp.map((h, j) => maxAbs(h.map((x, i) => x - oracle[j]![i]!))));
      if (Number.isFinite(error) && error <= TOLERANCE * scale) return { ok: true, error: scale > 0 ? error / scale : error };
      // Is the first derivative itself the derivative of L? ⟨∇L, v⟩ against L's own differences.
      const directional = g0.reduce((s, g, j) => s + g.reduce((t, x, i) => t + x * v[j]![i]!, 0), 0);
      const fdLoss = (4 * d2!.loss - d1!.loss) / 3;
      if (Math.abs(directional - fdLoss) > 1e-2 * Math.max(1, Math.abs(fdLoss))) {
        return { ok: false, unsupported: `its first derivative is not L's (⟨∇L, v⟩ = ${directional.toPrecision(4)}, finite differences ${fdLoss.toPrecision(4)}): tfjs's gradient is a convention here` };
      }
      return { ok: false, wrong: `Hessian-vector product off by ${error.toPrecision(3)} of scale ${scale.toPrecision(3)} (tolerance ${TOLERANCE} of scale)` };
    } finally {
      tf.dispose([w, c]);
    }
  } finally {
    tf.dispose(args);
  }
}
