/**
 * `vjp` and `jvp`, torch.func's signatures. tfjs has reverse mode only, and its tape lives only inside
 * one gradient call, which shapes both:
 *
 * - `vjpFn` re-runs f's forward each time it is called (tfjs cannot keep f's tape alive between `vjp`
 *   and a later `vjpFn`). One forward for `out`, then one forward and one reverse pass per `vjpFn`
 *   call. f must therefore be deterministic: a random op inside f draws again.
 * - `jvp` is the double-vjp construction. The vjp `u ↦ Jᵀu` is linear in the cotangent u, so its own
 *   vjp with respect to u, at cotangent t, is `(Jᵀ)ᵀt = Jt`: the jvp. Cost: one forward, one reverse
 *   pass recorded on the tape (a second-order tape: every backward op and its saved tensors are kept),
 *   and a reverse pass through that backward pass. About 3× a forward-mode jvp's work and the memory of
 *   a reverse pass; u's value does not matter (zeros), only the graph's linearity in it.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import { outputLeaves, parseOptions, splitAux } from './args.js';
import { ensureGradients } from './install.js';
import { flatten, flattenLike, requireFloat, unflatten, type Structure } from '../shared/pytree.js';
import { backprop, innerProduct, standIns, taped } from './tape.js';

/** The primals of a vjp or jvp, flattened one tree per argument. */
function primalParts(primals: readonly unknown[], name: string): { structure: Structure; leaves: tf.Tensor[] }[] {
  return primals.map((p, i) => {
    const flat = flatten(p, `${name}[${i}]`);
    requireFloat(flat.leaves, flat.structure, `${name}[${i}]`);
    return flat;
  });
}

/** f called on stand-ins of the primals (inside `taped`): the stand-in leaves and f's output leaves. */
function callOnStandIns(f: (...args: unknown[]) => unknown, parts: ReturnType<typeof primalParts>) {
  const ins = parts.map((p) => standIns(p.leaves));
  const out = outputLeaves(f(...parts.map((p, i) => unflatten(p.structure, ins[i]!))));
  return { ins, out };
}

/** Refuses a re-run of f whose output differs in structure or shapes from the first run's. */
function sameOutput(first: Structure, firstShapes: readonly (readonly number[])[], again: { leaves: tf.Tensor[]; structure: Structure }): void {
  flattenLike(unflatten(again.structure, again.leaves), first, firstShapes, "f's output (on vjpFn's re-run)", "f's output (on vjp's run)");
}

/** vjp's options, given first (see {@link vjp}): torch.func's `has_aux`. */
export interface VjpOptions {
  /** f returns `[output, aux]`; aux is returned third, not differentiated (default false). */
  hasAux?: boolean;
}

/**
 * `[out, vjpFn]`: f's output at the primals, and `vjpFn(cotangents)`, which returns the tuple of
 * vector–Jacobian products `cotangentsᵀ · ∂f/∂primal_i`, one per primal with that primal's structure
 * (torch.func.vjp). `cotangents` has the structure and shapes of `out`. f must be deterministic:
 * each vjpFn call re-runs it (see the module comment for why and what it costs).
 *
 * With options, which come first: `vjp({ hasAux: true }, f, ...primals)` is torch.func's
 * `vjp(f, *primals, has_aux=True)`: f returns `[output, aux]` and the result is `[out, vjpFn, aux]`
 * (aux from the first run; vjpFn's re-runs discard theirs). They cannot trail as grad's do: a trailing
 * plain object would be indistinguishable from a pytree primal.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { vjp } from 'gradpool';
 * const [out, vjpFn] = vjp((x: tf.Tensor) => tf.square(x), tf.tensor1d([1, 2, 3]));
 * const [dx] = vjpFn(tf.tensor1d([1, 0, 1])); // [2, 0, 6]
 * const [y, fn, aux] = vjp({ hasAux: true }, (x: tf.Tensor) => [tf.exp(x), { norm: tf.norm(x) }] as const, tf.tensor1d([0, 1]));
 * fn(tf.ones([2])); // [[1, e]]; aux.norm = 1
 * ```
 */
export function vjp<P extends unknown[], O>(f: (...primals: P) => O, ...primals: P): [O, (cotangents: O) => unknown[]];
export function vjp<P extends unknown[], O, X>(
  options: VjpOptions & { hasAux: true },
  f: (...primals: P) => readonly [O, X],
  ...primals: P
): [O, (cotangents: O) => unknown[], X];
export function vjp<P extends unknown[], O>(options: VjpOptions & { hasAux?: false }, f: (...primals: P) => O, ...primals: P): [O, (cotangents: O) => unknown[]];
export function vjp(...call: unknown[]): unknown[] {
  // Options first only when an options object is followed by the function; otherwise call[0] is f.
  const first0 = call[0];
  const withOptions = typeof call[1] === 'function' && first0 !== null && typeof first0 === 'object' && !Array.isArray(first0) && !(first0 instanceof tf.Tensor);
  const [options, f, primals] = withOptions ? [call[0], call[1], call.slice(2)] : [undefined, call[0], call.slice(1)];
  const { hasAux } = parseOptions(f, options, ['hasAux']);
  ensureGradients();
  const fn = f as (...args: unknown[]) => unknown;
  const parts = primalParts(primals, 'primals');
  const [first, aux] = taped(() => {
    const [raw, aux] = splitAux(fn(...primals), hasAux);
    const out = outputLeaves(raw);
    return [unflatten(out.structure, out.leaves), aux];
  });
  const { structure, leaves } = flatten(first, "f's output");
  const shapes = leaves.map((t) => t.shape);
  const vjpFn = (cotangents: unknown): unknown[] => {
    const cts = flattenLike(cotangents, structure, shapes, 'cotangents', "f's output");
    return taped(() => {
      const { ins, out } = callOnStandIns((...args) => splitAux(fn(...args), hasAux)[0], parts);
      sameOutput(structure, shapes, out);
      // One output: its cotangent is the reverse pass's seed. Several: one pass over Σ⟨out_k, ct_k⟩.
      const flat = out.leaves.length === 1 ? backprop(out.leaves[0]!, ins.flat(), cts[0]) : backprop(innerProduct(out.leaves, cts), ins.flat());
      let at = 0;
      return parts.map((p) => unflatten(p.structure, flat.slice(at, (at += p.leaves.length))));
    });
  };
  return hasAux ? [first, vjpFn, aux] : [first, vjpFn];
}

/**
 * `[out, tangentOut]`: f's output at `primals` and the Jacobian–vector product `∂f/∂primals · tangents`
 * (torch.func.jvp). `primals` and `tangents` are arrays with one tree per argument of f, `tangents[i]`
 * of `primals[i]`'s structure and shapes; `tangentOut` has out's structure. Computed by double-vjp
 * from reverse mode, needing differentiable gradients of every op in f (see the module comment for
 * the construction and its cost: three passes, a second-order tape).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { jvp } from 'gradpool';
 * const [y, dy] = jvp((x: tf.Tensor) => tf.sum(tf.square(x)), [tf.tensor1d([1, 2])], [tf.tensor1d([1, 1])]);
 * dy.print(); // 2·1 + 2·2 = 6
 * ```
 */
export function jvp<P extends unknown[], O>(f: (...primals: P) => O, primals: P, tangents: P): [O, O] {
  if (typeof f !== 'function') throw errors.type('f', 'a function', f);
  if (!Array.isArray(primals)) throw errors.type('primals', 'an array of the arguments of f', primals);
  if (!Array.isArray(tangents) || tangents.length !== primals.length) {
    throw errors.type('tangents', `an array of length ${primals.length} (one tangent per primal)`, tangents);
  }
  ensureGradients();
  const parts = primalParts(primals, 'primals');
  const tans = parts.map((p, i) => flattenLike(tangents[i], p.structure, p.leaves.map((t) => t.shape), `tangents[${i}]`, `primals[${i}]`));
  return taped(() => {
    const { ins, out } = callOnStandIns(f as (...args: unknown[]) => unknown, parts);
    const { u, pulled } = transposeWithPlaceholder(out.leaves, ins.flat());
    const tangentOut = backprop(innerProduct(pulled, tans.flat()), u);
    return [unflatten(out.structure, out.leaves), unflatten(out.structure, tangentOut)];
  }) as [O, O];
}

/**
 * The first half of double-vjp: placeholders u (zeros of each output's shape) and `Jᵀu` for each of
 * `ins`, recorded on the tape so that a backprop with respect to u differentiates through it. Shared
 * with jacfwd, which then pulls back once per input element.
 */
export function transposeWithPlaceholder(outs: readonly tf.Tensor[], ins: readonly tf.Tensor[]): { u: tf.Tensor[]; pulled: tf.Tensor[] } {
  const u = outs.map((o) => tf.zeros(o.shape));
  const pulled = outs.length === 1 ? backprop(outs[0]!, ins, u[0]) : backprop(innerProduct(outs, u), ins);
  return { u, pulled };
}
