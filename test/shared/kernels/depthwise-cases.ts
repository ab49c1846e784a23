/** The geometry both depthwise backprop tests cover (the kernels share it with the forward). */
import * as tf from '@tensorflow/tfjs';
import { withBackend } from '../../helpers/env.js';
import { assertMatchesCpu, assertNoLeak, type Fn, type Input } from './helpers.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Pair = number | [number, number];
/** x shape [N, H, W, C], filter shape [KH, KW, C, M], strides, dilations, pad, rounding mode. */
export type DepthwiseCase = [number[], number[], Pair, Pair, Pad, ('floor' | 'round' | 'ceil')?];

/** Channels C and multipliers M of 1 and more, square and not, a 1x1 filter, one sample and several. */
export const DEPTHWISE_SHAPES: [number[], number[]][] = [
  [[1, 6, 6, 1], [3, 3, 1, 1]],
  [[2, 7, 5, 3], [3, 3, 3, 2]],
  [[3, 8, 9, 2], [2, 3, 2, 3]],
  [[2, 5, 6, 4], [1, 1, 4, 1]],
  [[1, 9, 9, 3], [5, 4, 3, 2]],
];

const PADS: Pad[] = ['valid', 'same', [[0, 0], [2, 1], [0, 3], [0, 0]], 1, [[0, 0], [4, 0], [1, 5], [0, 0]]];
/** [strides, dilations]; tfjs's depthwise ops take one of them 1, but the backprop kernels take both. */
const STEPS: [Pair, Pair][] = [[1, 1], [2, 1], [[1, 2], 1], [3, 1], [1, 2], [1, [2, 3]], [2, 2]];

export const DEPTHWISE_CASES: DepthwiseCase[] = DEPTHWISE_SHAPES.flatMap(([x, f]) =>
  STEPS.flatMap(([s, d]) => PADS.map((p): DepthwiseCase => [x, f, s, d, p])),
).filter(([x, f, , d, p]) => p !== 'valid' || validFits(x, f, d));

/** A 'valid' convolution needs the dilated filter to fit the input. */
function validFits(x: number[], f: number[], d: Pair): boolean {
  const [dh, dw] = typeof d === 'number' ? [d, d] : d;
  return (f[0]! - 1) * dh + 1 <= x[1]! && (f[1]! - 1) * dw + 1 <= x[2]!;
}

/** [dh, dw] of a strides or dilations attribute. */
export const pair = (d: Pair): [number, number] => (typeof d === 'number' ? [d, d] : d);

/**
 * The filter as tfjs-backend-cpu's depthwise backprops need it for a dilated case: they ignore the
 * dilations attribute (tfjs's depthwise gradient refuses dilations, so nothing reaches them), but a
 * dilated filter is the same as an undilated one with zeros between its taps.
 */
export function spreadFilter(w: tf.Tensor, [dh, dw]: [number, number]): tf.Tensor {
  const [KH, KW, C, M] = w.shape as [number, number, number, number];
  const padded = tf.pad(tf.reshape(w, [KH, 1, KW, 1, C, M]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(padded, [KH * dh, KW * dw, C, M]), 0, [(KH - 1) * dh + 1, (KW - 1) * dw + 1, C, M]);
}

/** A depthwise backprop kernel's test case: the kernel call, the cpu oracle where it differs, the inputs. */
export type DepthwiseTest = (c: DepthwiseCase, extraRow?: number) => { f: Fn; oracle?: Fn; inputs: Input[] };

/** The tests both depthwise backprop kernels get, on wasm against cpu: every case, rounding modes, leaks. */
export function describeDepthwiseBackprop(kernelName: string, label: string, build: DepthwiseTest, leakCase: DepthwiseCase): void {
  describe(`wasm kernel ${kernelName} (vs cpu)`, () => {
    withBackend('wasm');

    it('every shape and channel multiplier, stride, dilation and padding (same, valid, explicit, numeric)', async () => {
      for (const c of DEPTHWISE_CASES) {
        const { f, oracle, inputs } = build(c);
        await assertMatchesCpu(`${label} ${JSON.stringify(c)}`, f, inputs, oracle ? { oracle } : {});
      }
    });

    it('rounding modes, and a dy larger than the forward output (only its first rows count, as on cpu)', async () => {
      for (const rounding of ['floor', 'round', 'ceil'] as const)
        for (const extra of [0, 1]) {
          const { f, inputs } = build([[2, 6, 7, 2], [3, 3, 2, 2], 2, 1, 1, rounding], extra);
          await assertMatchesCpu(`rounding ${rounding}, dy +${extra}`, f, inputs);
        }
    });

    it('leaks no tensor or wasm buffer', async () => {
      const { f, inputs } = build(leakCase);
      await assertNoLeak(f, inputs);
    });
  });
}
