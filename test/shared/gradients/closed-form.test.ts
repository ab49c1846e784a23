// Second and third derivatives of the re-registered kernels against hand-derived closed forms,
// evaluated in float64 JavaScript at the float32 points tfjs sees, to 1e-5 relative (float32's own
// rounding of the tfjs side is ~1e-7 per op). Runs on cpu and wasm.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { assertClose } from '../../helpers/assert.js';
import { uniform } from '../../helpers/data.js';
import { useBackend } from '../../helpers/env.js';

type T = tf.Tensor;
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_ALPHA = 1.6732632423543772848170429916717;
const x32 = Float32Array.from(uniform(8, 31), (v) => 1.8 * v); // in [-1.8, 1.8), away from 0 by chance
const X = Array.from(x32);

/** d²/dx² of an elementwise op at every x (the inner grad's sum is elementwise, so grad(grad) is the diagonal). */
function second(op: (x: T) => T, at: Float32Array): Float32Array {
  return tf.tidy(() => tf.grad((x: T) => tf.grad(op)(x))(tf.tensor(at)).dataSync() as Float32Array);
}

const sigma = (x: number) => 1 / (1 + Math.exp(-x));
const ELEMENTWISE: [string, (x: T) => T, (x: number) => number][] = [
  ['tanh', tf.tanh, (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
  ['sigmoid', tf.sigmoid, (x) => sigma(x) * (1 - sigma(x)) * (1 - 2 * sigma(x))],
  ['exp', tf.exp, Math.exp],
  ['elu', tf.elu, (x) => (x > 0 ? 0 : Math.exp(x))],
  ['selu', tf.selu, (x) => (x > 0 ? 0 : SELU_SCALE * SELU_ALPHA * Math.exp(x))],
  // Piecewise linear r, times x: (x·r)'' = 2r' (r'' = 0), so the masks must pass dy's dependence on x
  // (tfjs's own masks threw: Greater, LessEqual and LogicalAnd have no gradient).
  ['x ↦ x·leakyRelu(x)', (x) => tf.mul(x, tf.leakyRelu(x, 0.2)), (x) => (x > 0 ? 2 : 0.4)],
  ['x ↦ x·relu6(4x)', (x) => tf.mul(x, tf.relu6(tf.mul(x, 4))), (x) => (x > 0 && 4 * x <= 6 ? 8 : 0)],
  ['x ↦ x·clipByValue(x, −1, 1)', (x) => tf.mul(x, tf.clipByValue(x, -1, 1)), (x) => (Math.abs(x) <= 1 ? 2 : 0)],
  ['x ↦ x·max(x, 0.3)', (x) => tf.mul(x, tf.maximum(x, 0.3)), (x) => (x >= 0.3 ? 2 : 0)],
  ['x ↦ x·min(x, 0.3)', (x) => tf.mul(x, tf.minimum(x, 0.3)), (x) => (x <= 0.3 ? 2 : 0)],
  ['x ↦ 1.3^x', (x) => tf.pow(tf.scalar(1.3), x), (x) => 1.3 ** x * Math.log(1.3) ** 2],
  ['x ↦ |x|^2.5', (x) => tf.pow(tf.abs(x), 2.5), (x) => 2.5 * 1.5 * Math.abs(x) ** 0.5],
];

/** Softmax of a float64 row. */
function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * The Hessian-vector product of `f` at `x` in direction `v`, through tfjs's tape; zeros where the
 * first derivative does not depend on x at all (tf.grad would throw there).
 */
function hvp(f: (x: T) => T, x: number[], v: number[]): Float32Array {
  return tf.tidy(() => {
    const [xt, vt] = [tf.tensor(x), tf.tensor(v)];
    const [h] = tf.engine().gradients(() => tf.sum(tf.mul(tf.grad(f)(xt), vt)), [xt], undefined, true).grads;
    return (h ?? tf.zerosLike(xt)).dataSync() as Float32Array;
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`second-order gradients against closed forms (${backend})`, () => {
    before(() => useBackend(backend));

    it("the issue's example: tf.grad(tf.grad(tf.tanh))(0.5) = -2 tanh(0.5) (1 - tanh²(0.5)), and the third derivative too", () => {
      const t = Math.tanh(0.5);
      const d2 = tf.tidy(() => tf.grad((x: T) => tf.grad(tf.tanh)(x))(tf.scalar(0.5)).dataSync()[0]!);
      assertClose([d2], [-2 * t * (1 - t * t)], { rtol: 1e-6 }, "tanh''(0.5)");
      // tanh''' = -2 (1 - t²)(1 - 3t²): each level's Tanh gradient recomputes tanh on the tape, so any order works.
      const d3 = tf.tidy(() => tf.grad((x: T) => tf.grad((y: T) => tf.grad(tf.tanh)(y))(x))(tf.scalar(0.5)).dataSync()[0]!);
      assertClose([d3], [-2 * (1 - t * t) * (1 - 3 * t * t)], { rtol: 1e-6 }, "tanh'''(0.5)");
    });

    for (const [name, op, d2] of ELEMENTWISE) {
      it(`${name}: second derivative`, () => {
        assertClose(second(op, x32), X.map(d2), { rtol: 1e-5, atol: 1e-6 }, `${name}''`);
      });
    }

    it('softmax: Hessian of Σ w·softmax(x), H_jk = s_j(δ_jk − s_k)(w_j − w̄) − s_j s_k (w_k − w̄), times v', () => {
      const x = Array.from(Float32Array.from(uniform(5, 41), (v) => 2 * v));
      const w = Array.from(uniform(5, 42));
      const v = Array.from(uniform(5, 43));
      const s = softmax(x);
      const wbar = s.reduce((a, sj, j) => a + sj * w[j]!, 0);
      const H = (j: number, k: number) => s[j]! * ((j === k ? 1 : 0) - s[k]!) * (w[j]! - wbar) - s[j]! * s[k]! * (w[k]! - wbar);
      const want = x.map((_, j) => x.reduce((a, _2, k) => a + H(j, k) * v[k]!, 0));
      const got = hvp((xt) => tf.sum(tf.mul(tf.softmax(xt), tf.tensor(w))), x, v);
      assertClose(got, want, { rtol: 1e-5, atol: 1e-7 }, 'softmax Hessian·v');
    });

    it('softmax cross-entropy written with logSumExp: Hessian in the logits is diag(p) − p pᵀ', () => {
      const x = Array.from(Float32Array.from(uniform(4, 51), (v) => 3 * v));
      const y = [0, 0, 1, 0];
      const p = softmax(x);
      const crossEntropy = (z: T) => tf.neg(tf.sum(tf.mul(tf.tensor(y), tf.sub(z, tf.logSumExp(z)))));
      for (let k = 0; k < 4; k++) {
        const e = x.map((_, j) => (j === k ? 1 : 0));
        const want = p.map((pj, j) => (j === k ? pj : 0) - pj * p[k]!);
        assertClose(hvp(crossEntropy, x, e), want, { rtol: 1e-5, atol: 1e-7 }, `Hessian column ${k}`);
      }
    });

    it("maxPool ('same', all values negative): the Hessian of Σ c⊙maxPool(x)² is 2c on each window's max", () => {
      // Negative maxima in padded windows are where tfjs-wasm's MaxPoolWithArgmax answers 0.
      const [H, W] = [5, 5];
      const x = Array.from(Float32Array.from(uniform(H * W, 61), (v) => -1.05 + v)); // in [-2.05, -0.05)
      const c = Array.from(uniform(9, 62));
      const v = Array.from(uniform(H * W, 63));
      const want = new Array<number>(H * W).fill(0);
      for (let oy = 0; oy < 3; oy++) {
        for (let ox = 0; ox < 3; ox++) {
          let at = -1;
          for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
            const [yy, xx] = [2 * oy + dy, 2 * ox + dx];
            if (yy < H && xx < W && (at < 0 || x[yy * W + xx]! > x[at]!)) at = yy * W + xx;
          }
          want[at] = 2 * c[oy * 3 + ox]! * v[at]!;
        }
      }
      const f = (z: T) => tf.sum(tf.mul(tf.tensor(c, [1, 3, 3, 1]), tf.square(tf.maxPool(tf.reshape(z, [1, H, W, 1]) as tf.Tensor4D, 2, 2, 'same'))));
      assertClose(hvp(f, x, v), want, { rtol: 1e-6, atol: 1e-7 }, 'maxPool Hessian·v');
    });

    it('tf.logSoftmax (a tfjs customGrad op, not a kernel: src/shared/gradients/custom-ops.ts): the Hessian of −log p₂ is diag(p) − ppᵀ', () => {
      const x = Array.from(Float32Array.from(uniform(4, 51), (v) => 3 * v));
      const p = softmax(x);
      const got = hvp((z) => tf.neg(tf.sum(tf.mul(tf.tensor([0, 0, 1, 0]), tf.logSoftmax(z)))), x, [1, 0, 0, 0]);
      const want = p.map((pj, j) => (j === 0 ? pj : 0) - pj * p[0]!);
      assertClose(got, want, { rtol: 1e-5, atol: 1e-7 }, 'logSoftmax Hessian column 0');
    });
  });
}
