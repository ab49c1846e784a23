/**
 * grad and valueAndGrad: values against hand-derived derivatives and float64 finite differences,
 * argnums / hasAux semantics (torch.func's), pytree arguments, and composition (grad(grad(f))).
 * On cpu and wasm, against the same float64 oracles and float32 tolerances.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { grad, hessian, valueAndGrad } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { BACKENDS, withBackend } from '../helpers/env.js';
import { fdGrad } from '../helpers/fd.js';
import { disposeTree, read, values } from './oracle.js';

for (const backend of BACKENDS) describe(`frontend: grad, valueAndGrad (${backend})`, () => {
  withBackend(backend);

  it('grad of Σ tanh(W x)² with respect to W matches float64 finite differences', () => {
    const W0 = values(6, 1);
    const x0 = values(3, 2, 2);
    const f = (W: tf.Tensor) => tf.sum(tf.square(tf.tanh(tf.matMul(W, tf.tensor2d(x0, [3, 1])))));
    const f64 = ([W]: Float64Array[]) => {
      let s = 0;
      for (let i = 0; i < 2; i++) s += Math.tanh(W![i * 3]! * x0[0]! + W![i * 3 + 1]! * x0[1]! + W![i * 3 + 2]! * x0[2]!) ** 2;
      return s;
    };
    const W = tf.tensor2d(W0, [2, 3]);
    const g = grad(f)(W);
    assert.deepEqual(g.shape, [2, 3]);
    assertClose(read(g), fdGrad(f64, [W0], 1e-4)[0]!, { rtol: 1e-5, floor: 1e-2 }, 'dW');
    disposeTree([W, g]);
  });

  it("grad(grad(f)) of f = tanh(x)·x² is the closed-form f'' = −2t(1−t²)x² + 4x(1−t²) + 2t", () => {
    const f = (x: tf.Tensor) => tf.mul(tf.tanh(x), tf.square(x));
    for (const x0 of [0.5, -1.25, 2]) {
      const t = Math.tanh(Math.fround(x0));
      const x = Math.fround(x0);
      const d2 = grad(grad(f))(tf.scalar(x0));
      assertClose(read(d2), [-2 * t * (1 - t * t) * x * x + 4 * x * (1 - t * t) + 2 * t], { rtol: 1e-5, atol: 1e-6 }, `f''(${x0})`);
      d2.dispose();
    }
  });

  it('argnums: a number gives one gradient, an array a tuple in its order; the same tensor in two positions gets a gradient per position', () => {
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.add(tf.sum(tf.mul(a, tf.square(b))), tf.sum(tf.square(c)));
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor1d([3, -1]);
    const c = tf.tensor1d([0.5, 4]);
    const gb = grad(f, { argnums: 1 })(a, b, c); // 2ab
    assert.deepEqual(Array.from(read(gb)), [6, -4]);
    const [gc, ga] = grad(f, { argnums: [2, 0] })(a, b, c); // [2c, b²]
    assert.deepEqual(Array.from(read(gc)), [1, 8]);
    assert.deepEqual(Array.from(read(ga)), [9, 1]);
    // f(x, x, c): ∂/∂a = x², ∂/∂b = 2x·x, distinct although the tensors are one
    const [g0, g1] = grad(f, { argnums: [0, 1] })(a, a, c);
    assert.deepEqual(Array.from(read(g0)), [1, 4]);
    assert.deepEqual(Array.from(read(g1)), [2, 8]);
    disposeTree([a, b, c, gb, gc, ga, g0, g1]);
  });

  it('an argument f does not depend on gets zeros, as torch.func and JAX give', () => {
    const g = grad((_a: tf.Tensor, b: tf.Tensor) => tf.sum(b), { argnums: [0, 1] })(tf.ones([2, 2]), tf.ones([3]));
    assert.deepEqual(Array.from(read(g[0])), [0, 0, 0, 0]);
    assert.deepEqual(g[0].shape, [2, 2]);
    assert.deepEqual(Array.from(read(g[1])), [1, 1, 1]);
    disposeTree(g);
  });

  it("a derivative that no longer depends on x differentiates to zeros (tfjs's own tf.grad(tf.grad) throws there)", () => {
    // leakyRelu' is piecewise constant, so its Hessian is 0 away from 0; d/dx Σ (d/dy Σ 3y)(x) = 0.
    const H = hessian((x: tf.Tensor) => tf.sum(tf.leakyRelu(x, 0.2)))(tf.tensor1d([1, -2]));
    assert.deepEqual(H.shape, [2, 2]);
    assert.deepEqual(Array.from(read(H)), [0, 0, 0, 0]);
    const g = grad((x: tf.Tensor) => tf.sum(grad((y: tf.Tensor) => tf.sum(tf.mul(y, 3)))(x)))(tf.tensor1d([1, 2]));
    assert.deepEqual(Array.from(read(g)), [0, 0]);
    assert.throws(() => tf.grad(tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, 3))))(tf.tensor1d([1, 2])), /Cannot compute gradient/);
    disposeTree([H, g]);
  });

  it('hasAux: grad returns [grads, aux], valueAndGrad [[value, aux], grads]; aux may hold non-tensors', () => {
    const f = (x: tf.Tensor) => [tf.sum(tf.square(x)), { mean: tf.mean(x), label: 'ok' }] as const;
    const x = tf.tensor1d([1, 2, 3]);
    const [g, aux] = grad(f, { hasAux: true })(x);
    assert.deepEqual(Array.from(read(g)), [2, 4, 6]);
    assert.deepEqual(Array.from(read(aux.mean)), [2]);
    assert.equal(aux.label, 'ok');
    const [[value, aux2], g2] = valueAndGrad(f, { hasAux: true })(x);
    assert.deepEqual(Array.from(read(value)), [14]);
    assert.deepEqual(Array.from(read(aux2.mean)), [2]);
    assert.deepEqual(Array.from(read(g2)), [2, 4, 6]);
    const [v3, g3] = valueAndGrad((y: tf.Tensor) => tf.sum(tf.square(y)))(x);
    assert.deepEqual([read(v3)[0], ...read(g3)], [14, 2, 4, 6]);
    disposeTree([x, g, aux, value, aux2, g2, v3, g3]);
  });

  it('pytree arguments: the gradient has the argument structure (an object with a nested array)', () => {
    const params: { W: tf.Tensor; extra: tf.Tensor[] } = { W: tf.tensor2d([1, 2, 3, 4], [2, 2]), extra: [tf.scalar(3)] };
    const x = tf.tensor2d([1, -1], [2, 1]);
    const loss = (p: typeof params) => tf.mul(tf.sum(tf.matMul(p.W, x)), p.extra[0]!); // (Σ W x)·s
    const g = grad(loss)(params);
    assert.deepEqual(Object.keys(g), ['W', 'extra']);
    assert.deepEqual(Array.from(read(g.W)), [3, -3, 3, -3]); // s·x_l for every row
    assert.deepEqual(Array.from(read(g.extra[0])), [-2]); // Σ W x = (1−2) + (3−4)
    // the same against tfjs's own tf.grads (the per-argument loop a user would write)
    const oracle = tf.grads((W: tf.Tensor, s: tf.Tensor) => loss({ W, extra: [s] }))([params.W, params.extra[0]!]);
    assert.deepEqual(Array.from(read(g.W)), Array.from(read(oracle[0])));
    disposeTree([params, x, g, oracle]);
  });

  it('grad works inside a user tf.tidy: results are tracked by it, the caller keeps what it returns', () => {
    const x = tf.tensor1d([1, 2]);
    const before = tf.memory().numTensors;
    const kept = tf.tidy(() => {
      const g = grad((y: tf.Tensor) => tf.sum(tf.pow(y, 3)))(x);
      grad((y: tf.Tensor) => tf.sum(y))(x); // dropped: the tidy disposes it
      return g;
    });
    assert.equal(tf.memory().numTensors, before + 1);
    assert.deepEqual(Array.from(read(kept)), [3, 12]);
    disposeTree([x, kept]);
  });
});
