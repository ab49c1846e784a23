/**
 * vjp and jvp: vjp against the transposed float64 finite-difference Jacobian and tfjs's own tf.grads;
 * jvp (double-vjp) against float64 directional finite differences, first on ops whose tfjs gradients
 * were always differentiable (matMul, add, mul, square, reshape, sum), then on tanh and softmax,
 * whose differentiable gradients src/shared/gradients installs. On cpu and wasm. vjp's hasAux form too.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { jvp, vjp } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { BACKENDS, withBackend } from '../helpers/env.js';
import { disposeTree, fdDirectional, fdJacobian, matVec, read, values } from './oracle.js';

const A0 = values(12, 41); // [4, 3]

/** Polynomial ops only: y = reshape((A x)² ⊙ (A x) + x̄, [2, 2]) with x̄ = Σx broadcast. */
function poly(x: tf.Tensor): tf.Tensor {
  const ax = tf.reshape(tf.matMul(tf.tensor2d(A0, [4, 3]), tf.reshape(x, [3, 1])), [4]);
  return tf.reshape(tf.add(tf.mul(tf.square(ax), ax), tf.sum(x)), [2, 2]);
}
function poly64(x: Float64Array): Float64Array {
  const s = x.reduce((a, b) => a + b, 0);
  return matVec(A0, x, 4, 3).map((v) => v ** 3 + s);
}

/** tanh and softmax: y = softmax(tanh(A x)). */
function smooth(x: tf.Tensor): tf.Tensor {
  return tf.softmax(tf.tanh(tf.reshape(tf.matMul(tf.tensor2d(A0, [4, 3]), tf.reshape(x, [3, 1])), [4])));
}
function smooth64(x: Float64Array): Float64Array {
  const t = matVec(A0, x, 4, 3).map(Math.tanh);
  const e = t.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

for (const backend of BACKENDS) describe(`frontend: vjp, jvp (${backend})`, () => {
  withBackend(backend);
  const x0 = values(3, 42);
  const t0 = values(3, 43);

  it('vjp: out is f(x), and vjpFn(c) = Jᵀc against the float64 finite-difference Jacobian and tf.grads of Σ f(x)⊙c', () => {
    const x = tf.tensor1d(x0);
    const c0 = values(4, 44);
    const c = tf.tensor2d(c0, [2, 2]);
    const [out, vjpFn] = vjp(poly, x);
    assertClose(read(out), poly64(Float64Array.from(x0)), { rtol: 1e-5 }, 'out');
    const J = fdJacobian(poly64, x0);
    const want = [0, 1, 2].map((j) => c0.reduce((s, ci, i) => s + ci * J[i * 3 + j]!, 0));
    const [dx] = vjpFn(c);
    assertClose(read(dx), want, { rtol: 1e-5, floor: 1e-2 }, 'Jᵀc vs finite differences');
    const [byTf] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(poly(v), c)))([x]);
    assertClose(read(dx), read(byTf!), { rtol: 1e-6, atol: 1e-7 }, 'Jᵀc vs tf.grads');
    const [again] = vjpFn(c); // vjpFn may be called again (it re-runs f)
    assert.deepEqual(Array.from(read(again)), Array.from(read(dx)));
    disposeTree([x, c, out, dx, byTf, again]);
  });

  it('vjp with several primals and a pytree output returns one cotangent per primal, each with its structure', () => {
    const a = tf.tensor1d([1, 2]);
    const b = { s: tf.scalar(3) };
    const f = (u: tf.Tensor, v: { s: tf.Tensor }) => ({ p: tf.mul(u, v.s), q: [tf.sum(u)] });
    const [out, vjpFn] = vjp(f, a, b);
    assert.deepEqual(Array.from(read(out.p)), [3, 6]);
    const [da, db] = vjpFn({ p: tf.tensor1d([1, 10]), q: [tf.scalar(5)] }) as [tf.Tensor, { s: tf.Tensor }];
    assert.deepEqual(Array.from(read(da)), [3 + 5, 30 + 5]); // s·c_p + c_q
    assert.deepEqual(Array.from(read(db.s)), [1 + 20]); // u·c_p
    disposeTree([a, b, out, da, db]);
  });

  it('vjp({ hasAux: true }, f, ...primals) returns [out, vjpFn, aux]: aux from the first run, not differentiated; vjpFn as without aux', () => {
    const x = tf.tensor1d(x0);
    const c0 = values(4, 45);
    const c = tf.tensor2d(c0, [2, 2]);
    let runs = 0;
    const f = (v: tf.Tensor) => [poly(v), { norm: tf.norm(v), run: ++runs }] as const;
    const [out, vjpFn, aux] = vjp({ hasAux: true }, f, x);
    assertClose(read(out), poly64(Float64Array.from(x0)), { rtol: 1e-5 }, 'out');
    assertClose(read(aux.norm), [Math.hypot(...x0)], { rtol: 1e-6 }, 'aux.norm');
    assert.equal(aux.run, 1);
    const [dx] = vjpFn(c);
    const J = fdJacobian(poly64, x0);
    assertClose(read(dx), [0, 1, 2].map((j) => c0.reduce((s, ci, i) => s + ci * J[i * 3 + j]!, 0)), { rtol: 1e-5, floor: 1e-2 }, 'Jᵀc (aux adds nothing)');
    assert.equal(aux.run, 1, "vjpFn's re-run does not replace aux");
    const [plainOut, plainFn] = vjp({ hasAux: false }, poly, x);
    assert.deepEqual(Array.from(read(plainFn(c)[0])), Array.from(read(dx)), 'hasAux: false is the plain form');
    assert.throws(() => vjp({ hasAux: true }, poly as never, x), /f's output: expected an array \[output, aux\] \(hasAux is true\)/);
    assert.throws(() => vjp({ hasAux: 1 } as never, poly, x), /hasAux/);
    assert.throws(() => vjp({ argnums: 0 } as never, poly, x), /options\.argnums/);
    disposeTree([x, c, out, dx, aux, plainOut]);
  });

  for (const [name, f, f64] of [
    ['matMul, add, mul, square, reshape, sum', poly, poly64],
    ['tanh and softmax', smooth, smooth64],
  ] as const) {
    it(`jvp (double-vjp) on ${name}: out = f(x) and J·t against float64 directional finite differences`, () => {
      const x = tf.tensor1d(x0);
      const t = tf.tensor1d(t0);
      const [out, tangentOut] = jvp(f, [x], [t]);
      assertClose(read(out), f64(Float64Array.from(x0)), { rtol: 1e-5 }, 'out');
      assert.deepEqual(tangentOut.shape, out.shape);
      assertClose(read(tangentOut), fdDirectional(f64, x0, t0), { rtol: 1e-5, floor: 1e-2 }, 'J·t');
      disposeTree([x, t, out, tangentOut]);
    });
  }

  it('jvp with pytree primals sums the contributions of every primal (∂f/∂a·ta + ∂f/∂b·tb)', () => {
    const f = (a: tf.Tensor, p: { w: tf.Tensor }) => [tf.mul(a, p.w), tf.sum(tf.square(a))];
    const [out, tout] = jvp(f, [tf.tensor1d([1, 2]), { w: tf.tensor1d([3, 4]) }], [tf.tensor1d([1, 0]), { w: tf.tensor1d([0, 1]) }]);
    assert.deepEqual(Array.from(read(out[0])), [3, 8]);
    assert.deepEqual(Array.from(read(tout[0])), [3, 2]); // w⊙ta + a⊙tw
    assert.deepEqual(Array.from(read(tout[1])), [2]); // 2a·ta
    disposeTree([out, tout]);
  });
});
