// Unpack's and SplitV's gradients with a single output (src/shared/gradients/multi-output.ts), which
// tfjs's own throw on: against the closed form (the gradient of Σ piece₀ is ones where piece₀ came from),
// float64 finite differences (test/helpers/fd.ts), and tfjs's own configs shown to throw; on cpu and wasm.
// jacfwd(jacrev) of a scalar f stacks one row, so it differentiates a one-output Unpack too.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { jacfwd, jacrev } from '../../../src/index.js';
import { MULTI_OUTPUT_GRADIENTS } from '../../../src/shared/gradients/multi-output.js';
import { assertClose } from '../../helpers/assert.js';
import { BACKENDS, withBackend } from '../../helpers/env.js';
import { fdGrad } from '../../helpers/fd.js';
import { withTfjsGradients } from './tfjs-configs.js';

type T = tf.Tensor;
const X0 = [0.5, -1.25, 2, 0.75];
const KERNELS = MULTI_OUTPUT_GRADIENTS.map((c) => c.kernelName);

/** f, the piece it keeps from x [1, 4] (flat indices), and the same f in float64. */
const CASES: [string, (x: T) => T, (x: Float64Array) => number][] = [
  ['tf.unstack of [1, 4] (Unpack, one output)', (x) => tf.sum(tf.square(tf.unstack(x)[0]!)), (x) => x.reduce((s, v) => s + v * v, 0)],
  ['tf.unstack along axis 1 of [4, 1]', (x) => tf.sum(tf.square(tf.unstack(tf.reshape(x, [4, 1]), 1)[0]!)), (x) => x.reduce((s, v) => s + v * v, 0)],
  ['tf.split into 1 piece (SplitV, one output)', (x) => tf.sum(tf.mul(tf.split(x, 1, 1)[0]!, tf.tensor2d([[1, 2, 3, 4]]))), (x) => x.reduce((s, v, i) => s + (i + 1) * v, 0)],
  ['tf.unstack of [2, 2] (two outputs, as tfjs)', (x) => tf.sum(tf.square(tf.unstack(tf.reshape(x, [2, 2]))[1]!)), (x) => x[2]! ** 2 + x[3]! ** 2],
];

for (const backend of BACKENDS) {
  describe(`single-output Unpack and SplitV gradients (${backend})`, () => {
    withBackend(backend);

    for (const [name, f, f64] of CASES) {
      it(`${name}: tf.grad matches float64 finite differences`, () => {
        const x = tf.tensor2d(X0, [1, 4]);
        const g = tf.grad(f)(x);
        assert.deepEqual(g.shape, [1, 4]);
        assertClose(g.dataSync(), fdGrad(([v]) => f64(v!), [X0])[0]!, { rtol: 1e-6, atol: 1e-7 }, name);
        tf.dispose([x, g]);
      });
    }

    it("tfjs's own Unpack and SplitV gradients throw on a single output (so the fix is needed), and not on two", () => {
      const x = tf.tensor2d(X0, [1, 4]);
      withTfjsGradients(() => {
        assert.throws(() => tf.grad(CASES[0]![1])(x), /must be a `Tensor\[\]`/);
        assert.throws(() => tf.grad(CASES[2]![1])(x), /at least one tensor to concat/);
        tf.grad(CASES[3]![1])(x).dispose();
      }, KERNELS);
      x.dispose();
    });

    it('jacfwd(jacrev(f)) of a scalar f differentiates the one-row stack again: the Hessian of Σ x³ is diag(6x)', () => {
      const x = tf.tensor1d(X0);
      const H = jacfwd(jacrev((v: T) => tf.sum(tf.pow(v, 3))))(x);
      const want = Float64Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? 6 * X0[k / 5]! : 0));
      assertClose(H.dataSync(), want, { rtol: 1e-6, atol: 1e-6 }, 'H');
      tf.dispose([x, H]);
    });
  });
}
