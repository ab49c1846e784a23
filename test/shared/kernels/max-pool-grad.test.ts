// MaxPoolGrad on wasm, replaced in src/shared/kernels (tfjs-backend-wasm 4.22's drops the gradient of a
// 'same'-padded window whose max is negative, and is slow), against tfjs-backend-cpu's kernel. The
// bits must equal cpu's: both pass each window's gradient to its first maximum and add overlapping
// windows in the same order.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { withBackend } from '../../helpers/env.js';
import { simdKernels } from '../../../src/shared/kernels/simd.js';
import { assertMatchesCpu, assertNoLeak, F, kernel, runOn, type Input } from './helpers.js';

type Pad = 'same' | 'valid' | number;

/** The gradient of tf.maxPool through the engine, so wasm's registered MaxPoolGrad runs. */
const poolGrad = (filterSize: number | [number, number], strides: number | [number, number], pad: Pad, rounding?: 'floor' | 'round' | 'ceil') => (x: tf.Tensor, dy: tf.Tensor) => {
  const y = tf.maxPool(x as tf.Tensor4D, filterSize, strides, pad, rounding);
  return kernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize, strides, pad, dimRoundingMode: rounding });
};

function inputs(xShape: number[], filterSize: number | [number, number], strides: number | [number, number], pad: Pad, rounding?: 'floor' | 'round' | 'ceil'): Input[] {
  const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], filterSize, strides, 1, pad, rounding);
  return [F(3, xShape), F(4, info.outShape)];
}

/** Exact equality with cpu, the kernel's definition. */
async function assertSameBits(label: string, f: ReturnType<typeof poolGrad>, ins: Input[]): Promise<void> {
  const [want] = await runOn('cpu', f, ins);
  const [got] = await runOn('wasm', f, ins);
  assert.deepEqual(got!.shape, want!.shape, label);
  assert.deepEqual(Array.from(got!.values), Array.from(want!.values), label);
}

describe('wasm kernel MaxPoolGrad (vs cpu)', () => {
  withBackend('wasm');

  it('window sizes, strides (overlapping windows too), same/valid/numeric padding, channels: same bits as cpu', async () => {
    const shapes = [[1, 6, 6, 1], [2, 7, 5, 3], [3, 8, 9, 16]];
    const windows: [number | [number, number], number | [number, number]][] = [[2, 2], [3, 1], [3, 2], [[2, 3], [1, 2]], [1, 1]];
    for (const xs of shapes)
      for (const [fs, s] of windows)
        for (const p of ['valid', 'same', 1] as Pad[]) {
          const label = `x [${xs}] filter ${fs} strides ${s} pad ${p}`;
          await assertSameBits(label, poolGrad(fs, s, p), inputs(xs, fs, s, p));
        }
  });

  it("'same' windows whose max is negative, ties (first max wins), -Infinity and NaN windows", async () => {
    // All negative: wasm's own kernel counted the padding as a 0 maximum and dropped these.
    const neg: Input = { shape: [1, 3, 3, 1], values: [-5, -4, -3, -2, -1, -6, -7, -8, -9], dtype: 'float32' };
    const ties: Input = { shape: [1, 4, 4, 1], values: [1, 1, 0, 0, 1, 1, 0, 0, 2, 3, 3, 2, 3, 3, 2, 2], dtype: 'float32' };
    const odd: Input = { shape: [1, 2, 4, 1], values: [-Infinity, -Infinity, NaN, 1, -Infinity, -Infinity, NaN, NaN], dtype: 'float32' };
    for (const [label, x, fs, s, p] of [['negative', neg, 2, 1, 'same'], ['ties', ties, 2, 2, 'valid'], ['ties overlapping', ties, 3, 1, 'same'], ['-Inf/NaN', odd, 2, 2, 'valid']] as const) {
      const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], fs, s, 1, p);
      await assertSameBits(label, poolGrad(fs, s, p), [x, F(5, info.outShape)]);
    }
  });

  it('the SIMD route (whole 2x2 windows, channels a multiple of 4): ties, NaN, -Infinity, -0 and odd sizes, same bits as cpu', async () => {
    await runOn('wasm', () => tf.zeros([1]), []);
    assert.ok(simdKernels(tf.backend()), 'WebAssembly SIMD kernels are available on this engine (else the route is not tested)');
    const special = [0, 1, 1, NaN, -Infinity, -Infinity, 2, NaN, -0, 0];
    const x = (shape: number[]): Input => ({ shape, values: Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => (i % 3 === 0 ? special[i % 10]! : Math.round(Math.sin(i) * 4) / 2)), dtype: 'float32' });
    for (const shape of [[2, 4, 6, 8], [1, 5, 7, 4], [3, 6, 4, 12]])
      for (const pad of ['valid', 'same'] as Pad[]) {
        const info = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], 2, 2, 1, pad);
        const dy: Input = { shape: info.outShape, values: Array.from({ length: tf.util.sizeFromShape(info.outShape) }, (_, i) => (i % 5 === 0 ? -0 : i / 7 - 3)), dtype: 'float32' };
        await assertSameBits(`[${shape}] ${pad}`, poolGrad(2, 2, pad), [x(shape), dy]);
      }
  });

  it("'ceil' rounding, and dy of the wrong shape is refused naming dy", async () => {
    await assertMatchesCpu('ceil', poolGrad(2, 2, 1, 'ceil'), inputs([1, 6, 6, 2], 2, 2, 1, 'ceil'));
    await runOn('wasm', () => tf.zeros([1]), []);
    assert.throws(() => tf.tidy(() => kernel('MaxPoolGrad', { dy: tf.zeros([1, 2, 2, 1]), input: tf.zeros([1, 6, 6, 1]), output: tf.zeros([1, 3, 3, 1]) }, { filterSize: 2, strides: 2, pad: 'valid' })), /MaxPoolGrad: dy of shape \[1,2,2,1\]/);
  });

  it('leaks nothing', async () => {
    await assertNoLeak(poolGrad(2, 2, 'same'), inputs([2, 5, 5, 3], 2, 2, 'same'));
  });
});
