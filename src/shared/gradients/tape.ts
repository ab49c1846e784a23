/**
 * The two tape facts a differentiable gradient function needs, from tfjs's engine (4.22).
 *
 * tfjs saves a kernel's outputs for its gradient by cloning them BEFORE the kernel's own tape node is
 * recorded, so to an outer tf.grads the saved output is a constant: a gradient function that reads it
 * loses the output's dependence on the input (tanh, sigmoid, exp, softmax). And the comparison kernels
 * a gradient builds its masks with (Greater, Less, Equal, LogicalAnd) have no registered gradient, so
 * an outer tf.grads that meets one throws. `outputOf` and `constant` answer those two, and do
 * nothing different unless an outer gradient is recording: a first-order gradient runs exactly the
 * kernels tfjs's own gradient runs.
 */
import * as tf from '@tensorflow/tfjs';

/** The engine fields read here; tfjs declares them private. */
interface TapeState {
  state: { gradientDepth: number; kernelDepth: number };
}
const engine = () => tf.engine() as unknown as TapeState;

/**
 * Whether the ops run now are recorded by an outer gradient: true inside a gradient function only
 * when that gradient is itself being differentiated (tf.grad(tf.grad(f))). Same test as tfjs's
 * engine.isTapeOn: outside any kernel, under at least one tf.grads.
 *
 * @example
 * ```ts
 * recording(); // false
 * tf.grads((x: tf.Tensor) => (console.log(recording()), tf.square(x)))([tf.scalar(2)]); // logs true
 * ```
 */
export function recording(): boolean {
  const { state } = engine();
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

/**
 * Runs `fn` with the tape paused, so what it computes is a constant to every outer gradient (JAX's
 * stop_gradient). For masks only: they are piecewise constant, their derivative is zero where it
 * exists, and pausing keeps their kernels (which have no gradient) off the tape. The kernels run and
 * the values are the same either way.
 *
 * @example
 * ```ts
 * // d/dx (x + stop_gradient(x²)) = 1
 * tf.grad((x: tf.Tensor) => tf.add(x, constant(() => tf.square(x))))(tf.scalar(3)).print(); // 1
 * ```
 */
export function constant<T extends tf.Tensor>(fn: () => T): T {
  const { state } = engine();
  // kernelDepth > 0 is how the engine itself stops recording while a kernel runs.
  state.kernelDepth++;
  try {
    return fn();
  } finally {
    state.kernelDepth--;
  }
}

/**
 * The inputs a config saves only when its gradient may itself be differentiated, for use as the
 * config's `inputsToSave` getter (the engine reads it at each forward call). A gradient is recorded
 * only if its forward ran under two or more tf.grads (the backward of the innermost runs under the
 * rest), so a plain training step saves exactly what tfjs's own config saves and runs no extra kernel.
 *
 * @example
 * ```ts
 * const config = { kernelName: tf.Tanh, outputsToSave: [true], get inputsToSave() { return inputsIfNested(['x']); }, gradFunc };
 * ```
 */
export function inputsIfNested(names: string[]): string[] {
  return savingForHigherOrderNow() ? names : [];
}

/**
 * Whether a forward run now may have its backward pass differentiated: under two or more tf.grads, or
 * inside {@link forHigherOrder}. Then gradients must keep what a second derivative needs.
 */
export function savingForHigherOrderNow(): boolean {
  return savingForHigherOrder > 0 || engine().state.gradientDepth > 1;
}

/** Depth of {@link forHigherOrder} calls: while positive, every config saves what a second derivative needs. */
let savingForHigherOrder = 0;

/**
 * Runs `fn` so that every forward in it saves what its gradient needs to be differentiated again,
 * under any number of tf.grads. For callers that record their backward passes on an enclosing tape of
 * their own (the function transforms, src/frontend/tape.ts): there a forward may run under a single
 * tape and still have its backward differentiated later, which {@link inputsIfNested}'s depth test
 * cannot see. Saving more changes no value, only what the tape keeps alive.
 *
 * @example
 * ```ts
 * const g = forHigherOrder(() => tf.grads(...)); // its tanh forwards keep x for outputOf
 * ```
 */
export function forHigherOrder<T>(fn: () => T): T {
  savingForHigherOrder++;
  try {
    return fn();
  } finally {
    savingForHigherOrder--;
  }
}

/**
 * The kernel's output as its gradient function should use it, from `saved` = [the inputs named by
 * `inputs` if they were saved (`inputsIfNested`), the output]: the saved output when no outer
 * gradient records (no extra work), else the same kernel run again on the saved inputs (same kernel,
 * same inputs, so the same bits), this time recorded as a function of those inputs.
 *
 * @example
 * ```ts
 * // Tanh's gradient function, saved = [x, y] or [y]:
 * gradFunc: (dy, saved, attrs) => ({ x: () => tf.mul(tf.sub(1, tf.square(outputOf(tf.Tanh, ['x'], saved, attrs))), dy) })
 * ```
 */
export function outputOf(kernelName: string, inputs: readonly string[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): tf.Tensor {
  const y = saved[saved.length - 1]!;
  if (!recording()) return y;
  if (saved.length !== inputs.length + 1) {
    // Cannot happen through tf.grads (see inputsIfNested); refusing beats a silently wrong derivative.
    throw new Error(`second-order gradient of ${kernelName}: its inputs were not saved (its forward ran under fewer than two gradient tapes)`);
  }
  const out = tf.engine().runKernel(kernelName, Object.fromEntries(inputs.map((n, i) => [n, saved[i]!])), attrs);
  return Array.isArray(out) ? out[0]! : out;
}
