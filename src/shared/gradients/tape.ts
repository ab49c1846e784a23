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
 * The kernel's output as its gradient function should use it: the saved one when no outer gradient
 * records (no extra work), else the same kernel run again on the saved inputs (same kernel, same
 * inputs, so the same bits), this time recorded as a function of those inputs.
 *
 * @example
 * ```ts
 * // Inside a gradient function: the tanh output saved as saved[1], input x as saved[0].
 * gradFunc: (dy, [x, y], attrs) => ({ x: () => tf.mul(tf.sub(1, tf.square(outputOf(tf.Tanh, { x }, attrs, y))), dy) })
 * ```
 */
export function outputOf(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap, saved: tf.Tensor): tf.Tensor {
  if (!recording()) return saved;
  const out = tf.engine().runKernel(kernelName, inputs, attrs);
  return Array.isArray(out) ? out[0]! : out;
}
