/**
 * `grad` and `valueAndGrad`, torch.func's semantics: f returns a scalar tensor (shape []); the
 * gradient has the structure of the argument(s) at `argnums`; with `hasAux`, f returns
 * `[output, aux]` and aux comes back beside the gradient. Cost: one forward and one reverse pass.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import { checkArgs, parseOptions, regroup, select, splitAux, type Argnums, type TransformOptions } from './args.js';
import { ensureGradients } from './install.js';
import { dtypeText } from '../shared/pytree.js';
import { backprop, taped } from './tape.js';

/** The gradient's type: the argument's own type for one argnum, a tuple of them for an array. */
export type GradOf<A extends readonly unknown[], N extends Argnums> = N extends number
  ? A[N]
  : { -readonly [K in keyof N]: N[K] extends number ? A[N[K]] : never };

/** f's return type with hasAux: `[output, aux]`. */
type Out<H extends boolean> = H extends true ? readonly [tf.Tensor, unknown] : tf.Tensor;
type AuxOf<R> = R extends readonly [unknown, infer X] ? X : never;

interface Computed {
  value: tf.Tensor;
  aux: unknown;
  grads: unknown;
}

/** The one implementation behind both names, so their semantics cannot drift apart. */
function valueAndGradCall(f: (...args: unknown[]) => unknown, args: unknown[], argnums: Argnums, hasAux: boolean): Computed {
  ensureGradients();
  const checked = checkArgs(args, argnums);
  return taped(() => {
    const sel = select(args, checked);
    const [out, aux] = splitAux(f(...sel.callArgs), hasAux);
    const name = hasAux ? "f's output[0]" : "f's output";
    if (!(out instanceof tf.Tensor)) throw errors.type(name, 'a scalar tf.Tensor', out);
    if (out.rank !== 0) throw errors.scalarOutput(name, out.shape, 'grad needs a scalar output: for other outputs use vjp or jacrev');
    if (out.dtype !== 'float32') throw errors.type(name, 'a float32 tf.Tensor', dtypeText(out));
    const grads = regroup(argnums, sel, backprop(out, sel.leaves));
    return { value: out, aux, grads };
  });
}

/**
 * The gradient of a scalar-valued f with respect to its argument(s) at `argnums` (default 0), as
 * `torch.func.grad` / `jax.grad`. Arguments may be trees (arrays, plain objects) of float32 tensors;
 * the gradient has the same structure. An output that depends on an argument not at all gets zeros.
 * Composes: `grad(grad(f))` is the second derivative.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { grad } from 'gradpool';
 * const g = grad((x: tf.Tensor) => tf.sum(tf.square(x)));
 * g(tf.tensor1d([1, 2])).print();                        // [2, 4]
 * const [gW, gb] = grad((W: tf.Tensor, b: tf.Tensor) => tf.sum(tf.add(W, b)), { argnums: [0, 1] })(tf.ones([2]), tf.ones([2]));
 * const [gx, aux] = grad((x: tf.Tensor) => [tf.sum(x), tf.mean(x)] as const, { hasAux: true })(tf.ones([3]));
 * ```
 */
export function grad<A extends unknown[]>(f: (...args: A) => tf.Tensor): (...args: A) => A[0];
export function grad<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => tf.Tensor,
  options: TransformOptions<N, false>,
): (...args: A) => GradOf<A, N>;
export function grad<A extends unknown[], R extends readonly [tf.Tensor, unknown], const N extends Argnums = 0>(
  f: (...args: A) => R,
  options: TransformOptions<N, true>,
): (...args: A) => [GradOf<A, N>, AuxOf<R>];
export function grad(f: (...args: unknown[]) => Out<boolean>, options?: TransformOptions): (...args: unknown[]) => unknown {
  const { argnums, hasAux } = parseOptions(f, options);
  return (...args: unknown[]) => {
    const { value, aux, grads } = valueAndGradCall(f, args, argnums, hasAux);
    value.dispose(); // ours (taped returns fresh tensors), and grad does not return it
    return hasAux ? [grads, aux] : grads;
  };
}

/**
 * Like {@link grad}, but also returns f's value: `[value, grads]`, or with `hasAux`
 * `[[value, aux], grads]`. That is the order of `jax.value_and_grad` and jax-js's `valueAndGrad`,
 * whose name this is; torch.func's `grad_and_value` returns the same parts the other way round,
 * `(grads, (value, aux))`. One forward and one reverse pass.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { valueAndGrad } from 'gradpool';
 * const [loss, g] = valueAndGrad((w: tf.Tensor) => tf.sum(tf.square(w)))(tf.tensor1d([3]));
 * loss.print(); // 9
 * g.print();    // [6]
 * ```
 */
export function valueAndGrad<A extends unknown[]>(f: (...args: A) => tf.Tensor): (...args: A) => [tf.Tensor, A[0]];
export function valueAndGrad<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => tf.Tensor,
  options: TransformOptions<N, false>,
): (...args: A) => [tf.Tensor, GradOf<A, N>];
export function valueAndGrad<A extends unknown[], R extends readonly [tf.Tensor, unknown], const N extends Argnums = 0>(
  f: (...args: A) => R,
  options: TransformOptions<N, true>,
): (...args: A) => [[tf.Tensor, AuxOf<R>], GradOf<A, N>];
export function valueAndGrad(f: (...args: unknown[]) => Out<boolean>, options?: TransformOptions): (...args: unknown[]) => unknown {
  const { argnums, hasAux } = parseOptions(f, options);
  return (...args: unknown[]) => {
    const { value, aux, grads } = valueAndGradCall(f, args, argnums, hasAux);
    return hasAux ? [[value, aux], grads] : [value, grads];
  };
}
