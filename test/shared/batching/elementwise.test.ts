import * as tf from '@tensorflow/tfjs';
import { B, check, U, useBackend, type ArgSpec } from './helpers.js';

describe('vectorized rules: elementwise', () => {
  before(() => useBackend('cpu'));

  describe('unary (defvectorized)', () => {
    const unary: [string, (x: tf.Tensor) => tf.Tensor, number?][] = [
      ['relu', tf.relu], ['tanh', tf.tanh], ['sigmoid', tf.sigmoid], ['exp', tf.exp], ['neg', tf.neg],
      ['square', tf.square], ['abs', tf.abs], ['sin', tf.sin], ['cos', tf.cos], ['softplus', tf.softplus],
      ['elu', tf.elu], ['selu', tf.selu], ['relu6', (x) => tf.relu6(tf.mul(x, 8))], ['leakyRelu', (x) => tf.leakyRelu(x, 0.1)],
      ['clipByValue', (x) => tf.clipByValue(x, -0.3, 0.4)], ['erf', tf.erf], ['atan', tf.atan],
      ['log', tf.log, 0.1], ['sqrt', tf.sqrt, 0.1], ['rsqrt', tf.rsqrt, 0.1], ['reciprocal', tf.reciprocal, 0.1], ['log1p', tf.log1p, 0.1],
    ];
    for (const [name, f, offset] of unary)
      it(name, () => {
        for (const shape of [[], [4], [2, 3]]) check(`${name} ${shape}`, f, [{ shape, batched: true, offset }]);
      });
    it('cast, sign, round, floor, isNaN (forward)', () => {
      check('cast', (x) => tf.cast(tf.mul(x, 3), 'int32'), [B(5)], { grads: false });
      check('sign/round/floor', (x) => tf.stack([tf.sign(x), tf.round(tf.mul(x, 3)), tf.floor(tf.mul(x, 3))]), [B(2, 2)], { grads: false });
      check('isNaN', (x) => tf.isNaN(tf.log(x)), [B(4)], { grads: false });
    });
    it('oneHot and topk (leading axes are independent)', () => {
      check('oneHot', (i) => tf.oneHot(i, 5), [{ shape: [3], batched: true, int: 5 }], { grads: false });
      check('topk', (x) => tf.topk(x, 2).values, [B(2, 5)], { grads: false }); // tfjs has no TopK gradient
      check('topk indices', (x) => tf.topk(x, 3).indices, [B(6)], { grads: false });
    });
  });

  describe('broadcasting binary (defbroadcasting)', () => {
    // [a, b] per-sample shapes and which is batched, covering scalars, [1] vs [k] and rank differences.
    const cases: [ArgSpec, ArgSpec][] = [
      [B(3), U(3)], [B(), U(4)], [B(2, 3), U()], [B(1), U(4)], [B(4), U(2, 1)], [B(2, 1), B(3)],
      [U(2, 3), B(1, 3)], [U(), B(2)], [B(), B()], [B(3, 1, 2), U(4, 1)], [U(1), B(2, 2)],
    ];
    const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['atan2', tf.atan2]];
    for (const [name, f] of binary)
      it(name, () => {
        cases.forEach(([a, b], i) => check(`${name} case ${i}`, f, [a, b]));
      });
    // tfjs's own gradients of these don't reduce over broadcast axes (they fail even without vmap), so
    // gradients are checked on equal per-sample shapes and broadcasting on the forward pass only.
    const sameShape: [ArgSpec, ArgSpec][] = [[B(3), U(3)], [B(2, 3), B(2, 3)], [U(2, 3), B(2, 3)], [B(), U()]];
    for (const [name, f] of [['maximum', tf.maximum], ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference]] as const)
      it(name, () => {
        sameShape.forEach(([a, b], i) => check(`${name} case ${i}`, f, [a, b]));
        cases.forEach(([a, b], i) => check(`${name} forward case ${i}`, f, [a, b], { grads: false }));
      });
    it('pow (positive base)', () => {
      check('pow', tf.pow, [{ ...B(3), offset: 0.5 }, U(3)]);
      check('pow', tf.pow, [{ ...U(2, 1), offset: 0.5 }, B(3)]);
    });
    it('comparisons and logical ops (forward)', () => {
      for (const f of [tf.less, tf.greater, tf.equal, tf.lessEqual, tf.greaterEqual, tf.notEqual]) check('cmp', f, [B(2, 3), U(3)], { grads: false });
      check('logicalAnd', (a, b) => tf.logicalAnd(tf.greater(a, 0), tf.less(b, 0.5)), [B(4), U(2, 1)], { grads: false });
    });
    it('where, addN, prelu', () => {
      const bit = (batched: boolean, ...shape: number[]): ArgSpec => ({ shape, batched, int: 2 });
      check('where', (c, a, b) => tf.where(tf.cast(c, 'bool'), a, b), [bit(true, 3), U(2, 3), B(1)]);
      check('where unbatched cond', (c, a) => tf.where(tf.cast(c, 'bool'), a, tf.neg(a)), [bit(false, 3), B(3)]);
      check('addN', (a, b, c) => tf.addN([a, b, c]), [B(2, 2), U(2, 2), B(2, 2)]);
      check('prelu fixed alpha', (x, a) => tf.prelu(x, a), [B(2, 3), U(3)]);
      check('prelu batched alpha', (x, a) => tf.prelu(x, a), [U(2, 3), B(3)]);
    });
    it('eluGrad (same-shape kernel) through elu gradient of an unbatched input', () => {
      check('elu(a*x)', (a, x) => tf.elu(tf.mul(a, x)), [U(4), B(4)]);
    });
  });

  describe('reductions (defreducer)', () => {
    const reducers: [string, (x: tf.Tensor, axis?: number | number[], keep?: boolean) => tf.Tensor][] = [
      ['sum', tf.sum], ['mean', tf.mean], ['max', tf.max], ['min', tf.min], ['prod', tf.prod], ['logSumExp', tf.logSumExp],
    ];
    for (const [name, f] of reducers)
      it(name, () => {
        check(`${name} all`, (x) => f(x), [B(2, 3, 4)]);
        check(`${name} axis 0`, (x) => f(x, 0), [B(2, 3)]);
        // (tfjs's prod gradient mishandles negative axes, with or without vmap)
        check(`${name} axis -1 keepDims`, (x) => f(x, name === 'prod' ? 1 : -1, true), [B(2, 3)]);
        check(`${name} axes [0,2]`, (x) => f(x, [0, 2]), [B(2, 3, 4)]);
        check(`${name} of scalar`, (x) => f(x), [B()]);
        check(`${name} of unbatched times batched`, (w, x) => f(tf.mul(w, x), 1), [U(2, 3), B(3)]);
      });
    it('argMax, argMin, cumsum, reverse, softmax, logSoftmax, moments', () => {
      check('argMax', (x) => tf.argMax(x, -1), [B(3, 4)], { grads: false });
      check('argMin', (x) => tf.argMin(x, 0), [B(3, 4)], { grads: false });
      check('cumsum', (x) => tf.cumsum(x, 1), [B(2, 4)]);
      check('cumsum exclusive reverse', (x) => tf.cumsum(x, 0, true, true), [B(5)]);
      check('reverse', (x) => tf.reverse(x, [0, -1]), [B(2, 3)]);
      check('softmax 1-D', (x) => tf.softmax(x), [B(5)]);
      check('softmax 2-D', (x) => tf.softmax(x), [B(2, 5)]);
      check('logSoftmax', (x) => tf.logSoftmax(x), [B(6)]);
      check('moments', (x) => tf.moments(x, [0]).variance, [B(4, 2)]);
      check('all/any', (x) => tf.stack([tf.all(tf.greater(x, -0.5)), tf.any(tf.greater(x, 0.5))]), [B(5)], { grads: false });
    });
  });
});
