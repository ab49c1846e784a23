/**
 * No tensor leaks: 1,000 calls of each transform (and of the compositions) leave
 * tf.memory().numTensors where it was once the caller disposes what each call returned. Each case
 * checks its first result's value too, so a transform that returned nothing could not pass.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { grad, hessian, jacfwd, jacrev, jvp, valueAndGrad, vjp } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { withBackend } from '../helpers/env.js';
import { disposeTree } from './oracle.js';

describe('frontend: no tensor leaks over 1,000 calls of each transform', () => {
  withBackend('cpu');
  let x: tf.Tensor;
  let t: tf.Tensor;
  let ones: tf.Tensor;
  let s0: tf.Tensor;
  before(() => {
    x = tf.tensor1d([0.5, -1, 2]);
    t = tf.tensor1d([1, 0, -1]);
    ones = tf.ones([3]);
    s0 = tf.scalar(0.3);
  });
  after(() => tf.dispose([x, t, ones, s0]));
  const f = (v: tf.Tensor) => tf.sum(tf.tanh(tf.mul(v, v))); // scalar, second order through tanh
  const g = (v: tf.Tensor) => tf.softmax(tf.tanh(v)); // vector
  const d = (v: number) => 2 * v * (1 - Math.tanh(v * v) ** 2); // f' elementwise

  const cases: [string, () => unknown, (r: unknown) => void][] = [
    ['grad', () => grad(f)(x), (r) => assertClose((r as tf.Tensor).dataSync(), [0.5, -1, 2].map(d), { rtol: 1e-5, atol: 1e-6 })], // float32 1 − tanh²(4) cancels: ~1e-7 absolute,
    ['valueAndGrad with hasAux', () => valueAndGrad((v: tf.Tensor) => [f(v), { m: tf.max(v) }] as const, { hasAux: true })(x), (r) => assert.equal((r as [[tf.Tensor, { m: tf.Tensor }]])[0][1].m.dataSync()[0], 2)],
    ['vjp and vjpFn', () => { const [out, fn] = vjp(g, x); return [out, fn(ones)]; }, (r) => assertClose(((r as [tf.Tensor, tf.Tensor[]])[1][0]!).dataSync(), [0, 0, 0], { atol: 1e-6 })], // softmax sums to 1: Jᵀ1 = 0
    ['jvp', () => jvp(g, [x], [t]), (r) => assert.equal((r as tf.Tensor[])[1]!.shape[0], 3)],
    ['jacrev', () => jacrev(g)(x), (r) => assert.deepEqual((r as tf.Tensor).shape, [3, 3])],
    ['jacfwd', () => jacfwd(g)(x), (r) => assert.deepEqual((r as tf.Tensor).shape, [3, 3])],
    ['hessian', () => hessian(f)(x), (r) => assert.deepEqual((r as tf.Tensor).shape, [3, 3])],
    ['grad(grad)', () => grad(grad((s: tf.Tensor) => tf.mul(tf.tanh(s), s)))(s0), (r) => assert.equal((r as tf.Tensor).rank, 0)],
    ['jacrev(jacrev)', () => jacrev(jacrev(g))(x), (r) => assert.deepEqual((r as tf.Tensor).shape, [3, 3, 3])],
    // Through a customGrad op: its second-order path keeps clones and a recorded re-run on the tape.
    ['hessian through tf.logSoftmax', () => hessian((v: tf.Tensor) => tf.neg(tf.sum(tf.mul(ones, tf.logSoftmax(v)))))(x), (r) => assert.notEqual((r as tf.Tensor).dataSync()[0], 0)],
    ['vjp with hasAux and vjpFn', () => { const [out, fn, aux] = vjp({ hasAux: true }, (v: tf.Tensor) => [g(v), { m: tf.max(v) }] as const, x); return [out, fn(ones), aux]; }, (r) => assert.equal((r as [unknown, unknown, { m: tf.Tensor }])[2].m.dataSync()[0], 2)],
  ];

  for (const [name, call, check] of cases) {
    it(name, () => {
      const first = call();
      check(first);
      disposeTree(first);
      const before = tf.memory().numTensors;
      for (let k = 0; k < 1000; k++) disposeTree(call());
      assert.equal(tf.memory().numTensors, before, `${name}: tensors after 1,000 calls`);
    });
  }
});
