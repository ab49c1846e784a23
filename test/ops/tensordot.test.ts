import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { tensordot, type TensordotAxes } from '../../src/ops/tensordot.js';
import { Rng } from '../../src/rng.js';
import { fdGrad } from '../helpers/fd.js';
import { assertClose } from '../helpers/assert.js';

/** A plain-JS dense array, row-major. */
interface Arr {
  shape: number[];
  data: Float64Array;
}

/** Calls `cb` with every multi-index of `shape` in row-major order (once, with [], for rank 0). */
function forEachIndex(shape: readonly number[], cb: (idx: number[]) => void): void {
  if (shape.some((n) => n === 0)) return;
  const idx = new Array<number>(shape.length).fill(0);
  for (;;) {
    cb(idx);
    let d = shape.length - 1;
    while (d >= 0 && ++idx[d]! === shape[d]!) idx[d--] = 0;
    if (d < 0) return;
  }
}

function flatIndex(idx: readonly number[], shape: readonly number[]): number {
  return idx.reduce((f, i, d) => f * shape[d]! + i, 0);
}

/**
 * The oracle: tensordot by explicit summation over index tuples, no reshape/transpose/matmul, so it
 * shares no code path with the implementation under test.
 */
function refTensordot(a: Arr, b: Arr, axes: TensordotAxes): Arr {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [ca, cb] = typeof axes === 'number'
    ? [Array.from({ length: axes }, (_, i) => ra - axes + i), Array.from({ length: axes }, (_, i) => i)]
    : [axes[0].map((x) => (x + ra) % ra), axes[1].map((x) => (x + rb) % rb)];
  const fa = a.shape.map((_, i) => i).filter((i) => !ca.includes(i));
  const fb = b.shape.map((_, i) => i).filter((i) => !cb.includes(i));
  const outShape = [...fa.map((i) => a.shape[i]!), ...fb.map((i) => b.shape[i]!)];
  const sumShape = ca.map((i) => a.shape[i]!);
  const out = new Float64Array(outShape.reduce((p, n) => p * n, 1));
  forEachIndex(outShape, (o) => {
    const ia = new Array<number>(ra);
    const ib = new Array<number>(rb);
    fa.forEach((ax, j) => (ia[ax] = o[j]!));
    fb.forEach((ax, j) => (ib[ax] = o[fa.length + j]!));
    let s = 0;
    forEachIndex(sumShape, (c) => {
      c.forEach((v, j) => {
        ia[ca[j]!] = v;
        ib[cb[j]!] = v;
      });
      s += a.data[flatIndex(ia, a.shape)]! * b.data[flatIndex(ib, b.shape)]!;
    });
    out[flatIndex(o, outShape)] = s;
  });
  return { shape: outShape, data: out };
}

/** Random float32-representable data, so tfjs and the float64 oracle see identical inputs. */
function randArr(rng: Rng, shape: number[]): Arr {
  const n = shape.reduce((p, x) => p * x, 1);
  const f32 = Float32Array.from({ length: n }, () => rng.normal());
  return { shape, data: Float64Array.from(f32) };
}

const arr = (shape: number[], values: number[]): Arr => ({ shape, data: Float64Array.from(values) });
const toTensor = (x: Arr): tf.Tensor => tf.tensor(Float32Array.from(x.data), x.shape, 'float32');

/** Runs tensordot in tfjs and returns the plain result (disposing every tensor it made). */
function runTf(a: Arr, b: Arr, axes: TensordotAxes): Arr {
  const [ta, tb] = [toTensor(a), toTensor(b)];
  const out = tensordot(ta, tb, axes);
  const res = { shape: out.shape, data: Float64Array.from(out.dataSync()) };
  tf.dispose([ta, tb, out]);
  return res;
}

/** A random contraction: ranks 0..4, sizes 1..3, integer or (possibly negative, shuffled) list axes. */
function randCase(rng: Rng): { a: Arr; b: Arr; axes: TensordotAxes } {
  const ra = rng.int(5);
  const rb = rng.int(5);
  const n = rng.int(Math.min(ra, rb) + 1);
  const sa = Array.from({ length: ra }, () => 1 + rng.int(3));
  const sb = Array.from({ length: rb }, () => 1 + rng.int(3));
  let axes: TensordotAxes;
  if (rng.uniform() < 0.3) {
    axes = n;
    for (let i = 0; i < n; i++) sb[i] = sa[ra - n + i]!;
  } else {
    const la = Array.from(rng.permutation(ra)).slice(0, n);
    const lb = Array.from(rng.permutation(rb)).slice(0, n);
    la.forEach((ax, i) => (sb[lb[i]!] = sa[ax]!));
    const neg = (ax: number, r: number) => (rng.uniform() < 0.3 ? ax - r : ax);
    axes = [la.map((ax) => neg(ax, ra)), lb.map((ax) => neg(ax, rb))];
  }
  return { a: randArr(rng, sa), b: randArr(rng, sb), axes };
}

/** Hand-computed cases: [name, a, b, axes, expected]. */
const A23 = arr([2, 3], [1, 2, 3, 4, 5, 6]);
const B32 = arr([3, 2], [7, 8, 9, 10, 11, 12]);
const HAND: [string, Arr, Arr, TensordotAxes, Arr][] = [
  // [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
  ['2x3 . 3x2 matrix product (axes=1)', A23, B32, 1, arr([2, 2], [58, 64, 139, 154])],
  // 1*1 + 2*0 + 3*-1 + 4*2 + 5*0 + 6*1 = 12
  ['seed x[3,2] . W[3,2,1], axes [[0,1],[0,1]]', arr([3, 2], [1, 2, 3, 4, 5, 6]), arr([3, 2, 1], [1, 0, -1, 2, 0, 1]), [[0, 1], [0, 1]], arr([1], [12])],
  ['outer product (axes=0)', arr([2], [1, 2]), arr([3], [3, 4, 5]), 0, arr([2, 3], [3, 4, 5, 6, 8, 10])],
  // rows of A23 dotted with [1,1,2]: 1+2+6, 4+5+12
  ['negative axes [[-1],[-1]]', A23, arr([3], [1, 1, 2]), [[-1], [-1]], arr([2], [9, 21])],
  // sum_ij A[i,j] B[j,i] = trace(A B) = 58 + 154: pairs listed in crossed order
  ['crossed pairs [[0,1],[1,0]] (full contraction)', A23, B32, [[0, 1], [1, 0]], arr([], [212])],
  // out[i,l,0,k] = sum_j a[i,j,l] b[0,j,k] with a = 1..8, b = [[1,-1],[2,0]]: middle axes on both sides
  ['transpose on both sides [[1],[-2]]', arr([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), arr([1, 2, 2], [1, -1, 2, 0]), [[1], [-2]], arr([2, 2, 1, 2], [7, -1, 10, -2, 19, -5, 22, -6])],
  ['scalar times vector (axes=0)', arr([], [3]), arr([2], [1, -2]), 0, arr([2], [3, -6])],
];

/** Checks grads of sum(tensordot(a,b,axes) * r) against a float64 finite difference of the oracle. */
function checkGrads(a: Arr, b: Arr, axes: TensordotAxes, rng: Rng, label: string): void {
  const r = randArr(rng, refTensordot(a, b, axes).shape);
  const [ta, tb, tr] = [toTensor(a), toTensor(b), toTensor({ shape: [r.data.length], data: r.data })];
  // Flattened before the multiply: outputs here reach rank 8, and tfjs-backend-wasm's elementwise
  // ops (XNNPACK, at most 6 dims) silently return garbage above rank 6.
  const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.reshape(tensordot(x, y, axes), [-1]), tr)));
  const [ga, gb] = grads([ta, tb]);
  const [fa, fb] = fdGrad(([x, y]) => {
    const out = refTensordot({ shape: a.shape, data: x! }, { shape: b.shape, data: y! }, axes).data;
    return out.reduce((s, v, i) => s + v * r.data[i]!, 0);
  }, [a.data, b.data]);
  // tfjs works in float32 (~6e-8 relative per op); the float64 FD of this bilinear loss is exact up
  // to rounding, so the slack here is only for float32 accumulation.
  assert.deepEqual(ga!.shape, a.shape, `${label}: grad a shape`);
  assert.deepEqual(gb!.shape, b.shape, `${label}: grad b shape`);
  assertClose(ga!.dataSync(), fa!, { rtol: 1e-4, atol: 1e-5, shape: a.shape }, `${label}: d/da`);
  assertClose(gb!.dataSync(), fb!, { rtol: 1e-4, atol: 1e-5, shape: b.shape }, `${label}: d/db`);
  tf.dispose([ta, tb, tr, ga!, gb!]);
}

/** Value and gradient tests, registered once per backend. */
function correctnessSuite(backend: 'cpu' | 'wasm'): void {
  describe(`tensordot on ${backend}`, function () {
    let previous: string;
    before(async function () {
      previous = tf.getBackend();
      // Imported lazily: a top-level import registers wasm (priority above cpu) for every test file.
      if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      assert.equal(await tf.setBackend(backend), true, `could not initialise the ${backend} backend`);
    });
    after(async function () {
      if (previous) await tf.setBackend(previous); // undefined when no backend was initialised yet
    });

    for (const [name, a, b, axes, expected] of HAND) {
      it(`hand-computed: ${name}`, function () {
        const oracle = refTensordot(a, b, axes);
        assert.deepEqual(oracle.shape, expected.shape, 'oracle shape');
        assert.deepEqual(Array.from(oracle.data), Array.from(expected.data), 'oracle values');
        const got = runTf(a, b, axes);
        assert.deepEqual(got.shape, expected.shape, 'shape');
        // Small integers: float32 is exact, so demand equality.
        assert.deepEqual(Array.from(got.data), Array.from(expected.data), 'values');
      });
    }

    it('seed model tf.add(tensordot(x, W, [[0,1],[0,1]]), b) gives shape [1]', function () {
      const [x, W, bias] = [tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor3d([1, 0, -1, 2, 0, 1], [3, 2, 1]), tf.tensor1d([0.5])];
      const y = tf.add(tensordot(x, W, [[0, 1], [0, 1]]), bias);
      assert.deepEqual(y.shape, [1]);
      assert.deepEqual(Array.from(y.dataSync()), [12.5]);
      tf.dispose([x, W, bias, y]);
    });

    it('matches the oracle on 60 random shapes and axes', function () {
      const rng = new Rng(1234);
      for (let t = 0; t < 60; t++) {
        const { a, b, axes } = randCase(rng);
        const label = `case ${t}: a ${JSON.stringify(a.shape)}, b ${JSON.stringify(b.shape)}, axes ${JSON.stringify(axes)}`;
        const want = refTensordot(a, b, axes);
        const got = runTf(a, b, axes);
        assert.deepEqual(got.shape, want.shape, `${label}: shape`);
        assertClose(got.data, want.data, { rtol: 1e-5, atol: 1e-5, shape: want.shape }, label);
      }
    });

    it('gradients w.r.t. a and b match finite differences (hand and random cases)', function () {
      const rng = new Rng(99);
      for (const [name, a, b, axes] of HAND) checkGrads(a, b, axes, rng, name);
      for (let t = 0; t < 15; t++) {
        const { a, b, axes } = randCase(rng);
        checkGrads(a, b, axes, rng, `random case ${t}: a ${JSON.stringify(a.shape)}, b ${JSON.stringify(b.shape)}, axes ${JSON.stringify(axes)}`);
      }
    });

    it('gradients of a nonlinear seed-model loss match finite differences', function () {
      // loss = (tanh(tensordot(x, W, [[0,1],[0,1]]) + b) - y)^2, differentiated w.r.t. W and b.
      const rng = new Rng(7);
      const x = randArr(rng, [3, 2]);
      const W = randArr(rng, [3, 2, 1]);
      const bias = randArr(rng, [1]);
      const y = 0.25;
      const [tx, tW, tb] = [toTensor(x), toTensor(W), toTensor(bias)];
      const [gW, gb] = tf.grads((w: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.square(tf.sub(tf.tanh(tf.add(tensordot(tx, w, [[0, 1], [0, 1]]), c)), y))))([tW, tb]);
      const [fW, fb] = fdGrad(([w, c]) => {
        const z = x.data.reduce((s, v, i) => s + v * w![i]!, 0) + c![0]!;
        return (Math.tanh(z) - y) ** 2;
      }, [W.data, bias.data]);
      // Not bilinear any more: FD truncation is O(h^2) ~ 1e-6 relative, still well inside 1e-4.
      assertClose(gW!.dataSync(), fW!, { rtol: 1e-4, atol: 1e-6 }, 'd loss / dW');
      assertClose(gb!.dataSync(), fb!, { rtol: 1e-4, atol: 1e-6 }, 'd loss / db');
      tf.dispose([tx, tW, tb, gW!, gb!]);
    });
  });
}

correctnessSuite('cpu');
correctnessSuite('wasm');

describe('tensordot on cpu: validation, memory, kernels', function () {
  let previous: string;
  before(async function () {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
  });
  after(async function () {
    if (previous) await tf.setBackend(previous);
  });

  const t = (shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32') => tf.zeros(shape, dtype);
  const CASES: [string, () => unknown, string][] = [
    ['a not a tensor', () => tensordot(5 as never, t([2]), 0), 'a: expected a tf.Tensor, got 5'],
    ['b not a tensor', () => tensordot(t([2]), [1, 2] as never, 0), 'b: expected a tf.Tensor, got [1,2]'],
    ['a int32', () => tensordot(t([2], 'int32'), t([2]), 1), 'a: expected dtype "float32", got "int32"'],
    ['b bool', () => tensordot(t([2]), t([2], 'bool'), 1), 'b: expected dtype "float32", got "bool"'],
    ['axes a string', () => tensordot(t([2]), t([2]), '1' as never), 'axes: expected an integer or a pair of axis lists [number[], number[]], got "1"'],
    ['axes one list', () => tensordot(t([2]), t([2]), [[0]] as never), 'axes: expected an integer or a pair of axis lists [number[], number[]], got [[0]]'],
    ['N too large', () => tensordot(t([2, 3]), t([3, 2]), 3), 'axes: expected an integer in [0, 2], got 3'],
    ['N negative', () => tensordot(t([2, 3]), t([3, 2, 4]), -1), 'axes: expected an integer in [0, 2], got -1'],
    ['N fractional', () => tensordot(t([2, 3]), t([3, 2]), 1.5), 'axes: expected an integer in [0, 2], got 1.5'],
    ['lists of unequal length', () => tensordot(t([2, 3]), t([2, 3]), [[0, 1], [0]]), 'axes: expected two axis lists of equal length, got [[0,1],[0]]'],
    ['a axis too large', () => tensordot(t([2, 3]), t([2, 3]), [[2], [0]]), 'axes[0][0]: expected an axis of a (rank 2): an integer in [-2, 1], got 2'],
    ['b axis too negative', () => tensordot(t([2, 3]), t([2, 3]), [[0, 1], [0, -3]]), 'axes[1][1]: expected an axis of b (rank 2): an integer in [-2, 1], got -3'],
    ['fractional axis', () => tensordot(t([2, 3]), t([2, 3]), [[0.5], [0]]), 'axes[0][0]: expected an axis of a (rank 2): an integer in [-2, 1], got 0.5'],
    ['string axis', () => tensordot(t([2, 3]), t([2, 3]), [['0'], [0]] as never), 'axes[0][0]: expected an axis of a (rank 2): an integer in [-2, 1], got "0"'],
    ['axis of a scalar', () => tensordot(t([]), t([2]), [[0], [0]]), 'axes[0][0]: expected an axis of a, but a is a scalar (rank 0), got 0'],
    ['repeated a axis (0 and -2)', () => tensordot(t([2, 2]), t([2, 2]), [[0, -2], [0, 1]]), 'axes[0]: expected distinct axes of a (axis 0 is listed twice), got [0,-2]'],
    ['repeated b axis', () => tensordot(t([2, 2]), t([2, 2]), [[0, 1], [1, 1]]), 'axes[1]: expected distinct axes of b (axis 1 is listed twice), got [1,1]'],
    ['seed sizes differ', () => tensordot(t([3, 2]), t([4, 2, 1]), [[0, 1], [0, 1]]), 'axes: contracted dimensions differ: a axis 0 has size 3, b axis 0 has size 4'],
    ['N=1 sizes differ', () => tensordot(t([2, 3]), t([4, 2]), 1), 'axes: contracted dimensions differ: a axis 1 has size 3, b axis 0 has size 4'],
    ['second pair differs, negative axes shown as given', () => tensordot(t([2, 3]), t([2, 5]), [[0, -1], [0, -1]]), 'axes: contracted dimensions differ: a axis -1 has size 3, b axis -1 has size 5'],
  ];
  for (const [name, call, message] of CASES) {
    it(`rejects ${name}`, function () {
      // tidy disposes the inputs built inside `call` even though it throws.
      assert.throws(() => tf.tidy(call as () => tf.Tensor), { name: 'GradPoolError', message });
    });
  }

  it('handles zero-size free and contracted dimensions', function () {
    for (const [sa, sb] of [[[0, 3], [3, 2]], [[2, 0], [0, 3]]]) {
      const rng = new Rng(5);
      const [a, b] = [randArr(rng, sa!), randArr(rng, sb!)];
      const got = runTf(a, b, 1);
      const want = refTensordot(a, b, 1); // [0,2] empty, or [2,3] of zeros (empty sums)
      assert.deepEqual(got.shape, want.shape);
      assert.deepEqual(Array.from(got.data), Array.from(want.data));
    }
  });

  it('leaks no tensors (forward, gradients, and rejected calls)', function () {
    const rng = new Rng(3);
    const before = tf.memory().numTensors;
    for (const [, a, b, axes] of HAND) {
      runTf(a, b, axes);
      checkGrads(a, b, axes, rng, 'leak check');
    }
    const [a, b] = [tf.zeros([2, 3]), tf.zeros([4, 2])];
    assert.throws(() => tensordot(a, b, 1));
    assert.throws(() => tensordot(a, b, [[0, 0], [0, 1]]));
    tf.dispose([a, b]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('issues no Transpose kernel when the layout already fits, in forward and backward', async function () {
    const kernels = async (f: () => tf.TensorContainer) => {
      const info = await tf.profile(f);
      tf.dispose(info.result);
      return info.kernels.map((k) => k.name);
    };
    const x = tf.ones([3, 2]);
    const W = tf.ones([3, 2, 1]);
    const m = tf.ones([2, 3]);
    const seed = await kernels(() => tensordot(x, W, [[0, 1], [0, 1]]));
    assert.equal(seed.filter((k) => k === 'Transpose').length, 0, `seed forward kernels: ${seed}`);
    // a's contracted axis leads: matMul's transposeA flag absorbs it, and pairs are reordered freely.
    const led = await kernels(() => tensordot(x, m, [[0], [1]]));
    assert.equal(led.filter((k) => k === 'Transpose').length, 0, `[[0],[1]] kernels: ${led}`);
    const swapped = await kernels(() => tensordot(x, x, [[1, 0], [1, 0]]));
    assert.equal(swapped.filter((k) => k === 'Transpose').length, 0, `[[1,0],[1,0]] kernels: ${swapped}`);
    const back = await kernels(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tensordot(p, q, [[0, 1], [0, 1]])))([x, W]));
    assert.equal(back.filter((k) => k === 'Transpose').length, 0, `seed backward kernels: ${back}`);
    const [c, d, e, f] = [tf.ones([2, 2, 2]), tf.ones([1, 2, 2]), tf.ones([2, 3, 4, 5]), tf.ones([4, 3, 6])];
    const both = await kernels(() => tensordot(c, d, [[1], [1]]));
    assert.equal(both.filter((k) => k === 'Transpose').length, 2, `middle-axis kernels: ${both}`);
    // a must be transposed whatever the order; ordering the pairs by b's axes spares b's transpose.
    const one = await kernels(() => tensordot(e, f, [[2, 1], [0, 1]]));
    assert.equal(one.filter((k) => k === 'Transpose').length, 1, `[[2,1],[0,1]] kernels: ${one}`);
    tf.dispose([x, W, m, c, d, e, f]);
  });
});

describe('test oracles (test/helpers/fd.ts)', function () {
  it('fdGrad differentiates several float64 arguments', function () {
    // f(x, y) = sum(x^3) * y0  =>  df/dx = 3x^2 y0, df/dy0 = sum(x^3)
    const [gx, gy] = fdGrad(([x, y]) => x!.reduce((s, v) => s + v ** 3, 0) * y![0]!, [[1, -2], [0.5]]);
    assertClose(gx!, [1.5, 6], { rtol: 1e-6 }, 'df/dx');
    assertClose(gy!, [-7], { rtol: 1e-9 }, 'df/dy');
  });

  it('assertClose reports count, worst index and both values', function () {
    assertClose([1, 2.00001], [1, 2], { rtol: 1e-5 }, 'ok');
    assert.throws(() => assertClose([1, 2.5, 3.1], [1, 2, 3], { rtol: 0.01, atol: 0, shape: [3, 1] }, 'v'), {
      name: 'AssertionError',
      message: 'v: 2 of 3 elements not close (atol=0, rtol=0.01); worst at index 1 [1,0]: actual 2.5, expected 2 (|diff| 0.500 > allowed 0.0200)',
    });
    assert.throws(() => assertClose([NaN], [1]), /worst at index 0: actual NaN, expected 1/);
    assert.throws(() => assertClose([1, 2], [1]), { message: 'values: expected length 1, got length 2' });
    assertClose([NaN, -Infinity], [NaN, -Infinity]);
  });
});
