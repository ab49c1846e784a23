// gradpool's fused max-pool and relu gradients on wasm, GradpoolMaxPoolGradStep(dy, input, output, z)
// = StepMultiply(z, MaxPoolGrad(dy, input, output)) (src/shared/kernels/max-pool-grad-step.ts, what a
// replayed trace runs for relu then a 2x2 max-pool): the same bits as the two kernels it fuses (the
// unfused trace), with ties, NaN, ±Infinity, ±0 in the pool's input, in z and in dy; cpu's values;
// the cases it refuses; and no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { MAX_POOL_GRAD_STEP, maxPoolGradStepFits } from '../../../src/shared/kernels/max-pool-grad-step.js';
import { STEP_MULTIPLY } from '../../../src/shared/kernels/step-multiply.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, bits, F, kernel, runOn, type Input } from './helpers.js';

const POOL = { filterSize: 2, strides: 2, pad: 'valid' };
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -2.5];
/** Seeded values with specials mixed in at every `every`-th position from `shift`; ties from rounding to halves. */
const mixed = (seed: number, shape: number[], every: number, shift: number): Input => {
  const base = F(seed, shape);
  return { ...base, values: Array.from(base.values, (v, i) => (i % every === shift ? SPECIAL[(i / every) % SPECIAL.length | 0]! : Math.round(v * 8 - 4) / 2)) };
};

/** The pool's input x and relu's input z, the pool's output of x, and dy. */
function cases(shape: [number, number, number, number], specials: boolean): Input[] {
  const z = specials ? mixed(1, shape, 7, 3) : F(1, shape);
  const x = specials ? mixed(2, shape, 5, 1) : { ...z, values: Array.from(z.values, (v) => Math.max(v, 0)) };
  const [N, H, W, C] = shape;
  const dy = specials ? mixed(3, [N, H / 2, W / 2, C], 6, 2) : F(3, [N, H / 2, W / 2, C]);
  return [x, z, dy];
}

const fused = (x: tf.Tensor, z: tf.Tensor, dy: tf.Tensor) => kernel(MAX_POOL_GRAD_STEP, { dy, input: x, output: tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), z }, POOL);
const unfused = (x: tf.Tensor, z: tf.Tensor, dy: tf.Tensor) =>
  kernel(STEP_MULTIPLY, { x: z, dy: kernel('MaxPoolGrad', { dy, input: x, output: tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') }, POOL) }, {});

describe('wasm kernel GradpoolMaxPoolGradStep (max-pool and relu gradients, fused)', () => {
  withBackend('wasm');

  it('same bits as MaxPoolGrad then StepMultiply, specials included; cpu values', async () => {
    for (const shape of [[1, 2, 2, 4], [2, 4, 6, 8], [3, 26, 26, 16]] as [number, number, number, number][])
      for (const specials of [false, true]) {
        const ins = cases(shape, specials);
        const [got] = await runOn('wasm', (x, z, dy) => fused(x!, z!, dy!), ins);
        const [want] = await runOn('wasm', (x, z, dy) => unfused(x!, z!, dy!), ins);
        assert.deepEqual(bits(got!.values), bits(want!.values), `[${shape}]${specials ? ' with specials' : ''}`);
        if (specials) continue;
        const [cpu] = await runOn('cpu', (x, z, dy) => tf.mul(tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'))(x!, dy!), tf.step(z!)), ins);
        assert.deepEqual(Array.from(got!.values), Array.from(cpu!.values), `[${shape}] vs cpu`);
      }
  });

  it('takes whole 2x2 stride-2 windows tiling the input over a multiple of 4 channels; refuses the rest naming the inputs', async () => {
    assert.ok(maxPoolGradStepFits([2, 26, 26, 16], [2, 26, 26, 16], POOL));
    for (const [x, z, attrs] of [
      [[2, 26, 26, 16], [2, 26, 26, 8], POOL], // z another shape
      [[2, 27, 26, 16], [2, 27, 26, 16], POOL], // a row no window covers
      [[2, 26, 26, 6], [2, 26, 26, 6], POOL], // channels not a multiple of 4
      [[2, 26, 26, 16], [2, 26, 26, 16], { ...POOL, strides: 1 }], // overlapping windows
      [[2, 26, 26, 16], [2, 26, 26, 16], { ...POOL, pad: 'same', filterSize: 3 }],
    ] as const)
      assert.ok(!maxPoolGradStepFits(x.slice(), z.slice(), attrs), `x [${x}] z [${z}] ${JSON.stringify(attrs)}`);
    await runOn('wasm', () => tf.scalar(0), []);
    const x = tf.zeros([1, 4, 4, 4]);
    assert.throws(
      () => kernel(MAX_POOL_GRAD_STEP, { dy: tf.zeros([1, 2, 2, 4]), input: x, output: tf.zeros([1, 2, 2, 4]), z: tf.zeros([1, 4, 4, 8]) }, POOL),
      /GradpoolMaxPoolGradStep: expected float32 dy \[1,2,2,4\], z of input's shape \[1,4,4,4\] and whole 2x2 stride-2 windows tiling it over a multiple of 4 channels, got dy float32\[1,2,2,4\], z float32\[1,4,4,8\]/,
    );
  });

  it('leaks nothing', async () => {
    await assertNoLeak((x, z, dy) => fused(x!, z!, dy!), cases([1, 4, 4, 4], false));
  });
});
