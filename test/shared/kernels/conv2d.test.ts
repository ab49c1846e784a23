// Conv2D on wasm, wrapped in src/shared/kernels/conv2d.ts (a one-channel input, as a direct SIMD
// convolution): the same bits as wasm's own kernel on the same sums and as the in-order float32 sums
// written out in JavaScript, NaN, ±Infinity, -0 and wide exponents included (a NaN's sign and payload
// aside), over strides, dilations, paddings and channel counts; cpu's values; which calls it takes; no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { conv2dTakes, directConvModules, MAX_CHANNELS, MAX_MODULES, MAX_TAPS } from '../../../src/shared/kernels/conv2d.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, bits, convOutShape, F, inOrderProduct, runOn, wide } from './helpers.js';

type Pad = 'valid' | 'same' | tf.backend_util.ExplicitPadding;
type Case = { x: [number, number, number, number]; filter: [number, number, number, number]; strides: number | [number, number]; dilations: number | [number, number]; pad?: Pad };
const CASES: Case[] = [
  { x: [32, 28, 28, 1], filter: [3, 3, 1, 16], strides: 1, dilations: 1 }, // the benchmark's conv net: two blocks of 8
  { x: [2, 9, 10, 1], filter: [3, 3, 1, 4], strides: 2, dilations: 1 }, // one block of 4, stride 2
  { x: [3, 11, 9, 1], filter: [2, 3, 1, 12], strides: [1, 2], dilations: 1 }, // blocks of 8 and 4, mixed strides
  { x: [2, 11, 12, 1], filter: [3, 2, 1, 8], strides: 1, dilations: [2, 3] }, // mixed dilations
  { x: [1, 12, 12, 1], filter: [5, 5, 1, 20], strides: 1, dilations: 1 }, // the most taps
  { x: [2, 5, 5, 1], filter: [1, 1, 1, 64], strides: 1, dilations: 1 }, // the most channels
  { x: [1, 3, 3, 1], filter: [3, 3, 1, 8], strides: 1, dilations: 1 }, // one output pixel
  { x: [4, 28, 28, 1], filter: [3, 3, 1, 16], strides: 1, dilations: 1, pad: 'same' }, // padded: a zero-filled copy
  { x: [2, 9, 8, 1], filter: [2, 2, 1, 8], strides: 2, dilations: 1, pad: 'same' }, // uneven padding
  { x: [2, 7, 7, 1], filter: [5, 5, 1, 4], strides: 1, dilations: 1, pad: [[0, 0], [2, 1], [0, 3], [0, 0]] }, // explicit
];
const padOf = (c: Case): Pad => c.pad ?? 'valid';

/** The convolution as a product: each output pixel's taps in row-major order by the [taps, C] filter, summed in order from +0. */
function inOrderConv(c: Case, x: ArrayLike<number>, w: ArrayLike<number>): Float32Array {
  const [n, H, W] = c.x;
  const [KH, KW, , C] = c.filter;
  const [sh, sw] = typeof c.strides === 'number' ? [c.strides, c.strides] : c.strides;
  const [dh, dw] = typeof c.dilations === 'number' ? [c.dilations, c.dilations] : c.dilations;
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations, padOf(c));
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  // The padding as zeros that are multiplied and added too (0·∞ is NaN), as XNNPACK does.
  const at = (b: number, r: number, col: number) => (r >= 0 && r < H && col >= 0 && col < W ? x[(b * H + r) * W + col]! : 0);
  const patches: number[] = [];
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) patches.push(at(b, oy * sh + ky * dh - top, ox * sw + kx * dw - left));
  return inOrderProduct(patches, w, n * OH * OW, KH * KW, C);
}

/** The same sums by wasm's own kernel: a second input channel of zeros adds +0 after each tap, and the wrapper passes two channels on. */
function withZeroChannel(x: tf.Tensor, w: tf.Tensor, attrs: Case): tf.Tensor {
  const x2 = tf.concat([x, tf.zerosLike(x)], 3) as tf.Tensor4D;
  const w2 = tf.concat([w, tf.onesLike(w)], 2) as tf.Tensor4D;
  return tf.conv2d(x2, w2, attrs.strides, padOf(attrs), 'NHWC', attrs.dilations);
}

const conv = (c: Case) => (x?: tf.Tensor, w?: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, padOf(c), 'NHWC', c.dilations);

describe('wasm kernel Conv2D (wrapped: a direct convolution of one input channel)', () => {
  withBackend('wasm');

  it("same bits as wasm's own kernel on the same sums and as the in-order float32 sums", async () => {
    for (const c of CASES) {
      for (const specials of [false, true]) {
        // With specials the filter holds ±∞ too: a padded tap then adds 0·∞, a NaN.
        const ins = [wide(tf.util.sizeFromShape(c.x) + 1, c.x, specials), wide(7, c.filter, specials)];
        const label = `[${c.x}] * [${c.filter}] strides ${c.strides} dilations ${c.dilations} pad ${JSON.stringify(padOf(c))}${specials ? ' with specials' : ''}`;
        const [got] = await runOn('wasm', conv(c), ins);
        const [own] = await runOn('wasm', (x, w) => withZeroChannel(x!, w!, c), ins);
        assert.deepEqual(got!.shape, convOutShape(c.x, c.filter, c.strides, c.dilations, padOf(c), false), label);
        assert.deepEqual(bits(got!.values), bits(own!.values), `${label}: against wasm's kernel`);
        assert.deepEqual(bits(got!.values), bits(inOrderConv(c, ins[0]!.values, ins[1]!.values)), `${label}: against the in-order sums`);
      }
      const ins = [F(1, c.x), F(2, c.filter)];
      const [got] = await runOn('wasm', conv(c), ins);
      const [cpu] = await runOn('cpu', conv(c), ins);
      got!.values.forEach((v, i) => assert.ok(Math.abs(v - cpu!.values[i]!) <= 1e-5 * (1 + Math.abs(cpu!.values[i]!)), `[${c.x}] * [${c.filter}] vs cpu at ${i}: ${v} vs ${cpu!.values[i]}`));
    }
  });

  it("takes one float32 NHWC input channel, a multiple of 4 output channels up to the limits; leaves the rest to wasm's kernel", async () => {
    const info = (shape: number[], dtype: tf.DataType = 'float32') => ({ dataId: {}, shape, dtype });
    const takes = (x: number[], f: number[], attrs: Partial<{ strides: number; pad: unknown; dilations: number; dataFormat: string }> = {}, dtype: tf.DataType = 'float32') =>
      conv2dTakes(info(x, dtype), info(f), { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, ...attrs } as tf.NamedAttrMap);
    for (const c of CASES) assert.ok(conv2dTakes(info(c.x), info(c.filter), { strides: c.strides, pad: padOf(c), dataFormat: 'NHWC', dilations: c.dilations }), `[${c.x}] * [${c.filter}]`);
    assert.ok(takes([2, 8, 8, 1], [3, 3, 1, 8], { pad: [[0, 0], [0, 0], [0, 0], [0, 0]] }), 'explicit zero padding');
    assert.ok(takes([2, 8, 8, 1], [1, 1, 1, 8], { pad: 'same' }), "'same' that pads nothing");
    assert.ok(!takes([2, 8, 8, 2], [3, 3, 2, 8]), 'two input channels');
    assert.ok(!takes([2, 8, 8, 1], [3, 3, 1, 6]), 'channels not a multiple of 4');
    assert.ok(!takes([2, 8, 8, 1], [1, 1, 1, MAX_CHANNELS + 4]), 'too many channels');
    assert.ok(!takes([2, 12, 12, 1], [Math.floor(Math.sqrt(MAX_TAPS)) + 1, Math.floor(Math.sqrt(MAX_TAPS)) + 1, 1, 8]), 'too many taps');
    assert.ok(!takes([2, 8, 8, 1], [3, 3, 1, 8], {}, 'int32'), 'int32');
    assert.ok(!takes([2, 1, 8, 8], [3, 3, 1, 8], { dataFormat: 'NCHW' }), 'NCHW');
    // What wasm's kernel runs instead still gives cpu's values.
    const two = (x?: tf.Tensor, w?: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    const [got] = await runOn('wasm', two, [F(3, [2, 8, 8, 2]), F(4, [3, 3, 2, 8])]);
    const [cpu] = await runOn('cpu', two, [F(3, [2, 8, 8, 2]), F(4, [3, 3, 2, 8])]);
    got!.values.forEach((v, i) => assert.ok(Math.abs(v - cpu!.values[i]!) <= 1e-5 * (1 + Math.abs(cpu!.values[i]!)), `two channels vs cpu at ${i}`));
  });

  it('leaks nothing over 1,000 calls; keeps at most MAX_MODULES compiled geometries', async () => {
    await assertNoLeak(conv(CASES[1]!), [F(1, CASES[1]!.x), F(2, CASES[1]!.filter)], 1000);
    // Images of MAX_MODULES + 10 sizes: one geometry each, the oldest dropped, every result still right.
    for (let side = 3; side < MAX_MODULES + 13; side++) {
      const c: Case = { x: [1, side, 3, 1], filter: [3, 3, 1, 4], strides: 1, dilations: 1 };
      const ins = [F(side, c.x), F(2, c.filter)];
      const [got] = await runOn('wasm', conv(c), ins);
      assert.deepEqual(bits(got!.values), bits(inOrderConv(c, ins[0]!.values, ins[1]!.values)), `[${c.x}]`);
    }
    assert.equal(directConvModules(), MAX_MODULES);
  });
});
