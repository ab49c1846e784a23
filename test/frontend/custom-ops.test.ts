/**
 * The transforms' second order through tfjs's customGrad ops, tf.logSoftmax and
 * tf.losses.softmaxCrossEntropy (src/shared/gradients/custom-ops.ts), which gave zeros before: the
 * Hessian of a softmax cross-entropy with respect to the logits, by hessian, jacrev(jacrev),
 * jacfwd(jacrev) and grad(grad) (a Hessian-vector product), against two independent oracles in
 * float64: the hand formula (Σy)·(diag(p) − ppᵀ) and central differences of the gradient p·Σy − y.
 * On cpu and wasm; first-order values bit-identical to tf.grads with tfjs's own customGrad.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { grad, hessian, jacfwd, jacrev } from '../../src/index.js';
import { withTfjsCustomGrad } from '../../src/shared/gradients/custom-ops.js';
import { assertClose, sameBytes } from '../helpers/assert.js';
import { BACKENDS, withBackend } from '../helpers/env.js';
import { fdJacobian, matVec, read, values } from './oracle.js';

const K = 5;
const Z0 = values(K, 11, 3);
// Soft labels summing to 1 (to float32 rounding): tfjs's softmaxCrossEntropy gradient is p − y, the
// derivative only then (TensorFlow's convention); logSoftmax's is exact for any labels.
const RAW = values(K, 12).map((v) => Math.abs(v) + 0.1);
const LABELS = RAW.map((v) => Math.fround(v / RAW.reduce((a, b) => a + b, 0)));

/** softmax(z) in float64. */
function softmax64(z: ArrayLike<number>): Float64Array {
  const m = Math.max(...Array.from(z));
  const e = Float64Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
const ySum = LABELS.reduce((a, b) => a + b, 0);
/** ∇_z of −Σ y log softmax(z) = p·Σy − y, in float64: the finite-difference oracle differentiates it. */
const ceGrad64 = (z: Float64Array) => softmax64(z).map((p, i) => p * ySum - LABELS[i]!);
/** The hand formula: (Σy)·(diag(p) − ppᵀ). */
function ceHessian64(z: ArrayLike<number>): Float64Array {
  const p = softmax64(z);
  return Float64Array.from({ length: K * K }, (_, k) => {
    const [i, j] = [Math.floor(k / K), k % K];
    return ySum * ((i === j ? p[i]! : 0) - p[i]! * p[j]!);
  });
}

/** The two customGrad spellings of the same loss, as functions of logits [K]. */
const LOSSES = {
  'tf.logSoftmax': (z: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.tensor1d(LABELS), tf.logSoftmax(z)))),
  'tf.losses.softmaxCrossEntropy': (z: tf.Tensor) =>
    tf.mul(tf.losses.softmaxCrossEntropy(tf.tensor2d(LABELS, [1, K]), tf.reshape(z, [1, K]), undefined, 0, tf.Reduction.SUM), 1),
};

for (const backend of BACKENDS) {
  describe(`frontend: second order through tfjs's customGrad ops (${backend})`, () => {
    withBackend(backend);

    it('the oracles agree: finite differences of p·Σy − y against (Σy)·(diag(p) − ppᵀ)', () => {
      assertClose(fdJacobian(ceGrad64, Z0), ceHessian64(Z0), { rtol: 1e-7, atol: 1e-9 });
    });

    for (const [name, ce] of Object.entries(LOSSES)) {
      it(`${name}: hessian, jacrev(jacrev), jacfwd(jacrev) and grad(grad)·v give the softmax cross-entropy's Hessian`, () => {
        const z = tf.tensor1d(Z0);
        const want = ceHessian64(Z0);
        const fd = fdJacobian(ceGrad64, Z0);
        for (const [how, H] of [
          ['hessian', hessian(ce)(z)],
          ['jacrev(jacrev)', jacrev(jacrev(ce))(z)],
          ['jacfwd(jacrev)', jacfwd(jacrev(ce))(z)],
        ] as const) {
          assert.deepEqual(H.shape, [K, K], how);
          assertClose(read(H), want, { rtol: 1e-5, floor: 1e-2 }, `${how} vs the hand formula`);
          assertClose(read(H), fd, { rtol: 1e-5, floor: 1e-2 }, `${how} vs finite differences`);
          H.dispose();
        }
        const v0 = values(K, 13);
        const v = tf.tensor1d(v0);
        const Hv = grad((u: tf.Tensor) => tf.sum(tf.mul(grad(ce)(u), v)))(z);
        assertClose(read(Hv), matVec(want, v0, K, K), { rtol: 1e-5, floor: 1e-2 }, 'grad(grad)·v');
        tf.dispose([z, v, Hv]);
      });

      it(`${name}: the first derivative is bit-identical to tf.grads with tfjs's own customGrad, plain and under an outer transform`, () => {
        const z = tf.tensor1d(Z0);
        const bits = (g: tf.Tensor) => Float32Array.from(g.dataSync());
        const theirs = withTfjsCustomGrad(() => tf.tidy(() => bits(tf.grad(ce)(z))));
        const plain = tf.tidy(() => bits(tf.grad(ce)(z)));
        // Under jacrev the gradient's rows are computed on the second-order path (a recorded re-run).
        let nested: Float32Array | undefined;
        const J = jacrev((u: tf.Tensor) => {
          const g = grad(ce)(u);
          nested = bits(g);
          return g;
        })(z);
        assert.ok(sameBytes(plain, theirs), 'plain tf.grad');
        assert.ok(sameBytes(nested!, theirs), 'grad under jacrev');
        tf.dispose([z, J]);
      });
    }
  });
}
