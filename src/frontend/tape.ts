/**
 * The two primitives every transform is built from, on tfjs's own tape (`tf.engine().gradients`, what
 * `tf.grads` calls):
 *
 * - `taped(fn)` runs `fn` with the tape recording. tfjs keeps one tape per outermost gradient call and
 *   nested calls share it, so inside `fn` a `backprop` can differentiate through any op `fn` ran
 *   earlier, as many times as it likes: jacrev runs f once and backpropagates once per output element.
 *   An enclosing transform records everything `fn` does, backward passes included, which is what makes
 *   `grad(grad(f))` and `jacrev(jacrev(f))` work.
 * - `backprop(y, xs, dy)` is one reverse pass from y to xs, zeros for an x that y does not depend on
 *   (as torch.func and JAX give), never null.
 *
 * Only plain tfjs ops run here (clone, zeros, mul, sum, oneHot, reshape, stack), never a read back to
 * JavaScript, so a batching backend can later run the transforms inside its vmap.
 */
import * as tf from '@tensorflow/tfjs';
import { forHigherOrder } from '../shared/gradients/tape.js';
import { flatten, unflatten } from '../shared/pytree.js';

/**
 * Runs `fn` with tfjs's gradient tape recording and returns its result, whose tensors (in arrays and
 * plain objects; other values pass as they are) are fresh ones the caller owns and may dispose.
 * Everything else `fn` made is disposed, and the tape's saved tensors too when no enclosing gradient
 * is running.
 *
 * tfjs's `gradients(f, xs)` keeps only f's single returned tensor. To carry a whole tree out, each of
 * its tensors is cloned inside and kept (`tf.keep`) through tfjs's scope, cloned again outside (so an
 * enclosing tape links the two, and the result is tracked by the caller's `tf.tidy`), and the kept
 * clone disposed. The anchor is a scalar nothing depends on, so tfjs's own backward pass has nothing
 * to do.
 *
 * @example
 * ```ts
 * const x = tf.tensor1d([1, 2]);
 * const [y, g] = taped(() => { const y = tf.sum(tf.square(x)); return [y, backprop(y, [x])[0]!]; });
 * // g = [2, 4]
 * ```
 */
export function taped<T>(fn: () => T): T {
  const anchor = tf.scalar(0);
  const kept: tf.Tensor[] = [];
  let carried: ReturnType<typeof flatten> | undefined;
  // A throw inside is held until tfjs's call has returned: thrown through it, the tape would be left
  // with its saved tensors (tfjs clears them only on a normal return), a leak per failed call.
  let failure: { error: unknown } | undefined;
  try {
    const { grads } = tf.engine().gradients(
      () => {
        try {
          // Backward passes run inside are recorded on this tape, so forwards save for a second derivative.
          carried = flatten(forHigherOrder(fn), 'result', { constants: true });
          for (const t of carried.leaves) kept.push(tf.keep(t.clone()));
        } catch (error) {
          failure = { error };
        }
        return anchor;
      },
      [anchor],
      undefined,
      true,
    );
    for (const g of grads) g?.dispose();
    if (failure) throw failure.error;
    return unflatten(carried!.structure, kept.map((t) => t.clone())) as T;
  } finally {
    for (const t of kept) t.dispose();
    anchor.dispose();
  }
}

/**
 * One reverse pass: the gradients of `y` (weighted by `dy`, ones by default) with respect to each of
 * `xs`, as fresh tensors, zeros where `y` does not depend on an x. Call it inside `taped`, after the
 * ops from `xs` to `y` ran there; it records its own ops, so it can be differentiated again.
 *
 * @example
 * ```ts
 * taped(() => { const x = tf.scalar(3); const y = tf.square(x); return backprop(y, [x]); }); // [6]
 * ```
 */
export function backprop(y: tf.Tensor, xs: readonly tf.Tensor[], dy?: tf.Tensor): tf.Tensor[] {
  if (xs.length === 0) return [];
  const { grads } = withTapeWindow(y, xs, () => tf.engine().gradients(() => y, [...xs], dy, true));
  return grads.map((g, i) => g ?? tf.zerosLike(xs[i]!));
}

interface TapeNode {
  outputs: tf.Tensor[];
}
const tapeState = () => (tf.engine() as unknown as { state: { activeTape: TapeNode[] | null } }).state;

/**
 * Runs `pass` (one tf.grads from y to xs) with tfjs's tape cut to the nodes that can lie between xs
 * and y, then puts the whole tape back with whatever `pass` recorded appended. tfjs filters the whole
 * tape on every pass (getFilteredNodesXToY), and a transform's tape grows with every backward pass it
 * records: jacrev(jacrev(f)) spent most of its time there. A node recorded after y's own can't be an
 * ancestor of y, nor one recorded before the first x's producer a descendant of an x; the filter
 * keeps the same nodes in the same order, so the pass computes the same values.
 */
function withTapeWindow<R>(y: tf.Tensor, xs: readonly tf.Tensor[], pass: () => R): R {
  const state = tapeState();
  const tape = state.activeTape;
  if (!tape) return pass();
  let end = tape.length - 1;
  while (end >= 0 && !tape[end]!.outputs.some((o) => o.id === y.id)) end--;
  if (end < 0) return pass(); // y not recorded: tfjs's own walk (it finds no path)
  // The window starts at the earliest x's producer; an x no node before y produced (a leaf) keeps it at 0.
  const unseen = new Set(xs.map((x) => x.id));
  let start = -1;
  for (let i = 0; i <= end && unseen.size > 0; i++) {
    for (const o of tape[i]!.outputs) if (unseen.delete(o.id) && start < 0) start = i;
  }
  if (unseen.size > 0 || start < 0) start = 0;
  const window = tape.slice(start, end + 1);
  state.activeTape = window;
  const recordedFrom = window.length;
  try {
    return pass();
  } finally {
    tape.push(...window.slice(recordedFrom));
    state.activeTape = tape;
  }
}

/**
 * The scalar `Σ_k sum(a_k · b_k)`: pulling it back gives the sum of the vjps of each a_k with
 * cotangent b_k in one pass, for f's with several outputs (and it is linear in each b_k).
 */
export function innerProduct(as: readonly tf.Tensor[], bs: readonly tf.Tensor[]): tf.Tensor {
  if (as.length === 0) return tf.scalar(0); // f returned no tensors: nothing to pull back
  const terms = as.map((a, k) => tf.sum(tf.mul(a, bs[k]!)));
  return terms.length === 1 ? terms[0]! : tf.addN(terms);
}

/** The i-th standard basis vector of a tensor of `shape` (size n), reshaped to it: one row of the identity. */
export function basisTensor(i: number, n: number, shape: readonly number[]): tf.Tensor {
  if (n === 1) return tf.ones([...shape]); // tf.oneHot refuses a depth below 2
  return tf.reshape(tf.oneHot(tf.scalar(i, 'int32'), n, 1, 0, 'float32'), [...shape]);
}

/**
 * Fresh stand-ins for the tensors being differentiated, so each argument is its own input to the tape:
 * the same tensor passed twice (or also closed over by f) gets a gradient per argument position, as
 * torch.func gives. A clone is tfjs's Identity kernel, so an enclosing tape still sees through it.
 */
export function standIns(leaves: readonly tf.Tensor[]): tf.Tensor[] {
  return leaves.map((t) => t.clone());
}
