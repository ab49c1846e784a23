/**
 * jacrev, jacfwd, hessian against independent oracles: float64 central differences of the function
 * re-written in plain JavaScript, and hand-derived closed forms (the tanh MLP's W2·diag(1−t²)·W1, the
 * softmax cross-entropy's diag(p) − ppᵀ). Tolerances: float32 results, so ~1e-5 relative with a floor
 * on the array's scale for entries near zero. On cpu and wasm, against the same oracles.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { hessian, jacfwd, jacrev } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { BACKENDS, withBackend } from '../helpers/env.js';
import { disposeTree, fdJacobian, matVec, read, values } from './oracle.js';

const IN = 3;
const HID = 4;
const OUT = 2;
const W1 = values(HID * IN, 1);
const B1 = values(HID, 2);
const W2 = values(OUT * HID, 3);
const B2 = values(OUT, 4);
const X = values(IN, 5, 2);

/** The tanh MLP in tfjs: one sample x [3] -> [2]. */
function mlp(x: tf.Tensor): tf.Tensor {
  const h = tf.tanh(tf.add(tf.matMul(tf.tensor2d(W1, [HID, IN]), tf.reshape(x, [IN, 1])), tf.tensor2d(B1, [HID, 1])));
  return tf.reshape(tf.add(tf.matMul(tf.tensor2d(W2, [OUT, HID]), h), tf.tensor2d(B2, [OUT, 1])), [OUT]);
}

/** The same MLP in float64. */
function mlp64(x: Float64Array): Float64Array {
  const h = matVec(W1, x, HID, IN).map((v, i) => Math.tanh(v + B1[i]!));
  return matVec(W2, h, OUT, HID).map((v, i) => v + B2[i]!);
}

/** Its Jacobian by hand: W2 · diag(1 − tanh²(W1 x + b1)) · W1, in float64. */
function mlpJacobian(x: ArrayLike<number>): Float64Array {
  const d = matVec(W1, x, HID, IN).map((v, i) => 1 - Math.tanh(v + B1[i]!) ** 2);
  const J = new Float64Array(OUT * IN);
  for (let i = 0; i < OUT; i++) for (let j = 0; j < IN; j++) for (let k = 0; k < HID; k++) J[i * IN + j] += W2[i * HID + k]! * d[k]! * W1[k * IN + j]!;
  return J;
}

for (const backend of BACKENDS) describe(`frontend: jacrev, jacfwd, hessian (${backend})`, () => {
  withBackend(backend);

  it("a tanh MLP's Jacobian with respect to its input: jacrev and jacfwd [2,3] match the closed form and float64 finite differences", () => {
    const x = tf.tensor1d(X);
    const fd = fdJacobian(mlp64, X);
    const exact = mlpJacobian(X);
    assertClose(fd, exact, { rtol: 1e-7, atol: 1e-9 }, 'the two oracles'); // the oracles agree first
    for (const [name, jac] of [['jacrev', jacrev(mlp)], ['jacfwd', jacfwd(mlp)]] as const) {
      const J = jac(x);
      assert.deepEqual(J.shape, [OUT, IN], name);
      assertClose(read(J), exact, { rtol: 1e-5, floor: 1e-2 }, `${name} vs closed form`);
      assertClose(read(J), fd, { rtol: 1e-5, floor: 1e-2 }, `${name} vs finite differences`);
      J.dispose();
    }
    x.dispose();
  });

  it("jacrev's rows are bit-identical to tfjs's own tf.grads with the same basis cotangents (its passes walk a cut tape: the same nodes, in the same order)", () => {
    const x = tf.tensor1d(X);
    const J = jacrev(mlp)(x);
    const rows = Array.from({ length: OUT }, (_, i) => tf.tidy(() => Array.from(tf.grads(mlp)([x], tf.oneHot(tf.scalar(i, 'int32'), OUT, 1, 0, 'float32'))[0]!.dataSync())));
    assert.deepEqual(Array.from(read(J)), rows.flat());
    tf.dispose([x, J]);
  });

  it('output shape is out.shape ++ in.shape: a [2,2] output of a [3,1] input gives [2,2,3,1]', () => {
    const x = tf.tensor2d(X, [3, 1]);
    const f = (v: tf.Tensor) => tf.mul(tf.slice(v, [0, 0], [1, 1]), tf.tensor2d([[1, 2], [3, 4]])); // broadcast [1,1]·[2,2]
    for (const jac of [jacrev(f), jacfwd(f)]) {
      const J = jac(x);
      assert.deepEqual(J.shape, [2, 2, 3, 1]);
      // out[a,b] = (2a+b+1)·x[0,0]: only the x[0,0] entry has a derivative
      const want = new Float64Array(12);
      for (let k = 0; k < 4; k++) want[k * 3] = k + 1;
      assertClose(read(J), want, { rtol: 1e-6 }, 'dout/dx');
      J.dispose();
    }
    x.dispose();
  });

  it('the Hessian of a softmax cross-entropy with respect to the logits is diag(p) − ppᵀ (hessian, jacfwd(jacrev), jacrev(jacrev))', () => {
    const z0 = values(5, 11, 3);
    const yRaw = values(5, 12).map((v) => Math.abs(v) + 0.1);
    const ySum = yRaw.reduce((a, b) => a + b, 0);
    const y = tf.tensor1d(yRaw.map((v) => v / ySum)); // soft labels summing to 1 (in float32, to ~1e-7)
    const ce = (z: tf.Tensor) => tf.neg(tf.sum(tf.mul(y, tf.log(tf.softmax(z)))));
    const zmax = Math.max(...z0);
    const e = z0.map((v) => Math.exp(v - zmax));
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / s);
    const want = new Float64Array(25);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) want[i * 5 + j] = (i === j ? p[i]! : 0) - p[i]! * p[j]!;
    const z = tf.tensor1d(z0);
    for (const [name, H] of [
      ['hessian', hessian(ce)(z)],
      ['jacfwd(jacrev)', jacfwd(jacrev(ce))(z)],
      ['jacrev(jacrev)', jacrev(jacrev(ce))(z)],
    ] as const) {
      assert.deepEqual(H.shape, [5, 5], name);
      assertClose(read(H), want, { rtol: 1e-5, floor: 1e-2 }, name);
      H.dispose();
    }
    tf.dispose([y, z]);
  });

  it('hessian with argnums [0, 1] nests blocks [[Haa, Hab], [Hba, Hbb]] (f = Σ a²b: diag(2b), diag(2a), diag(2a), 0)', () => {
    const a0 = values(3, 21);
    const b0 = values(3, 22);
    const a = tf.tensor1d(a0);
    const b = tf.tensor1d(b0);
    const H = hessian((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(tf.square(u), v)), { argnums: [0, 1] })(a, b);
    const diag = (d: readonly number[]) => Float64Array.from({ length: 9 }, (_, k) => (k % 4 === 0 ? d[k / 4]! : 0));
    const want = [
      [diag(b0.map((v) => 2 * v)), diag(a0.map((v) => 2 * v))],
      [diag(a0.map((v) => 2 * v)), new Float64Array(9)],
    ];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) assertClose(read(H[i]![j]), want[i]![j]!, { rtol: 1e-6, atol: 1e-7 }, `H[${i}][${j}]`);
    disposeTree([H, a, b]);
  });

  it('pytree in and out: jac has the output structure with each leaf replaced by the input structure; an output independent of an input gets zeros', () => {
    const x = tf.tensor1d([1, -2, 0.5]);
    const W0 = values(6, 31);
    const params = { W: tf.tensor2d(W0, [2, 3]), b: tf.tensor1d([0.25, -1]) };
    const f = (p: { W: tf.Tensor; b: tf.Tensor }) => ({ y: tf.add(tf.reshape(tf.matMul(p.W, tf.reshape(x, [3, 1])), [2]), p.b), s: [tf.sum(tf.square(p.W))] });
    for (const [name, jac] of [['jacrev', jacrev(f)], ['jacfwd', jacfwd(f)]] as const) {
      const J = jac(params);
      assert.deepEqual(Object.keys(J), ['y', 's'], name);
      assert.deepEqual(J.y.W.shape, [2, 2, 3]);
      assert.deepEqual(J.s[0]!.b.shape, [2]);
      const yW = new Float64Array(12); // ∂y_i/∂W_kl = δ_ik x_l
      for (let i = 0; i < 2; i++) for (let l = 0; l < 3; l++) yW[i * 6 + i * 3 + l] = [1, -2, 0.5][l]!;
      assertClose(read(J.y.W), yW, { rtol: 1e-6 }, `${name} y.W`);
      assertClose(read(J.y.b), [1, 0, 0, 1], { rtol: 1e-6 }, `${name} y.b`);
      assertClose(read(J.s[0]!.W), W0.map((v) => 2 * v), { rtol: 1e-6 }, `${name} s[0].W`);
      assert.deepEqual(Array.from(read(J.s[0]!.b)), [0, 0], `${name} s[0].b`);
      disposeTree(J);
    }
    disposeTree([x, params]);
  });

  it('argnums [1, 0] returns a tuple in that order; hasAux returns [jac, aux]', () => {
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor1d([3, 5]);
    const [Jb, Ja] = jacrev((u: tf.Tensor, v: tf.Tensor) => tf.mul(u, v), { argnums: [1, 0] })(a, b);
    assert.deepEqual(Array.from(read(Jb)), [1, 0, 0, 2]); // ∂(a⊙b)/∂b = diag(a)
    assert.deepEqual(Array.from(read(Ja)), [3, 0, 0, 5]);
    const [J, aux] = jacfwd((u: tf.Tensor) => [tf.square(u), { note: 'kept', m: tf.max(u) }] as const, { hasAux: true })(a);
    assert.deepEqual(Array.from(read(J)), [2, 0, 0, 4]);
    assert.equal(aux.note, 'kept');
    assert.deepEqual(Array.from(read(aux.m)), [2]);
    disposeTree([Jb, Ja, J, aux, a, b]);
  });
});
