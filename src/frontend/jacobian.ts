/**
 * Jacobians and Hessians, torch.func's semantics: for an output leaf of shape O and a differentiated
 * input leaf of shape I, the Jacobian block has shape `O ++ I`. The result has f's output structure
 * with each output tensor replaced by the gradient's structure (the argument's tree, or a tuple of
 * them for an array `argnums`), as `jax.jacrev` nests them.
 *
 * Both are loops, not batched: batching the basis vectors needs vmap, which does not run in-process
 * yet. Each runs f's forward once and reuses its tape (see tape.ts):
 * - jacrev: one reverse pass per output element (m of them). Cost ≈ forward + m·backward.
 * - jacfwd: one reverse pass to get the vjp `u ↦ Jᵀu` on the tape, then one reverse pass through that
 *   per input element (n of them): the double-vjp jvp with a basis tangent. Cost ≈ forward + backward
 *   + n·(second-order backward), each about twice a backward. Prefer jacrev unless n ≪ m.
 * Memory: every pass's tape (saved tensors) is held until the call returns, so an enclosing transform
 * can differentiate the result.
 */
import * as tf from '@tensorflow/tfjs';
import { checkArgs, outputLeaves, parseOptions, regroup, select, splitAux, type Argnums, type TransformOptions } from './args.js';
import type { GradOf } from './grad.js';
import { ensureGradients } from './install.js';
import { unflatten } from '../shared/pytree.js';
import { backprop, basisTensor, taped } from './tape.js';
import { transposeWithPlaceholder } from './vjp.js';

/** A Jacobian's type: f's output tree with each tensor replaced by the gradient's structure G. */
export type JacOf<O, G> = O extends tf.Tensor
  ? G
  : O extends readonly unknown[]
    ? { -readonly [K in keyof O]: JacOf<O[K], G> }
    : O extends object
      ? { -readonly [K in keyof O]: JacOf<O[K], G> }
      : never;
type OutOf<R> = R extends readonly [infer O, unknown] ? O : never;
type AuxOf<R> = R extends readonly [unknown, infer X] ? X : never;

/** Per input leaf, the block `∂out/∂in` of shape `out.shape ++ in.shape`, by one reverse pass per element of out. */
function reverseBlocks(out: tf.Tensor, ins: readonly tf.Tensor[]): tf.Tensor[] {
  const m = out.size;
  if (m === 0) return ins.map((x) => tf.zeros([...out.shape, ...x.shape]));
  const rows = Array.from({ length: m }, (_, i) => backprop(out, ins, basisTensor(i, m, out.shape)));
  return ins.map((x, j) => tf.reshape(tf.stack(rows.map((r) => r[j]!), 0), [...out.shape, ...x.shape]));
}

/** Per output leaf k and input leaf j, the block `∂out_k/∂in_j`, by one double-vjp jvp per element of each input. */
function forwardBlocks(outs: readonly tf.Tensor[], ins: readonly tf.Tensor[]): tf.Tensor[][] {
  const { u, pulled } = transposeWithPlaceholder(outs, ins);
  const byInput = ins.map((x, j) => {
    const n = x.size;
    if (n === 0) return outs.map((o) => tf.zeros([...o.shape, ...x.shape]));
    // Column e, for every output at once: the vjp of Jᵀu with respect to u at the basis tangent e.
    const cols = Array.from({ length: n }, (_, e) => backprop(pulled[j]!, u, basisTensor(e, n, x.shape)));
    return outs.map((o, k) => tf.reshape(tf.stack(cols.map((c) => c[k]!), o.rank), [...o.shape, ...x.shape]));
  });
  return outs.map((_, k) => byInput.map((blocks) => blocks[k]!));
}

type Blocks = (outs: readonly tf.Tensor[], ins: readonly tf.Tensor[]) => tf.Tensor[][];
const REVERSE: Blocks = (outs, ins) => outs.map((o) => reverseBlocks(o, ins));

/** jacrev and jacfwd differ only in how blocks are computed; the argument handling and assembly are one. */
function jacobianTransform(f: (...args: unknown[]) => unknown, options: TransformOptions | undefined, blocks: Blocks) {
  const { argnums, hasAux } = parseOptions(f, options);
  return (...args: unknown[]): unknown => {
    ensureGradients();
    const checked = checkArgs(args, argnums);
    return taped(() => {
      const sel = select(args, checked);
      const [raw, aux] = splitAux(f(...sel.callArgs), hasAux);
      const out = outputLeaves(raw);
      const perOutput = blocks(out.leaves, sel.leaves).map((row) => regroup(argnums, sel, row));
      const jac = unflatten(out.structure, perOutput);
      return hasAux ? [jac, aux] : jac;
    });
  };
}

/**
 * The Jacobian of f with respect to its argument(s) at `argnums`, by reverse mode (torch.func.jacrev):
 * one reverse pass per output element, looped (cost and memory in the module comment). Each block has
 * shape `out.shape ++ in.shape`. Composes with itself: `jacrev(jacrev(f))` is the Hessian.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { jacrev } from 'gradpool';
 * const J = jacrev((x: tf.Tensor) => tf.sin(x))(tf.tensor1d([0, 1])); // diag(cos x), shape [2, 2]
 * ```
 */
export function jacrev<A extends unknown[], O>(f: (...args: A) => O): (...args: A) => JacOf<O, A[0]>;
export function jacrev<A extends unknown[], O, const N extends Argnums = 0>(f: (...args: A) => O, options: TransformOptions<N, false>): (...args: A) => JacOf<O, GradOf<A, N>>;
export function jacrev<A extends unknown[], R extends readonly [unknown, unknown], const N extends Argnums = 0>(
  f: (...args: A) => R,
  options: TransformOptions<N, true>,
): (...args: A) => [JacOf<OutOf<R>, GradOf<A, N>>, AuxOf<R>];
export function jacrev(f: (...args: unknown[]) => unknown, options?: TransformOptions): (...args: unknown[]) => unknown {
  return jacobianTransform(f, options, REVERSE);
}

/**
 * The Jacobian of f with respect to its argument(s) at `argnums`, column by column
 * (torch.func.jacfwd's result): one jvp per input element. tfjs has no forward mode, so each jvp is
 * the double-vjp construction, sharing one recorded vjp; needs differentiable gradients of f's ops.
 * Same shapes and structure as {@link jacrev}; cheaper only when inputs are far fewer than outputs.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { jacfwd } from 'gradpool';
 * const J = jacfwd((x: tf.Tensor) => tf.matMul(tf.ones([3, 2]), x.reshape([2, 1])).reshape([3]))(tf.tensor1d([1, 2])); // ones [3, 2]
 * ```
 */
export function jacfwd<A extends unknown[], O>(f: (...args: A) => O): (...args: A) => JacOf<O, A[0]>;
export function jacfwd<A extends unknown[], O, const N extends Argnums = 0>(f: (...args: A) => O, options: TransformOptions<N, false>): (...args: A) => JacOf<O, GradOf<A, N>>;
export function jacfwd<A extends unknown[], R extends readonly [unknown, unknown], const N extends Argnums = 0>(
  f: (...args: A) => R,
  options: TransformOptions<N, true>,
): (...args: A) => [JacOf<OutOf<R>, GradOf<A, N>>, AuxOf<R>];
export function jacfwd(f: (...args: unknown[]) => unknown, options?: TransformOptions): (...args: unknown[]) => unknown {
  return jacobianTransform(f, options, forwardBlocks);
}

/**
 * The Hessian of a scalar-valued f with respect to its argument(s) at `argnums`: `jacrev(jacrev(f))`,
 * of shape `in.shape ++ in.shape` for one tensor argument. torch.func uses `jacfwd(jacrev(f))` because
 * its forward mode is native; here a jvp is itself two reverse passes, so reverse-over-reverse is the
 * cheaper: one forward, one backward, then n second-order reverse passes for n input elements.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { hessian } from 'gradpool';
 * const H = hessian((x: tf.Tensor) => tf.sum(tf.pow(x, 3)))(tf.tensor1d([1, 2])); // diag(6x) = [[6, 0], [0, 12]]
 * ```
 */
export function hessian<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => tf.Tensor,
  options?: { argnums?: N },
): (...args: A) => JacOf<GradOf<A, N>, GradOf<A, N>> {
  parseOptions(f, options, ['argnums']);
  const inner = jacrev(f as (...args: unknown[]) => tf.Tensor, options as TransformOptions<Argnums, false>);
  return jacrev(inner, options as TransformOptions<Argnums, false>) as unknown as (...args: A) => JacOf<GradOf<A, N>, GradOf<A, N>>;
}
