/**
 * `tensordot`: numpy/torch-style tensor contraction for single-sample models.
 *
 * tfjs has no general contraction op, and `tf.einsum` lacks gradients for several patterns. This one
 * is built only from `tf.transpose`, `tf.reshape` and `tf.matMul`, all of which have tfjs gradients,
 * so `tf.grad`/`tf.grads` (and gradpool's per-sample machinery on top of them) differentiate it with
 * no custom gradient code.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';

/** Either a contraction count N, or a pair of axis lists `[axesOfA, axesOfB]` contracted pairwise. */
export type TensordotAxes = number | [number[], number[]];

/**
 * Contracts `a` with `b` over the given axes, like `numpy.tensordot` / `torch.tensordot`.
 *
 * - `axes = N` (an integer in `[0, min(rank a, rank b)]`) contracts the last N axes of `a` with the
 *   first N axes of `b`; `N = 0` is the outer product, `N = 1` on two matrices is `matMul`.
 * - `axes = [axesA, axesB]` contracts `a`'s axis `axesA[i]` with `b`'s axis `axesB[i]` for every i.
 *   Negative axes count from the end (`-1` is the last axis).
 *
 * The result's shape is `a`'s remaining (free) axes in order, then `b`'s free axes in order. Both
 * inputs must be float32. Differentiable with respect to both inputs.
 *
 * @throws GradPoolError naming `a`, `b` or `axes` for a non-tensor or non-float32 input, malformed
 *   or out-of-range axes, a repeated axis, or contracted dimensions of different sizes.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { tensordot } from 'gradpool';
 *
 * // A dense layer on a [3,2] sample with a [3,2,1] weight: contract both input axes.
 * const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
 * const W = tf.ones([3, 2, 1]);
 * const b = tf.tensor1d([0.5]);
 * tf.add(tensordot(x, W, [[0, 1], [0, 1]]), b).print(); // [21.5]
 *
 * tensordot(tf.ones([2, 3]), tf.ones([3, 4]), 1).shape;  // [2, 4]  (matrix product)
 * tensordot(tf.ones([2]), tf.ones([3]), 0).shape;        // [2, 3]  (outer product)
 * ```
 */
export function tensordot(a: tf.Tensor, b: tf.Tensor, axes: TensordotAxes): tf.Tensor {
  checkInput('a', a);
  checkInput('b', b);
  const [axesA, axesB] = normaliseAxes(a.shape, b.shape, axes);
  const plan = planContraction(a.rank, b.rank, axesA, axesB);

  const freeShapeA = plan.freeA.map((i) => a.shape[i]!);
  const freeShapeB = plan.freeB.map((i) => b.shape[i]!);
  const m = product(freeShapeA);
  const n = product(freeShapeB);
  const k = product(plan.contrA.map((i) => a.shape[i]!));

  return tf.tidy(() => {
    // A is brought to [m,k] (or [k,m] with transposeA), B to [k,n] (or [n,k] with transposeB), so
    // one 2-D matMul does the whole contraction; reshapes of contiguous tfjs tensors are free.
    const a2 = tf.reshape(permute(a, plan.permA), plan.transposeA ? [k, m] : [m, k]);
    const b2 = tf.reshape(permute(b, plan.permB), plan.transposeB ? [n, k] : [k, n]);
    const out = tf.matMul(a2, b2, plan.transposeA, plan.transposeB);
    return tf.reshape(out, [...freeShapeA, ...freeShapeB]);
  });
}

function checkInput(name: 'a' | 'b', t: unknown): asserts t is tf.Tensor {
  // tfjs's Tensor has a duck-typed Symbol.hasInstance, so this also accepts tensors from another
  // copy of tfjs-core (e.g. one bundled into a worker).
  if (!(t instanceof tf.Tensor)) throw errors.type(name, 'a tf.Tensor', t);
  if (t.dtype !== 'float32') throw errors.type(name, 'dtype "float32"', t.dtype);
}

/** Validates `axes` against the shapes and returns the two lists with negative axes resolved. */
function normaliseAxes(shapeA: readonly number[], shapeB: readonly number[], axes: unknown): [number[], number[]] {
  const rankA = shapeA.length;
  const rankB = shapeB.length;
  let axesA: number[];
  let axesB: number[];
  if (typeof axes === 'number') {
    const maxN = Math.min(rankA, rankB);
    if (!Number.isInteger(axes) || axes < 0 || axes > maxN) throw errors.invalidOption('axes', `an integer in [0, ${maxN}]`, axes);
    axesA = range(rankA - axes, rankA);
    axesB = range(0, axes);
  } else {
    if (!Array.isArray(axes) || axes.length !== 2 || !Array.isArray(axes[0]) || !Array.isArray(axes[1])) {
      throw errors.type('axes', 'an integer or a pair of axis lists [number[], number[]]', axes);
    }
    const [listA, listB] = axes as [unknown[], unknown[]];
    if (listA.length !== listB.length) throw errors.invalidOption('axes', 'two axis lists of equal length', axes);
    axesA = listA.map((v, i) => resolveAxis(`axes[0][${i}]`, 'a', rankA, v));
    axesB = listB.map((v, i) => resolveAxis(`axes[1][${i}]`, 'b', rankB, v));
    checkDistinct('axes[0]', 'a', axesA, listA);
    checkDistinct('axes[1]', 'b', axesB, listB);
  }
  for (let i = 0; i < axesA.length; i++) {
    const sa = shapeA[axesA[i]!]!;
    const sb = shapeB[axesB[i]!]!;
    if (sa !== sb) {
      // Report the axes as the caller wrote them, so the message points at their own `axes` entry.
      const shownA = typeof axes === 'number' ? axesA[i]! : (axes as number[][])[0]![i]!;
      const shownB = typeof axes === 'number' ? axesB[i]! : (axes as number[][])[1]![i]!;
      throw errors.contractedMismatch('axes', shownA, sa, shownB, sb);
    }
  }
  return [axesA, axesB];
}

function resolveAxis(name: string, tensor: 'a' | 'b', rank: number, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -rank || v >= rank) {
    const expected = rank === 0
      ? `an axis of ${tensor}, but ${tensor} is a scalar (rank 0)`
      : `an axis of ${tensor} (rank ${rank}): an integer in [${-rank}, ${rank - 1}]`;
    throw errors.invalidOption(name, expected, v);
  }
  return v < 0 ? v + rank : v;
}

function checkDistinct(name: string, tensor: 'a' | 'b', resolved: number[], given: unknown[]): void {
  const seen = new Set<number>();
  for (const ax of resolved) {
    // Compare after resolving, since e.g. 0 and -2 are the same axis of a rank-2 tensor.
    if (seen.has(ax)) throw errors.invalidOption(name, `distinct axes of ${tensor} (axis ${ax} is listed twice)`, given);
    seen.add(ax);
  }
}

interface Plan {
  freeA: number[];
  freeB: number[];
  /** a's contracted axes in the chosen pairing order; `contrB[i]` pairs with `contrA[i]`. */
  contrA: number[];
  permA: number[];
  permB: number[];
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * Chooses the pairing order and matrix layouts that need the fewest real transposes. The pairs can
 * be reordered freely (the sum over them commutes), and a side needs no transpose exactly when its
 * contracted axes, in pairing order, are increasing and sit wholly before or after its free axes
 * (matMul's transpose flags absorb the "before" case). So sorting the pairs by a's axes, or by b's,
 * is always at least as good as any other order; try both and keep the cheaper.
 */
function planContraction(rankA: number, rankB: number, axesA: number[], axesB: number[]): Plan {
  const pairs = axesA.map((ax, i) => [ax, axesB[i]!] as const);
  const byA = [...pairs].sort((p, q) => p[0] - q[0]);
  const byB = [...pairs].sort((p, q) => p[1] - q[1]);
  const planA = planFor(rankA, rankB, byA.map((p) => p[0]), byA.map((p) => p[1]));
  const planB = planFor(rankA, rankB, byB.map((p) => p[0]), byB.map((p) => p[1]));
  return cost(planB) < cost(planA) ? planB : planA;
}

function planFor(rankA: number, rankB: number, contrA: number[], contrB: number[]): Plan {
  const freeA = range(0, rankA).filter((i) => !contrA.includes(i));
  const freeB = range(0, rankB).filter((i) => !contrB.includes(i));
  // matMul wants A as [m,k]; [k,m] is also fine via transposeA. Likewise B as [k,n] or [n,k].
  const aFreeFirst = [...freeA, ...contrA];
  const aContrFirst = [...contrA, ...freeA];
  const transposeA = !isIdentity(aFreeFirst) && isIdentity(aContrFirst);
  const bContrFirst = [...contrB, ...freeB];
  const bFreeFirst = [...freeB, ...contrB];
  const transposeB = !isIdentity(bContrFirst) && isIdentity(bFreeFirst);
  return {
    freeA,
    freeB,
    contrA,
    permA: transposeA ? aContrFirst : aFreeFirst,
    permB: transposeB ? bFreeFirst : bContrFirst,
    transposeA,
    transposeB,
  };
}

function cost(p: Plan): number {
  return (isIdentity(p.permA) ? 0 : 1) + (isIdentity(p.permB) ? 0 : 1);
}

/** tf.transpose, skipped when it would only copy. */
function permute(t: tf.Tensor, perm: number[]): tf.Tensor {
  return isIdentity(perm) ? t : tf.transpose(t, perm);
}

function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

function range(start: number, end: number): number[] {
  const out: number[] = [];
  for (let i = start; i < end; i++) out.push(i);
  return out;
}

function product(xs: readonly number[]): number {
  return xs.reduce((p, x) => p * x, 1);
}
