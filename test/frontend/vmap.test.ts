/**
 * vmap: every result against the per-sample loop (f called on each sample's slice, plain tfjs, no
 * vmap backend), on cpu and wasm; inAxes / outAxes trees and negative axes, chunkSize, randomness,
 * compositions (vmap(grad), vmap(jacrev), vmap(vmap)), errors naming the argument.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { grad, jacrev, vmap } from '../../src/index.js';
import { assertClose, sameValues } from '../helpers/assert.js';
import { BACKENDS, withBackend } from '../helpers/env.js';
import { resetWarnings } from '../../src/shared/batching/index.js';
import { disposeTree, read, values } from './oracle.js';

/** Stacks `f(i)` for i < n along a new axis 0: the oracle every vmap result is checked against. */
function loop(n: number, f: (i: number) => tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.stack([...Array(n).keys()].map(f)));
}

const sample = (t: tf.Tensor, i: number, axis = 0) => tf.squeeze(tf.slice(t, t.shape.map((_, d) => (d === axis ? i : 0)), t.shape.map((s, d) => (d === axis ? 1 : s))), [axis]);

/** A one-sample model: x [3, 2] (the seed's tensordot input), W [3, 2, 1], b [1]. */
const model = (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor) => tf.tanh(tf.add(tf.reshape(tf.matMul(tf.reshape(x, [1, 6]), tf.reshape(W, [6, 1])), [1]), b));

for (const backend of BACKENDS) {
  describe(`frontend: vmap (${backend})`, () => {
    withBackend(backend);
    const n = 5;
    const xs = () => tf.tensor3d(values(n * 6, 1), [n, 3, 2]);
    const W = () => tf.tensor3d(values(6, 2), [3, 2, 1]);
    const b = () => tf.tensor1d([0.25]);

    it('vmap(model, { inAxes: [0, null, null] }) equals the per-sample loop', () => {
      const [x, w, bb] = [xs(), W(), b()];
      const got = vmap(model, { inAxes: [0, null, null] })(x, w, bb);
      const want = loop(n, (i) => model(sample(x, i), w, bb));
      assert.deepEqual(got.shape, [n, 1]);
      assertClose(read(got), read(want), { rtol: 1e-6, atol: 1e-7 });
      disposeTree([x, w, bb, got, want]);
    });

    it('vmap(grad(loss)) gives per-sample gradients equal to the tf.grads loop', () => {
      const [x, w, bb] = [xs(), W(), b()];
      const loss = (W: tf.Tensor, b: tf.Tensor, x: tf.Tensor) => tf.sum(tf.square(model(x, W, b)));
      const [gW, gb] = vmap(grad(loss, { argnums: [0, 1] }), { inAxes: [null, null, 0] })(w, bb, x);
      const oracle = [...Array(n).keys()].map((i) => tf.grads((W: tf.Tensor, b: tf.Tensor) => loss(W, b, sample(x, i)))([w, bb]));
      const wantW = tf.stack(oracle.map((g) => g[0]!));
      const wantB = tf.stack(oracle.map((g) => g[1]!));
      assert.deepEqual(gW.shape, [n, 3, 2, 1]);
      assertClose(read(gW), read(wantW), { rtol: 1e-5, atol: 1e-7 }, 'dW');
      assertClose(read(gb), read(wantB), { rtol: 1e-5, atol: 1e-7 }, 'db');
      disposeTree([x, w, bb, gW, gb, wantW, wantB, oracle]);
    });

    it('vmap(jacrev(f)) gives per-sample Jacobians equal to the jacrev loop', () => {
      const x = tf.tensor2d(values(n * 3, 3), [n, 3]);
      const A = tf.tensor2d(values(6, 4), [2, 3]);
      const f = (v: tf.Tensor) => tf.tanh(tf.squeeze(tf.matMul(A, tf.reshape(v, [3, 1])), [1]));
      const got = vmap(jacrev(f))(x);
      const want = loop(n, (i) => jacrev(f)(sample(x, i)));
      assert.deepEqual(got.shape, [n, 2, 3]);
      assertClose(read(got), read(want), { rtol: 1e-5, atol: 1e-7 });
      disposeTree([x, A, got, want]);
    });

    it('vmap(vmap(f)) maps over two axes, with a shared argument inside', () => {
      const x = tf.tensor3d(values(4 * 3 * 2, 5), [4, 3, 2]);
      const s = tf.tensor1d([1.5, -2]);
      const f = (v: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(tf.exp(v), k));
      const got = vmap(vmap(f, { inAxes: [0, null] }), { inAxes: [0, null] })(x, s);
      const want = loop(4, (i) => loop(3, (j) => f(sample(sample(x, i), j), s)));
      assert.deepEqual(got.shape, [4, 3]);
      assertClose(read(got), read(want), { rtol: 1e-6, atol: 1e-7 });
      disposeTree([x, s, got, want]);
    });

    it('mixed inAxes [null, 0] with outAxes: 1, and negative axes, equal the loop', () => {
      const M = tf.tensor2d(values(4 * 3, 6), [4, 3]);
      const v = tf.tensor2d(values(3 * n, 7), [3, n]); // batch on the last axis
      const f = (M: tf.Tensor, v: tf.Tensor) => tf.squeeze(tf.matMul(M, tf.reshape(v, [3, 1])), [1]); // [4]
      const got = vmap(f, { inAxes: [null, -1], outAxes: 1 })(M, v);
      const want = tf.transpose(loop(n, (i) => f(M, sample(v, i, 1))));
      assert.deepEqual(got.shape, [4, n]);
      assertClose(read(got), read(want), { rtol: 1e-6, atol: 1e-7 });
      const neg = vmap(f, { inAxes: [null, 1], outAxes: -1 })(M, v);
      assert.ok(sameValues(read(neg), read(got)), 'outAxes: -1 is the last axis, like 1 here');
      disposeTree([M, v, got, want, neg]);
    });

    it('pytree arguments and outputs: inAxes as an object prefix, outAxes per leaf, outAxes null for a batch-free leaf', () => {
      const params = { w: tf.tensor1d([0.5, -1, 2]), shift: tf.scalar(0.1) };
      const x = tf.tensor2d(values(n * 3, 8), [n, 3]);
      const f = (p: { w: tf.Tensor; shift: tf.Tensor }, x: tf.Tensor) => ({ y: tf.add(tf.sum(tf.mul(p.w, x)), p.shift), wSquared: tf.square(p.w), pair: [x, tf.neg(x)] });
      const out = vmap(f, { inAxes: [{ w: null, shift: null }, 0], outAxes: { y: 0, wSquared: null, pair: [0, 1] } })(params, x);
      const wantY = loop(n, (i) => tf.add(tf.sum(tf.mul(params.w, sample(x, i))), params.shift));
      assertClose(read(out.y), read(wantY), { rtol: 1e-6, atol: 1e-7 }, 'y');
      assert.deepEqual(out.wSquared.shape, [3], 'outAxes null: returned once, without a batch axis');
      assertClose(read(out.wSquared), [0.25, 1, 4], { rtol: 0, atol: 0 }, 'wSquared');
      assert.ok(sameValues(read(out.pair[0]!), read(x)));
      assert.deepEqual(out.pair[1]!.shape, [3, n]);
      assert.throws(() => vmap(f, { inAxes: [null, 0], outAxes: { y: null, wSquared: 0, pair: 0 } })(params, x), /outAxes\.y: expected a batch axis for f's output\.y, which depends on the batch, got null/);
      disposeTree([params, x, out, wantY]);
    });

    it('chunkSize gives the same bits as one chunk, for every chunk size', () => {
      const [x, w, bb] = [xs(), W(), b()];
      const loss = (x: tf.Tensor, W: tf.Tensor) => tf.sum(tf.square(model(x, W, bb)));
      const whole = vmap(grad(loss, { argnums: 1 }), { inAxes: [0, null] })(x, w);
      for (const chunkSize of [1, 2, 3, 5, 8]) {
        const chunked = vmap(grad(loss, { argnums: 1 }), { inAxes: [0, null], chunkSize })(x, w);
        assert.ok(sameValues(read(chunked), read(whole)), `chunkSize ${chunkSize}`);
        chunked.dispose();
      }
      disposeTree([x, w, bb, whole]);
    });

    it("randomness: 'error' (default) refuses a random op; 'different' draws per sample, independent of chunkSize; 'same' shares one draw", () => {
      const x = tf.ones([6, 16]);
      const drop = (v: tf.Tensor) => tf.dropout(v, 0.5);
      assert.throws(() => vmap(drop)(x), /randomness: the model calls tf\.dropout; random ops are refused with randomness 'error'\. Call vmap\(f, \{ randomness: 'different' \}\)/);
      const a = vmap(drop, { randomness: 'different', seed: 7 })(x);
      const c = vmap(drop, { randomness: 'different', seed: 7, chunkSize: 4 })(x);
      assert.ok(sameValues(read(a), read(c)), 'the draws do not depend on the chunking');
      const rows = (t: tf.Tensor) => (t.arraySync() as number[][]).map((r) => r.join());
      assert.equal(new Set(rows(a)).size, 6, 'six samples, six masks');
      const s = vmap(drop, { randomness: 'same', seed: 7, chunkSize: 4 })(x);
      assert.equal(new Set(rows(s)).size, 1, 'one mask for the whole batch, across chunks');
      const f = vmap(drop, { randomness: 'different', seed: 7 });
      const [d1, d2] = [f(x), f(x)];
      assert.ok(sameValues(read(d1), read(a)), 'the first call of a new vmap with the same seed draws the same');
      assert.ok(!sameValues(read(d1), read(d2)), 'the next call draws anew');
      assert.throws(() => vmap(vmap(drop), { randomness: 'different', seed: 1 })(tf.ones([2, 3, 4])), /Random ops inside a vmap nested in another vmap or called from a pool.s model are not supported/);
      disposeTree([x, a, c, s, d1, d2]);
    });

    it('a kernel without a batching rule runs per sample, with a warning naming it', () => {
      const x = tf.tensor2d(values(n * 3, 9), [n, 3]);
      const warnings: string[] = [];
      resetWarnings((m) => warnings.push(m));
      let got: tf.Tensor;
      try {
        got = vmap((v: tf.Tensor) => tf.diag(v))(x);
      } finally {
        resetWarnings();
      }
      const want = loop(n, (i) => tf.diag(sample(x, i)));
      assertClose(read(got), read(want), { rtol: 0, atol: 0 });
      assert.ok(warnings.some((w) => w.includes("no batching rule for kernel 'Diag'")), warnings.join('\n'));
      disposeTree([x, got, want]);
    });
  });
}

describe('frontend: vmap errors', () => {
  withBackend('cpu');
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.add(a, b);

  it('batched arguments of different sizes: names both arguments and both sizes', () => {
    const [a, b] = [tf.ones([4, 2]), tf.ones([2, 3])];
    assert.throws(() => vmap(f, { inAxes: [0, 1] })(a, b), /inAxes: expected batched arguments of one batch size: args\[0\] \(axis 0\) has 4 samples, got 3 samples in args\[1\] \(axis 1, shape \[2,3\]\)/);
    disposeTree([a, b]);
  });

  it('bad options name the option, with expected and actual values', () => {
    const a = tf.ones([2, 2]);
    assert.throws(() => vmap(f, { chunkSize: 0 }), /chunkSize: expected a positive integer, got 0/);
    assert.throws(() => vmap(f, { randomness: 'random' as never }), /randomness: expected one of 'error', 'different', 'same', got "random"/);
    assert.throws(() => vmap(f, { inAxis: 0 } as never), /options\.inAxis: unknown field/);
    assert.throws(() => vmap(f, { inAxes: [0, 2] })(a, a), /inAxes\[1\]: expected an axis in \[-2, 2\) for args\[1\] of shape \[2,2\], got 2/);
    assert.throws(() => vmap(f, { inAxes: [0] })(a, a), /inAxes: expected one entry per argument \(f was called with 2\)/);
    assert.throws(() => vmap(f, { inAxes: null })(a, a), /inAxes: expected at least one batched argument/);
    assert.throws(() => vmap(f, { inAxes: [{ w: 0 }, 0] })(a, a), /inAxes\[0\]: expected a number, null, or an object with the keys of args\[0\] \(a tf\.Tensor\)/);
    assert.throws(() => vmap(3 as never), /f: expected a function/);
    a.dispose();
  });

  it('leaks no tensor over 1,000 calls of vmap, vmap(grad), chunked and nested vmap', () => {
    const x = tf.tensor2d(values(12, 10), [4, 3]);
    const w = tf.tensor1d([1, 2, 3]);
    const loss = (v: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.mul(v, w)));
    const fns = [vmap(loss, { inAxes: [0, null] }), vmap(grad(loss, { argnums: 1 }), { inAxes: [0, null], chunkSize: 3 }), vmap(vmap((v: tf.Tensor) => tf.exp(v)), { inAxes: [0, null] })] as ((x: tf.Tensor, w: tf.Tensor) => unknown)[];
    for (const fn of fns) tf.dispose(fn(x, w) as tf.Tensor); // first calls register kernels and warm caches
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) for (const fn of fns) tf.dispose(fn(x, w) as tf.Tensor);
    assert.equal(tf.memory().numTensors, before);
    disposeTree([x, w]);
  });
});
