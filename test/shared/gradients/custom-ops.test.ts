// Second order through tfjs's customGrad ops (src/shared/gradients/custom-ops.ts): every op in
// tfjs-core 4.22 that calls customGrad (grep customGrad node_modules/@tensorflow/tfjs-core/dist/ops:
// logSoftmax, logSigmoid, losses/softmaxCrossEntropy, fused matMul, conv2d, depthwiseConv2d), each
// differentiated twice against finite differences of its first derivative (second-order-probe.ts),
// on cpu and wasm; tfjs's own customGrad shown wrong where gradpool's is needed; and first-order
// gradients bit-identical to tfjs's, plain and inside an outer gradient.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { installSecondOrderGradients } from '../../../src/shared/gradients/index.js';
import { withTfjsCustomGrad } from '../../../src/shared/gradients/custom-ops.js';
import { sameBytes } from '../../helpers/assert.js';
import { uniform } from '../../helpers/data.js';
import { useBackend } from '../../helpers/env.js';
import type { Probe } from '../kernels/gradient-probes.js';
import { gradientsAt } from './probe-gradients.js';
import { secondOrder } from './second-order-probe.js';

type T = tf.Tensor;
type FProbe = Extract<Probe, { f: unknown }>;

const t = (shape: number[], seed: number, scale = 0.9) => tf.tensor(uniform(tf.util.sizeFromShape(shape), seed).map((v) => v * scale), shape);
const LABELS = Float32Array.from([0.1, 0.6, 0.2, 0.1, 0, 0, 1, 0]); // [2, 4]: a soft row and a one-hot row

/** One probe per customGrad op (and per variant that takes another path through its gradient). */
const CUSTOM_OPS: Record<string, FProbe> = {
  logSoftmax: { f: (x) => tf.logSoftmax(x!), args: () => [t([2, 4], 1, 3)] },
  logSigmoid: { f: (x) => tf.logSigmoid(x!), args: () => [t([2, 3], 2, 3)] },
  'softmaxCrossEntropy (mean)': { f: (z) => tf.losses.softmaxCrossEntropy(tf.tensor(LABELS, [2, 4]), z!), args: () => [t([2, 4], 3, 3)] },
  'softmaxCrossEntropy (none, label smoothing)': {
    f: (z) => tf.losses.softmaxCrossEntropy(tf.tensor(LABELS, [2, 4]), z!, undefined, 0.1, tf.Reduction.NONE),
    args: () => [t([2, 4], 4, 3)],
  },
  'fused.matMul': { f: (a, b) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D }), args: () => [t([2, 3], 5), t([3, 4], 6)] },
  // A bias only untransposed: tfjs-wasm 4.22's _FusedMatMul adds it wrongly with transposeA or transposeB (its forward differs from cpu's).
  'fused.matMul (transposeB)': { f: (a, b) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true }), args: () => [t([2, 3], 7), t([4, 3], 8)] },
  'fused.matMul (bias)': { f: (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias }), args: () => [t([2, 3], 16), t([3, 4], 17), t([4], 9)] },
  'fused.conv2d (bias)': {
    f: (x, filter, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', bias }),
    args: () => [t([1, 4, 4, 2], 10), t([2, 2, 2, 3], 11), t([3], 12)],
  },
  'fused.depthwiseConv2d (bias)': {
    f: (x, filter, bias) => tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'valid', bias }),
    args: () => [t([1, 4, 4, 2], 13), t([2, 2, 2, 1], 14), t([2], 15)],
  },
};
const NAMES = Object.keys(CUSTOM_OPS);

const gradients = (probe: FProbe, outer: boolean) => gradientsAt(probe.f, probe.args(), outer);

const differing = (a: Float32Array[][], b: Float32Array[][]) =>
  NAMES.flatMap((k, i) => (a[i]!.length === b[i]!.length && a[i]!.every((g, j) => sameBytes(g, b[i]![j]!)) ? [] : [k]));

describe("second-order gradients through tfjs's customGrad ops", () => {
  before(() => installSecondOrderGradients());
  after(() => useBackend('cpu'));

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`each op's Hessian-vector product matches finite differences of its first derivative, on ${backend}`, async () => {
      await useBackend(backend);
      const failing = NAMES.flatMap((k) => {
        const o = secondOrder(k, CUSTOM_OPS[k]!);
        return o.ok ? [] : [`${k}: ${JSON.stringify(o)}`];
      });
      assert.deepEqual(failing, []);
    });

    it(`first-order gradients are bit-identical to tfjs's, plain and inside an outer gradient, on ${backend}`, async () => {
      await useBackend(backend);
      for (const outer of [false, true]) {
        const run = () => NAMES.map((k) => gradients(CUSTOM_OPS[k]!, outer));
        const ours = run();
        const theirs = withTfjsCustomGrad(run);
        assert.deepEqual(ours.flatMap((g, i) => (g.length ? [] : [NAMES[i]])), [], 'every probe gave its gradients');
        assert.deepEqual(differing(ours, theirs), [], outer ? 'inside an outer gradient' : 'plain tf.grads');
      }
    });
  }

  it("with tfjs's own customGrad, the ops whose gradients read a tensor computed inside the op are wrong at second order (the others read inputs, which tfjs's saving clone links)", async () => {
    await useBackend('cpu');
    const verdicts = NAMES.map((k) => [k, withTfjsCustomGrad(() => secondOrder(k, CUSTOM_OPS[k]!))] as const);
    assert.deepEqual(verdicts.filter(([, o]) => !o.ok).map(([k]) => k), ['logSoftmax', 'softmaxCrossEntropy (mean)', 'softmaxCrossEntropy (none, label smoothing)']);
    assert.ok(verdicts.every(([, o]) => o.ok || 'wrong' in o), JSON.stringify(verdicts));
  });

  it('an op of an intermediate tensor (disposed by the forward before tfjs runs its gradient) differentiates twice: d²/dx² Σ logσ(2x) = −4σ(2x)(1 − σ(2x))', async () => {
    await useBackend('cpu');
    const x0 = [0.3, -1.2, 2];
    const x = tf.tensor1d(x0);
    const d2 = tf.grad(tf.grad((v: T) => tf.sum(tf.logSigmoid(tf.mul(v, 2)))))(x);
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    const want = x0.map((v) => -4 * s(2 * v) * (1 - s(2 * v)));
    Array.from(d2.dataSync()).forEach((g, i) => assert.ok(Math.abs(g - want[i]!) < 1e-6, `${g} vs ${want[i]}`));
    tf.dispose([x, d2]);
  });

  it('leaks no tensor: 200 second-order calls through each op leave tf.memory().numTensors unchanged', async () => {
    await useBackend('cpu');
    const hvp = (probe: FProbe) => {
      const args = probe.args();
      const hv = tf.tidy(() => tf.grads((...xs: T[]) => tf.addN(tf.grads((...ys: T[]) => tf.sum(tf.square(probe.f(...ys))))(xs).map((g) => tf.sum(g))))(args));
      tf.dispose([...args, ...hv]);
    };
    for (const k of NAMES) hvp(CUSTOM_OPS[k]!);
    const before = tf.memory().numTensors;
    for (let n = 0; n < 200; n++) for (const k of NAMES) hvp(CUSTOM_OPS[k]!);
    assert.equal(tf.memory().numTensors, before);
  });
});
