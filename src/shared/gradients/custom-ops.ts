/**
 * Second-order gradients through tfjs's `customGrad` ops (tf.logSoftmax, tf.logSigmoid,
 * tf.losses.softmaxCrossEntropy, tf.fused.matMul / conv2d / depthwiseConv2d, and users' own
 * tf.customGrad), which no gradient config can reach: they are not kernels, their tape node carries
 * the op's own gradient closure.
 *
 * Why tfjs's are wrong when differentiated (tfjs-core 4.22, engine.js runKernelFunc / customGrad):
 * the op's forward runs with the tape paused (kernelDepth > 0), so a tensor it computes and `save`s
 * (logSoftmax's output, softmaxCrossEntropy's log-probabilities) is one no tape links to the op's
 * inputs. (A saved input is linked: the engine's saving clone records an Identity node of its own.)
 * The gradient reads it, so an outer gradient sees it as a constant: the Hessian of softmax
 * cross-entropy came out as zeros. Also, a gradient closing over an input that the forward's tidy has
 * since disposed (tf.logSigmoid of an intermediate) cannot run at all.
 *
 * The fix, only when the op's gradient may itself be differentiated (the same test as
 * `inputsIfNested`): the op runs on clones of its inputs made with the tape on (Identity, so linked
 * to the inputs) and kept alive with the tape's saved tensors; then its forward runs a second time on
 * them, recorded, and what that run saves is what the gradient is given. Same ops on the same values,
 * so the same bits; but now the saved tensors are functions of the inputs on the tape. Otherwise the
 * op runs exactly as tfjs runs it. Cost: the op's forward twice, under second order only.
 */
import * as tf from '@tensorflow/tfjs';
import { recording, savingForHigherOrderNow } from './tape.js';

type SaveFunc = (tensors: tf.Tensor[]) => void;
type CustomResult = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };
type CustomFunc = (...args: (tf.Tensor | SaveFunc)[]) => CustomResult;
type CustomGrad = (f: CustomFunc) => (...inputs: tf.Tensor[]) => tf.Tensor;

interface TapeNode {
  inputs: Record<string, tf.Tensor | undefined>;
  outputs: tf.Tensor[];
  saved: tf.Tensor[];
}
interface EngineInternals {
  customGrad: CustomGrad;
  state: { activeTape: TapeNode[] | null; kernelDepth: number; gradientDepth: number };
}
const engine = () => tf.engine() as unknown as EngineInternals;

/** tfjs's own engine.customGrad, kept by the first install (tests put it back to compare). */
let tfjsCustomGradMethod: CustomGrad | undefined;

/**
 * The fused ops' forwards run their kernel (_FusedMatMul, FusedConv2D, FusedDepthwiseConv2D) with
 * optional inputs left undefined, which tfjs never records (the forward runs with the tape paused), and
 * tfjs's tape walk reads every input's id. Recorded here, those entries are dropped from the node. The
 * kernel has no gradient, so a gradient that reached it would throw tfjs's "gradient function not
 * found"; none does: tfjs fuses under a tape only a linear activation, whose gradient does not read the
 * kernel's output.
 */
function withoutAbsentInputs(nodes: readonly TapeNode[]): void {
  for (const node of nodes) {
    if (Object.values(node.inputs).some((t) => t == null)) node.inputs = Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => t != null));
  }
}

/**
 * tfjs's customGrad, wrapped: `f` as tfjs runs it, except under second order, where its gradient gets
 * saved tensors that the tape links to the op's inputs (see the module comment).
 */
function differentiableCustomGrad(this: EngineInternals, f: CustomFunc): (...inputs: tf.Tensor[]) => tf.Tensor {
  const plain = tfjsCustomGradMethod!.call(this, f);
  return (...inputs: tf.Tensor[]) => {
    const { state } = engine();
    // Under another op's forward (kernelDepth > 0) nothing is recorded anyway: tfjs's own path.
    if (state.kernelDepth > 0 || state.gradientDepth === 0 || !savingForHigherOrderNow()) return plain(...inputs);
    const linked = inputs.map((x) => tf.keep(x.clone()));
    let recorded: CustomResult | undefined;
    let saved: tf.Tensor[] = [];
    const wrapped: CustomFunc = (...args) => {
      const first = f(...args);
      return {
        value: first.value,
        // tfjs's backward runs this; when the backward is itself recorded, use the recorded run.
        gradFunc: (dy, tfjsSaved) => (recording() ? recorded!.gradFunc(dy, saved) : first.gradFunc(dy, tfjsSaved)),
      };
    };
    const value = tfjsCustomGradMethod!.call(this, wrapped)(...linked);
    const node = state.activeTape?.at(-1);
    if (!node || node.outputs[0] !== value) {
      tf.dispose(linked);
      throw new Error('second-order gradient of a customGrad op: its tape node was not the last one recorded (tfjs engine changed?)');
    }
    // The second run, recorded: its saved tensors depend on `linked` through the tape.
    const from = state.activeTape!.length;
    recorded = f(...linked, (ts: tf.Tensor[]) => (saved = ts.map((t) => tf.keep(t))));
    withoutAbsentInputs(state.activeTape!.slice(from));
    // Disposed with the tape's saved tensors, as tfjs disposes its own (a tensor twice is a no-op).
    node.saved.push(...linked, ...saved);
    return value;
  };
}

/**
 * Makes tfjs's customGrad ops differentiable twice, by wrapping `tf.engine().customGrad`, which every
 * tfjs-core op that has a custom gradient calls each time it runs (tfjs-core's `customGrad(f)` is
 * `ENGINE.customGrad(f)`). Idempotent.
 *
 * @example
 * ```ts
 * installCustomOpGradients();
 * const z = tf.tensor1d([0.3, -1, 2]);
 * const H = hessian((l: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.tensor1d([0, 1, 0]), tf.logSoftmax(l)))))(z); // diag(p) − ppᵀ
 * ```
 */
export function installCustomOpGradients(): void {
  const e = engine();
  if (e.customGrad === (differentiableCustomGrad as unknown)) return;
  tfjsCustomGradMethod ??= e.customGrad;
  e.customGrad = differentiableCustomGrad as unknown as CustomGrad;
}

/**
 * Runs `fn` with tfjs's own engine.customGrad in place (for the tests that compare against tfjs), then
 * puts gradpool's back.
 *
 * @example
 * ```ts
 * const theirs = withTfjsCustomGrad(() => grads(...)); // tfjs's logSoftmax gradient, not differentiable
 * ```
 */
export function withTfjsCustomGrad<R>(fn: () => R): R {
  const e = engine();
  const ours = e.customGrad;
  if (tfjsCustomGradMethod) e.customGrad = tfjsCustomGradMethod;
  try {
    return fn();
  } finally {
    e.customGrad = ours;
  }
}
