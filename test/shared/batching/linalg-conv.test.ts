import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { resetWarnings, setFilterGradRoute } from '../../../src/shared/batching/index.js';
import { B, captureWarnings, check, U, useBackend } from './helpers.js';

describe('vectorized rules: matmul, conv, pooling', () => {
  before(() => useBackend('cpu'));

  it('matMul: batched x fixed (folded into rows), with transposes', () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const)
      check(`matMul b*u ${tA} ${tB}`, (a, b) => tf.matMul(a, b, tA, tB), [B(...(tA ? [3, 2] : [2, 3])), U(...(tB ? [4, 3] : [3, 4]))]);
    // tfjs's matMul gradient doesn't reduce broadcast outer dims (fails without vmap too): forward only.
    check('matMul rank-3 batched x rank-2 fixed', (a, b) => tf.matMul(a, b), [B(2, 2, 3), U(3, 4)], { grads: false });
  });

  it('matMul: fixed x batched, both batched, outer-dim broadcasting', () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const)
      check(`matMul u*b ${tA} ${tB}`, (a, b) => tf.matMul(a, b, tA, tB), [U(...(tA ? [3, 2] : [2, 3])), B(...(tB ? [4, 3] : [3, 4]))]);
    check('matMul b*b', (a, b) => tf.matMul(a, b, false, true), [B(2, 3), B(4, 3)]);
    check('matMul b*b outer dims', (a, b) => tf.matMul(a, b), [B(2, 2, 3), B(1, 3, 4)], { grads: false });
    check('matMul b*b same outer dims', (a, b) => tf.matMul(a, b), [B(2, 2, 3), B(2, 3, 4)]);
    check('matMul fixed rank-3 x batched', (a, b) => tf.matMul(a, b), [U(2, 2, 3), B(3, 1)], { grads: false });
    check('matMul batched rank-3 x fixed rank-3', (a, b) => tf.matMul(a, b), [B(2, 2, 3), U(2, 3, 4)]);
    check('dot / outerProduct', (a, b) => tf.add(tf.dot(a as tf.Tensor1D, b as tf.Tensor1D), tf.sum(tf.outerProduct(a as tf.Tensor1D, b as tf.Tensor1D))), [B(3), U(3)]);
  });

  it('fused.matMul with bias and activation', () => {
    check('fused relu', (a, b, c) => tf.fused.matMul({ a, b, bias: c, activation: 'relu' }), [B(2, 3), U(3, 4), U(4)]);
    check('fused batched bias', (a, b, c) => tf.fused.matMul({ a, b, bias: c, activation: 'sigmoid' }), [U(2, 3), U(3, 4), B(4)]);
  });

  it('conv2d (x batched): forward, input and per-sample filter gradients', () => {
    check('conv2d valid', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'valid'), [B(6, 6, 2), U(3, 3, 2, 3)]);
    check('conv2d same stride 2', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 2, 'same'), [B(7, 6, 1), U(3, 3, 1, 2)]);
    check('conv2d 4-D input, explicit pad', (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [1, 2], [[0, 0], [1, 2], [2, 0], [0, 0]]), [B(2, 5, 5, 2), U(2, 3, 2, 2)]);
    check('conv2d dilated (forward)', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2), [B(6, 6, 1), U(2, 2, 1, 2)], { grads: false });
    check('conv2d ceil rounding', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 2, 1, 'NHWC', 1, 'ceil'), [B(6, 6, 1), U(3, 3, 1, 2)]);
    check('conv2d with a bias param', (x, w, b) => tf.relu(tf.add(tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'same'), b)), [B(5, 5, 1), U(3, 3, 1, 4), U(4)]);
  });

  it('conv2d per-sample filter gradients via im2col (the route wasm takes)', () => {
    setFilterGradRoute('im2col');
    try {
      check('im2col valid', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'valid'), [B(6, 6, 2), U(3, 3, 2, 3)]);
      check('im2col same stride 2', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 2, 'same'), [B(7, 6, 1), U(3, 3, 1, 2)]);
      check('im2col explicit pad', (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [1, 2], [[0, 0], [1, 2], [2, 0], [0, 0]]), [B(2, 5, 5, 2), U(2, 3, 2, 2)]);
      check('im2col ceil rounding', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 2, 1, 'NHWC', 1, 'ceil'), [B(6, 6, 1), U(3, 3, 1, 2)]);
    } finally {
      setFilterGradRoute('auto');
    }
  });

  it('conv2d with a batched filter falls back per sample, warning once per case', () => {
    const warnings = captureWarnings();
    check('conv2d batched filter', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'valid'), [U(5, 5, 1), B(2, 2, 1, 2)]);
    check('conv2d batched filter again', (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'same'), [U(4, 4, 1), B(2, 2, 1, 2)]);
    assert.deepEqual(warnings, [
      "gradpool: no batching rule for kernel 'Conv2D' with a batched 'filter'; running it per sample (performance drop)",
      "gradpool: no batching rule for kernel 'Conv2DBackpropInput' with a batched 'filter'; running it per sample (performance drop)",
    ]);
    resetWarnings();
  });

  it('maxPool, avgPool and their gradients', () => {
    check('maxPool', (x) => tf.maxPool(x as tf.Tensor3D, 2, 2, 'valid'), [B(6, 6, 2)]);
    check('maxPool same', (x) => tf.maxPool(x as tf.Tensor3D, 3, 2, 'same'), [B(5, 5, 1)]);
    check('avgPool', (x) => tf.avgPool(x as tf.Tensor3D, 2, 2, 'valid'), [B(6, 6, 2)]);
    check('avgPool same stride 1', (x) => tf.avgPool(x as tf.Tensor3D, 3, 1, 'same'), [B(4, 4, 1)]);
    check('pool after conv', (x, w) => tf.maxPool(tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'same'), 2, 2, 'valid'), [B(4, 4, 1), U(3, 3, 1, 2)]);
  });

  it('depthwiseConv2d (incl. per-sample filter gradients), batchNorm, resizeBilinear', () => {
    check('depthwise', (x, w) => tf.depthwiseConv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'same'), [B(5, 5, 2), U(3, 3, 2, 2)]);
    check('depthwise valid stride 2', (x, w) => tf.depthwiseConv2d(x as tf.Tensor3D, w as tf.Tensor4D, 2, 'valid'), [B(7, 7, 3), U(3, 3, 3, 1)]);
    check('batchNorm', (x, m, v, o, s) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.5), o, s), [B(2, 3), U(3), U(3), U(3), U(3)]);
    // Per-sample statistics, as tf.layers.layerNormalization computes them: by the rule, not per sample.
    const warnings = captureWarnings();
    // (tfjs's batchNorm gradient fails without scale and offset, and wants them of the statistics' rank, in plain tfjs too.)
    check('batchNorm batched mean', (x, m) => tf.batchNorm(x, m, tf.onesLike(m)), [U(2, 3), B(3)], { grads: false });
    // As tf.layers.layerNormalization does it: statistics and scale/offset tiled to x's shape (the
    // kernel indexes them modulo their length, so only a full-shape tiling broadcasts as meant).
    const layerNorm = (x: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      const [rows, cols] = x.shape as [number, number];
      const t = (v: tf.Tensor, reps: number[]) => tf.tile(v, reps);
      return tf.batchNorm(x, t(mean, [1, cols]), t(variance, [1, cols]), t(o, [rows, 1]), t(s, [rows, 1]), 1e-3);
    };
    check('batchNorm, per-sample statistics (layer norm)', layerNorm, [B(3, 4), U(1, 4), U(1, 4)]);
    check('batchNorm, per-sample statistics, batched scale', layerNorm, [B(2, 4), U(1, 4), B(1, 4)]);
    check('batchNorm, batched mean and variance of length 1', (x, m, v, o, s) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.5), o, s), [B(2, 3), B(1), B(1), B(1), U(1)]);
    assert.deepEqual(warnings, []);
    resetWarnings();
    check('resizeBilinear', (x) => tf.image.resizeBilinear(x as tf.Tensor3D, [6, 6]), [B(3, 3, 2)]);
  });
});
