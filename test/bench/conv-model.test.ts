// The benchmark's conv model (bench/models/conv.ts) is the model its title names, and the pool's
// per-sample gradients of it on wasm are right: both executors, and the model's own per-sample
// tf.valueAndGrads loop, are checked against a per-sample tf.grads loop of an independent reference
// written without conv2d or maxPool (shifted slices times the kernel, pooling as a max over 2x2
// blocks) and run on the cpu backend. All parameters are random and nonzero, so a wrong padding,
// kernel orientation, bias, activation or pooling in the bench model shows in some gradient.
import * as tf from '@tensorflow/tfjs';
import { WORKLOADS } from '../../bench/workloads.js';
import { CONV } from '../../bench/models/conv.js';
import { GradPool } from '../../src/index.js';
import { loadModel, modelHref } from '../../src/model/load.js';
import type { ModelDef } from '../../src/model/define.js';
import { assertClose } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';
import { useBackend } from '../helpers/env.js';
import { loopOracle } from '../helpers/oracle.js';

const { side, filters, classes } = CONV;
const out = side - 2; // valid 3x3 conv
const half = out / 2; // 2x2 pool, stride 2

type P = { K: tf.Tensor; bK: tf.Tensor; W: tf.Tensor; b: tf.Tensor };
interface Variant {
  flipKernel?: boolean;
  noBias?: boolean;
  noRelu?: boolean;
}

/** The reference loss of one image `x` [side*side] and one-hot `y`. */
function referenceLoss({ K, bK, W, b }: P, x: tf.Tensor, y: tf.Tensor, v: Variant = {}): tf.Scalar {
  const img = tf.reshape(x, [side, side]);
  // patches[i*out + j, 3*dy + dx] = img[i + dy, j + dx]: a cross-correlation, as tf.conv2d computes.
  const taps: tf.Tensor[] = [];
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) taps.push(tf.reshape(tf.slice(img, [dy, dx], [out, out]), [out * out, 1]));
  const k = v.flipKernel ? tf.reverse(K, [0, 1]) : K;
  let z = tf.matMul(tf.concat(taps, 1), tf.reshape(k, [9, filters])); // [out*out, filters]
  z = tf.add(z, v.noBias ? tf.mul(bK, 0) : bK);
  const h = v.noRelu ? z : tf.relu(z);
  const pooled = tf.max(tf.reshape(h, [half, 2, half, 2, filters]), [1, 3]); // [half, half, filters]
  const logits = tf.add(tf.matMul(tf.reshape(pooled, [1, half * half * filters]), W), b);
  // -Σ y·log softmax(z) = logsumexp(z) - Σ y·z for a one-hot y.
  return tf.sub(tf.logSumExp(logits), tf.sum(tf.mul(tf.reshape(y, [1, classes]), logits))) as tf.Scalar;
}

/** Per-sample losses and gradients of the reference, one tf.grads per sample, on the cpu backend. */
async function referenceGrads(params: Record<string, Float32Array>, shapes: Record<string, number[]>, x: Float32Array, y: Float32Array, B: number, v: Variant = {}) {
  const names = ['K', 'bK', 'W', 'b'] as const;
  await useBackend('cpu');
  try {
    const ps = names.map((n) => tf.tensor(params[n]!, shapes[n]!));
    const losses: number[] = [];
    const grads = names.map(() => [] as number[]);
    for (let i = 0; i < B; i++) {
      tf.tidy(() => {
        const xi = tf.tensor(x.subarray(i * side * side, (i + 1) * side * side));
        const yi = tf.tensor(y.subarray(i * classes, (i + 1) * classes));
        const { value, grads: gs } = tf.valueAndGrads((K: tf.Tensor, bK: tf.Tensor, W: tf.Tensor, b: tf.Tensor) => referenceLoss({ K, bK, W, b }, xi, yi, v))(ps as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]);
        losses.push(value.dataSync()[0]!);
        gs.forEach((g, k) => grads[k]!.push(...g.dataSync()));
      });
    }
    ps.forEach((t) => t.dispose());
    return { losses, grads: Object.fromEntries(names.map((n, k) => [n, grads[k]!])) as Record<string, number[]> };
  } finally {
    await useBackend('wasm');
  }
}

// 1e-5 of each element plus 1e-5 of the array's largest |value|: the kernel's gradient sums 676
// positions per weight, so its small elements carry float32 rounding of the large ones.
const TOL = { rtol: 1e-5, atol: 0, floor: 1 };

describe('bench: the conv workload is tf.conv2d + relu + 2x2 max-pool + dense, and its per-sample gradients are right on wasm', function () {
  this.timeout(120_000);
  const w = WORKLOADS.conv;
  const B = 6;
  const { x, y } = w.data(B, 5);
  let def: ModelDef;
  let params: Record<string, Float32Array>;
  let shapes: Record<string, number[]>;
  let ref: Awaited<ReturnType<typeof referenceGrads>>;

  before(async () => {
    await useBackend('wasm');
    def = await loadModel(modelHref(w.model));
    const { names } = def.layout;
    shapes = Object.fromEntries(names.map((n, k) => [n, [...def.layout.shapes[k]!]]));
    // Random nonzero values everywhere (the init's zero biases would hide a missing bias).
    params = Object.fromEntries(names.map((n, k) => [n, randn(def.layout.sizes[k]!, 100 + k, n === 'W' ? 0.05 : 0.3)]));
    ref = await referenceGrads(params, shapes, x, y, B);
  });

  const check = (got: { losses: ArrayLike<number>; grads: Record<string, ArrayLike<number>> }, what: string) => {
    assertClose(got.losses, ref.losses, TOL, `${what}: losses`);
    for (const n of def.layout.names) assertClose(got.grads[n]!, ref.grads[n]!, TOL, `${what}: grads.${n}`);
  };

  it('declares the layers of a conv2d model: kernel [3,3,1,16], bias [16], dense [2704,10], [10]', () => {
    assertClose([...def.layout.names.flatMap((n) => shapes[n]!)], [3, 3, 1, filters, filters, half * half * filters, classes, classes], { rtol: 0, atol: 0 }, 'shapes');
  });

  it("the model's own per-sample tf.valueAndGrads loop on wasm matches the reference", () => {
    const named = Object.fromEntries(def.layout.names.map((n) => [n, { shape: shapes[n]!, data: params[n]! }]));
    const o = loopOracle(def, named, x, y, B);
    check({ losses: o.losses, grads: Object.fromEntries(def.layout.names.map((n, k) => [n, o.grads[k]!])) }, 'oracle loop');
  });

  for (const executor of ['loop', 'vectorized'] as const) {
    it(`pool.perSampleGrads, ${executor} executor, wasm, 2 threads, chunks of 4: matches the reference`, async () => {
      const pool = await GradPool.create({ model: w.model, threads: 2, backend: 'wasm', executor, chunkSize: 4, seed: 1 });
      try {
        pool.setParams(params);
        const psg = await pool.perSampleGrads(x, y);
        check({ losses: psg.losses.data, grads: Object.fromEntries(Object.entries(psg.grads).map(([n, g]) => [n, g.data])) }, `${executor} executor`);
      } finally {
        await pool.close();
      }
    });
  }

  it('the check is sensitive: references with a flipped kernel, without bias or without relu disagree', async () => {
    const named = Object.fromEntries(def.layout.names.map((n) => [n, { shape: shapes[n]!, data: params[n]! }]));
    const o = loopOracle(def, named, x, y, B);
    for (const v of [{ flipKernel: true }, { noBias: true }, { noRelu: true }] as Variant[]) {
      const wrong = await referenceGrads(params, shapes, x, y, B, v);
      const matches = def.layout.names.every((n, k) => {
        try {
          assertClose(o.grads[k]!, wrong.grads[n]!, TOL);
          return true;
        } catch {
          return false;
        }
      });
      if (matches) throw new Error(`the reference variant ${JSON.stringify(v)} still matches the bench model`);
    }
  });
});
