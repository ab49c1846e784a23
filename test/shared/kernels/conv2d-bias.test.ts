// gradpool's fused first conv layer on wasm, GradpoolConv2DBias(x, filter, bias) with or without relu
// (src/shared/kernels/conv2d-bias.ts, what a traced conv net's forward replays): the same bits as wasm's
// Conv2D, Add and Relu run one after the other, NaN, ±Infinity, -0 and wide exponents included (relu of
// a NaN with its sign bit set is +0 there, and here); wasm's FusedConv2D wrapped the same way, against
// wasm's own kernel and the sums from the bias; the cases it takes and refuses; no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { CONV2D_BIAS, conv2dBiasFits } from '../../../src/shared/kernels/conv2d-bias.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, bits, F, kernel, runOn, wide } from './helpers.js';

const ATTRS = { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] };
const SHAPES: [number[], number[], number[], 'valid' | 'same'][] = [
  [[32, 28, 28, 1], [3, 3, 1, 16], [16], 'valid'], // the benchmark's conv net
  [[3, 7, 9, 1], [2, 3, 1, 12], [1, 12], 'valid'], // a bias with a leading one
  [[2, 5, 5, 1], [3, 3, 1, 4], [4], 'same'],
];

describe('wasm kernel GradpoolConv2DBias (one-channel Conv2D, bias and relu, fused)', () => {
  withBackend('wasm');

  it("same bits as wasm's Conv2D, Add and Relu one after the other", async () => {
    for (const [xs, fs, bs, pad] of SHAPES)
      for (const specials of ['none', 'inputs', 'made'] as const) {
        const ins = [wide(3, xs, specials === 'inputs'), wide(5, fs, false), wide(7, bs, specials === 'inputs')];
        // ∞·0 makes a NaN with its sign bit set (x86's default NaN), which wasm's Relu turns into +0.
        if (specials === 'made') {
          ins[0] = { ...ins[0]!, values: Array.from(ins[0]!.values, (v, i) => (i % 7 === 0 ? Infinity : v)) };
          ins[1] = { ...ins[1]!, values: Array.from(ins[1]!.values, (v, i) => (i % 3 === 0 ? 0 : v)) };
        }
        const label = `[${xs}] * [${fs}] (${pad}) + [${bs}], specials: ${specials}`;
        const [z, r] = await runOn('wasm', (x, f, b) => kernel(CONV2D_BIAS, { x: x!, filter: f!, bias: b! }, { ...ATTRS, pad, relu: true }) as unknown as tf.Tensor[], ins);
        const [zOnly] = await runOn('wasm', (x, f, b) => kernel(CONV2D_BIAS, { x: x!, filter: f!, bias: b! }, { ...ATTRS, pad, relu: false }), ins);
        const [wantZ, wantR] = await runOn('wasm', (x, f, b) => {
          const s = tf.add(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, pad), b!);
          return [s, tf.relu(s)];
        }, ins);
        assert.deepEqual(bits(z!.values), bits(wantZ!.values), `${label}: the sum`);
        assert.deepEqual(bits(zOnly!.values), bits(wantZ!.values), `${label}: the sum, without relu`);
        assert.deepEqual(bits(r!.values), bits(wantR!.values), `${label}: relu`);
        assert.deepEqual(z!.shape, wantZ!.shape, label);
      }
  });

  it('takes what the direct Conv2D takes with a float32 bias over its channels; refuses the rest naming the inputs', async () => {
    const m = (shape: number[], dtype: tf.DataType = 'float32') => ({ shape, dtype });
    assert.ok(conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([8]), ATTRS));
    assert.ok(conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([1, 1, 1, 8]), ATTRS));
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([4]), ATTRS), 'a bias of other channels');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([2, 8]), ATTRS), 'not a bias');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([8], 'int32'), ATTRS), 'an int32 bias');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 2]), m([3, 3, 2, 8]), m([8]), ATTRS), 'two input channels');
    assert.ok(conv2dBiasFits(m([2, 8, 8, 1]), m([3, 3, 1, 8]), m([8]), { ...ATTRS, pad: 'same' }), 'padding');
    assert.ok(!conv2dBiasFits(m([2, 8, 8, 1]), m([9, 9, 1, 8]), m([8]), ATTRS), 'too many taps');
    await runOn('wasm', () => tf.scalar(0), []);
    assert.throws(() => kernel(CONV2D_BIAS, { x: tf.zeros([1, 5, 5, 2]), filter: tf.zeros([3, 3, 2, 4]), bias: tf.zeros([4]) }, ATTRS), /GradpoolConv2DBias: expected a Conv2D .* got x float32\[1,5,5,2\], filter float32\[3,3,2,4\], bias float32\[4\]/);
  });

  it("tf.fused.conv2d (wasm's FusedConv2D, wrapped): the same bits as wasm's own kernel on the same sums and as the sums from the bias in order, linear and relu", async () => {
    const f32 = Math.fround;
    for (const activation of ['linear', 'relu'] as const)
      for (const [xs, fs, bs, pad] of SHAPES.map(([x, f, b, p]): [number[], number[], number[], typeof p] => [x, f, [b[b.length - 1]!], p])) // FusedConv2D takes a rank-1 bias only
        for (const specials of ['none', 'inputs', 'zeros'] as const) {
          const ins = [wide(3, xs, specials === 'inputs'), wide(5, fs, false), wide(7, bs, specials === 'inputs')];
          // -0 in x and the bias and a positive filter for even channels: their sums stay -0, which
          // FusedConv2D's relu (a float max with +0) makes +0, where a < 0 ? 0 : a would keep them.
          if (specials === 'zeros') {
            const C = fs[3]!;
            ins[0] = { ...ins[0]!, values: Array.from(ins[0]!.values, () => -0) };
            ins[1] = { ...ins[1]!, values: Array.from(ins[1]!.values, (v, i) => (i % C) % 2 ? v : Math.abs(v)) };
            ins[2] = { ...ins[2]!, values: Array.from(ins[2]!.values, () => -0) };
          }
          const label = `fused ${activation} [${xs}] * [${fs}] (${pad}) + [${bs}], specials: ${specials}`;
          const fusedConv = (x?: tf.Tensor, f?: tf.Tensor, b?: tf.Tensor) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad, bias: b!, activation });
          const [got] = await runOn('wasm', fusedConv, ins);
          // wasm's own kernel on the same sums: a second channel of zeros by -1 adds -0 after each tap, which changes no sum.
          const [own] = await runOn('wasm', (x, f, b) => fusedConv(tf.concat([x!, tf.zerosLike(x!)], 3), tf.concat([f!, tf.onesLike(f!).neg()], 2), b), ins);
          assert.deepEqual(bits(got!.values), bits(own!.values), `${label}: against wasm's kernel`);
          // The sums from the bias, taps in row-major order, the padding's zeros included.
          const [n, H, W] = xs as [number, number, number, number];
          const [KH, KW, , C] = fs as [number, number, number, number];
          const info = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], fs as [number, number, number, number], 1, 1, pad);
          const [xv, wv, bv] = ins.map((i) => Float32Array.from(i.values));
          const want = new Float32Array(got!.values.length);
          for (let b = 0, o = 0; b < n; b++)
            for (let oy = 0; oy < info.outHeight; oy++)
              for (let ox = 0; ox < info.outWidth; ox++)
                for (let c = 0; c < C; c++, o++) {
                  let a = bv![c]!;
                  for (let ky = 0; ky < KH; ky++)
                    for (let kx = 0; kx < KW; kx++) {
                      const [r, col] = [oy + ky - info.padInfo.top, ox + kx - info.padInfo.left];
                      a = f32(a + f32((r >= 0 && r < H && col >= 0 && col < W ? xv![(b * H + r) * W + col]! : 0) * wv![(ky * KW + kx) * C + c]!));
                    }
                  want[o] = activation === 'relu' ? Math.max(a, 0) : a;
                }
          assert.deepEqual(bits(got!.values), bits(want), `${label}: against the sums from the bias`);
        }
    // No bias: linear runs the direct convolution from +0 (XNNPACK's zero bias), relu wasm's kernel; both wasm's bits.
    for (const activation of ['linear', 'relu'] as const) {
      const ins = [wide(3, [2, 7, 7, 1], true), wide(5, [3, 3, 1, 8], false)];
      const nb = (x?: tf.Tensor, f?: tf.Tensor) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', activation });
      const [got] = await runOn('wasm', nb, ins);
      const [own] = await runOn('wasm', (x, f) => nb(tf.concat([x!, tf.zerosLike(x!)], 3), tf.concat([f!, tf.onesLike(f!).neg()], 2)), ins);
      assert.deepEqual(bits(got!.values), bits(own!.values), `fused ${activation} without a bias`);
    }
    // A rank-2 bias is still wasm's kernel's error.
    assert.throws(() => tf.fused.conv2d({ x: tf.zeros([1, 5, 5, 1]) as tf.Tensor4D, filter: tf.zeros([3, 3, 1, 4]) as tf.Tensor4D, strides: 1, pad: 'valid', bias: tf.zeros([1, 4]) }), /FusedConv2D only supports rank-1 bias but got rank 2/);
    // Not taken (two input channels; a sigmoid): wasm's kernel, cpu's values.
    for (const [xs, fs, activation] of [[[2, 6, 6, 2], [3, 3, 2, 4], 'relu'], [[2, 6, 6, 1], [3, 3, 1, 4], 'sigmoid']] as const) {
      const fc = (x?: tf.Tensor, f?: tf.Tensor, b?: tf.Tensor) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'valid', bias: b!, activation });
      const ins = [F(1, [...xs]), F(2, [...fs]), F(3, [4])];
      const [got] = await runOn('wasm', fc, ins);
      const [cpu] = await runOn('cpu', fc, ins);
      got!.values.forEach((v, i) => assert.ok(Math.abs(v - cpu!.values[i]!) <= 1e-5 * (1 + Math.abs(cpu!.values[i]!)), `${activation} [${xs}] vs cpu at ${i}`));
    }
  });

  it('leaks nothing over 1,000 calls, with and without relu', async () => {
    for (const relu of [true, false])
      await assertNoLeak((x, f, b) => kernel(CONV2D_BIAS, { x: x!, filter: f!, bias: b! }, { ...ATTRS, relu }) as unknown as tf.Tensor, [F(1, [2, 6, 6, 1]), F(2, [3, 3, 1, 8]), F(3, [8])], 1000);
  });
});
