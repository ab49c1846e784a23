import * as tf from '@tensorflow/tfjs';
import { B, check, U, useBackend, type ArgSpec } from './helpers.js';

const I = (batched: boolean, max: number, ...shape: number[]): ArgSpec => ({ shape, batched, int: max });

describe('vectorized rules: shapes', () => {
  before(() => useBackend('cpu'));

  it('reshape (incl. -1), squeeze, expandDims, flatten', () => {
    check('reshape', (x) => tf.reshape(x, [3, 2]), [B(2, 3)]);
    check('reshape -1', (x) => tf.reshape(x, [-1]), [B(2, 3, 2)]);
    check('reshape to scalar', (x) => tf.reshape(x, []), [B(1)]);
    check('squeeze', (x) => tf.squeeze(x), [B(1, 3, 1)]);
    check('expandDims', (x) => tf.expandDims(x, 1), [B(2, 3)]);
    check('expandDims -1', (x) => tf.expandDims(x, -1), [B(2)]);
    check('reshape of param times input', (w, x) => tf.reshape(tf.mul(w, x), [6]), [U(2, 3), B(3)]);
  });

  it('transpose', () => {
    check('transpose 2-D', (x) => tf.transpose(x), [B(2, 3)]);
    check('transpose perm', (x) => tf.transpose(x, [2, 0, 1]), [B(2, 3, 4)]);
    check('transpose of unbatched * batched', (w, x) => tf.transpose(tf.add(w, x), [1, 0]), [U(3, 2), B(2)]);
  });

  it('concat and stack mix batched and unbatched parts', () => {
    check('concat axis 0', (a, b) => tf.concat([a, b], 0), [B(2, 3), U(1, 3)]);
    check('concat axis -1', (a, b, c) => tf.concat([a, b, c], -1), [U(2, 1), B(2, 2), B(2, 3)]);
    check('stack', (a, b) => tf.stack([a, b], 1), [B(3), U(3)]);
    check('stack scalars', (a, b) => tf.stack([a, b]), [B(), U()]);
  });

  it('unstack and split (multi-output kernels)', () => {
    check('unstack', (x) => tf.addN(tf.unstack(x, 1).map((t, i) => tf.mul(t, i + 1))), [B(2, 3)]);
    check('split even', (x) => tf.mul(tf.split(x, 2, 1)[1]!, 3), [B(2, 4)]);
    check('split sizes', (x) => tf.concat(tf.split(x, [1, 3], 0).reverse(), 0), [B(4, 2)]);
  });

  // tfjs has no StridedSlice gradient, so those are forward-only.
  it('slice and stridedSlice', () => {
    check('slice', (x) => tf.slice(x, [1, 0], [1, -1]), [B(3, 4)]);
    check('slice number begin', (x) => tf.slice(x, 1, 2), [B(4)]);
    check('stridedSlice', (x) => tf.stridedSlice(x, [0, 1], [3, 4], [2, 2]), [B(3, 4)], { grads: false });
    check('stridedSlice masks', (x) => tf.stridedSlice(x, [1, 0], [0, 2], [1, 1], 2, 1, 0, 0, 0), [B(3, 4)], { grads: false });
    check('stridedSlice shrink', (x) => tf.stridedSlice(x, [1, 0], [2, 4], [1, 1], 0, 0, 0, 0, 1), [B(3, 4)], { grads: false });
  });

  it('tile, pad, mirrorPad, reverse', () => {
    check('tile', (x) => tf.tile(x, [2, 3]), [B(2, 1)]);
    check('pad', (x) => tf.pad(x, [[1, 0], [0, 2]], 0.5), [B(2, 2)]);
    check('mirrorPad', (x) => tf.mirrorPad(x, [[1, 1], [0, 1]], 'reflect'), [B(3, 3)]);
  });

  it('gather: batched params, batched indices, both, batchDims', () => {
    check('gather x batched', (x, i) => tf.gather(x, i, 1), [B(3, 4), I(false, 4, 5)]);
    check('gather indices batched (embedding)', (x, i) => tf.gather(x, i), [U(5, 3), I(true, 5, 4)]);
    check('gather indices batched axis 1', (x, i) => tf.gather(x, i, 1), [U(2, 5, 3), I(true, 5, 2, 2)]);
    check('gather both batched', (x, i) => tf.gather(x, i, 0), [B(5, 2), I(true, 5, 3)]);
    check('gather batchDims 1', (x, i) => tf.gather(x, i, 1, 1), [U(2, 4), I(true, 4, 2, 3)], { grads: false });
  });
});
