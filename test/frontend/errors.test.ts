/**
 * The pytree module's round trip and every transform's refusals, by exact message: each names the
 * argument or the path of the bad leaf, what was expected and what was got.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { grad, jacfwd, jacrev, jvp, valueAndGrad, vjp } from '../../src/index.js';
import { flatten, unflatten } from '../../src/shared/pytree.js';
import { throwsExactly } from '../helpers/assert.js';
import { withBackend } from '../helpers/env.js';
import { disposeTree } from './oracle.js';

describe('frontend: pytrees and errors', () => {
  withBackend('cpu');
  let x: tf.Tensor;
  before(() => (x = tf.tensor1d([1, 2, 3])));
  after(() => x.dispose());

  it('flatten / unflatten round-trips arrays and plain objects in index and key order', () => {
    const a = tf.scalar(1);
    const b = tf.scalar(2);
    const c = tf.scalar(3);
    const tree = { z: [a, { 'odd key': b }], y: c };
    const { leaves, structure } = flatten(tree, 'tree');
    assert.deepEqual(leaves, [a, b, c]);
    assert.deepEqual(unflatten(structure, leaves), tree);
    throwsExactly(() => flatten({ z: [a, { 'odd key': 5 }] }, 'tree'), 'tree.z[1]["odd key"]: expected a tf.Tensor, got 5', 'ERR_INVALID_ARG_TYPE');
    disposeTree(tree);
  });

  it("a bad leaf of f's output is named by its path", () => {
    throwsExactly(() => jacrev((v: tf.Tensor) => [v, { b: 3 }])(x), "f's output[1].b: expected a tf.Tensor, got 3", 'ERR_INVALID_ARG_TYPE');
    throwsExactly(() => vjp((v: tf.Tensor) => ({ y: [v, null] }), x), "f's output.y[1]: expected a tf.Tensor, got null");
  });

  it("grad refuses a non-scalar output, naming the output's shape", () => {
    throwsExactly(() => grad((v: tf.Tensor) => tf.square(v))(x), "f's output: expected shape [], got [3]; grad needs a scalar output: for other outputs use vjp or jacrev", 'ERR_SHAPE');
    throwsExactly(
      () => valueAndGrad((v: tf.Tensor) => [tf.reshape(v, [1, 3]), 0] as const, { hasAux: true })(x),
      "f's output[0]: expected shape [], got [1,3]; grad needs a scalar output: for other outputs use vjp or jacrev",
    );
  });

  it('options: argnums, hasAux, unknown fields, and argnums against the call', () => {
    const f = (v: tf.Tensor) => tf.sum(v);
    throwsExactly(() => grad(f, { argnums: [0, 0] }), 'argnums: expected a non-negative integer or a non-empty array of distinct non-negative integers, got [0,0]', 'ERR_INVALID_OPTION');
    throwsExactly(() => jacfwd(f, { argnums: -1 }), 'argnums: expected a non-negative integer or a non-empty array of distinct non-negative integers, got -1');
    throwsExactly(() => grad(f, { hasAux: 'yes' } as never), 'hasAux: expected a boolean, got "yes"');
    throwsExactly(() => grad(f, { argnum: 1 } as object), 'options.argnum: unknown field (expected one of: argnums, hasAux)');
    throwsExactly(() => grad(3 as unknown as typeof f), 'f: expected a function, got 3');
    throwsExactly(() => grad(f, { argnums: 1 })(x), 'argnums: expected indices below 1 (f was called with 1 argument), got 1');
    throwsExactly(() => grad(f, { hasAux: true } as never)(x), "f's output: expected an array [output, aux] (hasAux is true), got a tf.Tensor");
  });

  it('differentiated arguments must be trees of float32 tensors', () => {
    const i = tf.tensor1d([1, 2], 'int32');
    throwsExactly(() => grad((p: { w: tf.Tensor }) => tf.sum(p.w))({ w: i }), 'args[0].w: expected a float32 tf.Tensor, got an int32 tf.Tensor');
    throwsExactly(() => grad((p: unknown) => tf.sum(x))([x, 'two']), 'args[0][1]: expected a tf.Tensor, got "two"');
    // a non-differentiated argument may be anything
    const g = grad((v: tf.Tensor, k: number) => tf.mul(tf.sum(v), k))(x, 2);
    assert.deepEqual(Array.from(g.dataSync()), [2, 2, 2]);
    disposeTree([i, g]);
  });

  it('vjpFn cotangents and jvp tangents must match the output / primals in structure and shape', () => {
    const [out, vjpFn] = vjp((v: tf.Tensor) => [tf.square(v), tf.sum(v)], x);
    const wrongShape = [tf.ones([2]), tf.scalar(1)];
    throwsExactly(() => vjpFn(wrongShape), 'cotangents[0]: expected shape [3], got [2]', 'ERR_SHAPE');
    const c = tf.ones([3]);
    throwsExactly(() => vjpFn(c as unknown as tf.Tensor[]), "cotangents: expected an array of length 2 (as f's output), got a tf.Tensor of shape [3]");
    throwsExactly(() => jvp((v: tf.Tensor) => v, [x], [] as never), 'tangents: expected an array of length 1 (one tangent per primal), got []');
    throwsExactly(() => jvp((v: tf.Tensor) => v, [x], [{ t: c }] as unknown as [tf.Tensor]), 'tangents[0]: expected a tf.Tensor (as primals[0]), got an object with keys t');
    disposeTree([out, wrongShape, c]);
  });

  it('a throw inside f leaves no tensors behind (the tape is cleared before it propagates)', () => {
    const before = tf.memory().numTensors;
    const failing = (v: tf.Tensor) => {
      tf.tanh(v);
      throw new Error('model bug');
    };
    for (let k = 0; k < 20; k++) assert.throws(() => jacrev(failing)(x), /model bug/);
    for (let k = 0; k < 20; k++) assert.throws(() => grad((v: tf.Tensor) => tf.exp(v))(x), /expected shape \[\]/);
    assert.equal(tf.memory().numTensors, before);
  });
});
