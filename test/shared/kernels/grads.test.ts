// End to end: a plain tf.grads of the ops whose gradients need the kernels added in src/shared/kernels
// runs on wasm and equals cpu's, and so do gradpool's loop executor's gradients of a conv2d model.
import * as tf from '@tensorflow/tfjs';
import { LoopExecutor } from '../../../workers/executors/loop.js';
import { withBackend } from '../../helpers/env.js';
import { assertWasmMatchesCpu, convModel } from '../../workers/vectorized/models.js';
import { assertMatchesCpu, assertNoLeak, F, I, type Input } from './helpers.js';

type T = tf.Tensor;
const t3 = (x: T) => x as tf.Tensor3D;
const t4 = (x: T) => x as tf.Tensor4D;
/** The gradients of a smooth scalar of `op`'s output (its half sum of squares) w.r.t. every input. */
const gradsOf = (op: (...xs: T[]) => T) => (...xs: T[]) => tf.grads((...a: T[]) => tf.div(tf.sum(tf.square(op(...a))), 2))(xs);

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;
const PADS: Pad[] = ['same', 'valid', [[0, 0], [1, 2], [2, 0], [0, 0]]];

describe('tf.grads on wasm through the added kernels (vs cpu)', () => {
  withBackend('wasm');

  it('conv2d, on one image and on a batch, strides 1 and 2, every padding', async () => {
    for (const [x, w] of [[F(1, [7, 6, 3]), F(2, [3, 3, 3, 4])], [F(3, [3, 8, 7, 2]), F(4, [2, 3, 2, 5])]])
      for (const s of [1, 2] as const)
        for (const p of PADS)
          await assertMatchesCpu(`conv2d x [${x.shape}] strides ${s} pad ${JSON.stringify(p)}`, gradsOf((a, b) => tf.conv2d(a as tf.Tensor4D, t4(b!), s, p)), [x, w]);
  });

  it('conv1d and conv2dTranspose (whose gradient runs Conv2D and Conv2DBackpropFilter)', async () => {
    await assertMatchesCpu('conv1d', gradsOf((a, b) => tf.conv1d(t3(a), t3(b!), 2, 'same')), [F(1, [2, 9, 3]), F(2, [3, 3, 4])]);
    for (const s of [1, 2] as const) {
      const outShape: [number, number, number, number] = [2, 5 * s, 4 * s, 2];
      await assertMatchesCpu(`conv2dTranspose strides ${s}`, gradsOf((a, b) => tf.conv2dTranspose(t4(a), t4(b!), outShape, s, 'same')), [F(1, [2, 5, 4, 3]), F(2, [3, 3, 2, 3])]);
    }
  });

  it('depthwiseConv2d with channel multipliers 1 and 3, strides 1 and 2, every padding', async () => {
    for (const m of [1, 3])
      for (const s of [1, 2] as const)
        for (const p of PADS)
          await assertMatchesCpu(`depthwiseConv2d m ${m} strides ${s} pad ${JSON.stringify(p)}`, gradsOf((a, b) => tf.depthwiseConv2d(t4(a), t4(b!), s, p)), [F(1, [2, 7, 6, 3]), F(2, [3, 2, 3, m])]);
  });

  it('separableConv2d, and fused conv2d / depthwiseConv2d with bias and relu', async () => {
    for (const s of [1, 2] as const)
      await assertMatchesCpu(`separableConv2d strides ${s}`, gradsOf((a, d, q) => tf.separableConv2d(t4(a), t4(d!), t4(q!), s, 'same')), [F(1, [2, 7, 7, 3]), F(2, [3, 3, 3, 2]), F(3, [1, 1, 6, 4])]);
    const fused = { activation: 'relu' as const, strides: 2 as const, pad: 'same' as const };
    await assertMatchesCpu('fused conv2d', gradsOf((x, filter, bias) => tf.fused.conv2d({ x: t4(x), filter: t4(filter!), bias, ...fused })), [F(1, [2, 6, 6, 3]), F(2, [3, 3, 3, 4]), F(3, [4])]);
    await assertMatchesCpu('fused depthwiseConv2d', gradsOf((x, filter, bias) => tf.fused.depthwiseConv2d({ x: t4(x), filter: t4(filter!), bias, ...fused })), [F(1, [2, 6, 6, 3]), F(2, [3, 3, 3, 2]), F(3, [6])]);
  });

  it('fused matMul and softmaxCrossEntropy (gradients of their own, outside the registry)', async () => {
    const fused = (a: T, b: T, bias: T) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' });
    await assertMatchesCpu('fused matMul', gradsOf(fused as (...xs: T[]) => T), [F(1, [3, 4]), F(2, [4, 5]), F(3, [5])]);
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 0, 4], 'int32'), 5));
    await assertMatchesCpu('softmaxCrossEntropy', (logits) => tf.grads((l: T) => tf.losses.softmaxCrossEntropy(tf.clone(labels), l))([logits!]), [F(4, [3, 5])]);
    labels.dispose();
  });

  it('gather (embedding lookups) with repeated indices, along axes 0 and 1', async () => {
    const ids = I([3, 0, 3, 5, 3, 1]);
    for (const axis of [0, 1]) {
      const params: Input = F(1, axis === 0 ? [6, 4] : [2, 6, 3]);
      await assertMatchesCpu(`gather axis ${axis}`, (p, i) => tf.grads((q: T) => tf.sum(tf.square(tf.gather(q, i!, axis))))([p!]), [params, ids]);
    }
  });

  it("gradpool's loop executor: per-sample gradients of a conv2d model on wasm equal cpu's", async () => {
    for (const pad of ['valid', 'same'] as const) await assertWasmMatchesCpu(new LoopExecutor(), convModel(8, 'max', pad), 4, 2, `loop executor on wasm, conv ${pad}`);
  });

  it('repeated gradients leak no tensor or wasm buffer', async () => {
    const all = (x: T, w: T, d: T, q: T) => [
      ...gradsOf((a, b) => tf.conv2d(t4(a), t4(b!), 2, 'same'))(x, w),
      ...gradsOf((a, b, c) => tf.separableConv2d(t4(a), t4(b!), t4(c!), 1, 'valid'))(x, d, q),
      ...tf.grads((p: T) => tf.sum(tf.gather(p, tf.tensor1d([1, 1, 0], 'int32'))))([w]),
    ];
    await assertNoLeak(all as (...xs: T[]) => T[], [F(1, [2, 7, 7, 3]), F(2, [3, 3, 3, 4]), F(3, [3, 3, 3, 2]), F(4, [1, 1, 6, 4])]);
  });
});
