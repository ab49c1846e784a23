/**
 * The done-when models: a tf.sequential MNIST-style MLP (784→32 relu→10 softmax, categoricalCrossentropy),
 * passed as the object itself and as a saved model.json. Both train under executor 'auto' vectorized
 * with no fallback warning, give the per-sample loop's gradients, and the same bits for 1, 2 and 3
 * threads; `toLayersModel()` predicts what the pool predicts, and survives a save and reload.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adam, GradPool, type NDArray } from '../../../src/index.js';
import { layersSaveHandler } from '../../../src/io/tfjs-layers.js';
import { fileLoadHandler } from '../../../src/model/layers/io-handler.js';
import { assertClose, sameBytes } from '../../helpers/assert.js';
import { oneHot, uniform } from '../../helpers/data.js';
import { withBackend } from '../../helpers/env.js';
import { layersOracle, saveToTemp, seedWeights, warningsDuring } from './helpers.js';

const B = 64;
const x: NDArray = { shape: [B, 784], data: uniform(B * 784, 11) };
const y: NDArray = { shape: [B, 10], data: oneHot(B, 10, 12) };

function mnistModel(): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 32, activation: 'relu' }), tf.layers.dense({ units: 10, activation: 'softmax' })] });
  seedWeights(model, 5);
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  return model;
}

/** Fallback warnings of any kind: the pool-level loop fallback, a per-kernel one, or a chunk's. */
const FALLBACK = /executor 'auto'|no batching rule|cannot vectorize/;

describe('tfjs-layers: an MNIST-style tf.sequential model, as an object and as a model.json', function () {
  this.timeout(120_000);
  withBackend('wasm');
  let model: tf.LayersModel;
  let path: string;
  before(async () => {
    model = mnistModel();
    path = await saveToTemp(model); // no training config in it: the loss comes from the option
  });
  after(() => model.dispose());

  const sources = () => [
    { label: 'object', options: { model } },
    { label: 'model.json', options: { model: path, loss: 'categoricalCrossentropy' as const } },
  ];

  it('names the parameters by the weight names of the saved manifest, starting from the model weights', async () => {
    for (const { options } of sources()) {
      const pool = await GradPool.create({ ...options, threads: 1 });
      try {
        assert.deepEqual(pool.model.layout.names, model.trainableWeights.map((w) => w.originalName));
        assert.deepEqual(pool.model.inputShape, [784]);
        assert.deepEqual(pool.outputShape, [10]);
        const p = pool.getParams();
        model.trainableWeights.forEach((w) => assert.ok(sameBytes(p[w.originalName]!.data, w.read().dataSync()), w.originalName));
      } finally {
        await pool.close();
      }
    }
  });

  it("trains under 'auto' vectorized with no fallback warning; per-sample gradients equal the per-sample loop to 1e-5", async () => {
    const want = layersOracle(model, tf.metrics.categoricalCrossentropy, x.data, y.data, B, [10]);
    for (const { label, options } of sources()) {
      const { value: pool, warnings } = await warningsDuring(async () => {
        const p = await GradPool.create({ ...options, threads: 2 });
        await p.step(x, y, { optimizer: adam({ learningRate: 1e-3 }) });
        return p;
      });
      try {
        assert.equal(pool.executor, 'vectorized', label);
        assert.deepEqual(warnings.filter((w) => FALLBACK.test(w)), [], label);
        pool.setParams(Object.fromEntries(model.trainableWeights.map((w) => [w.originalName, { shape: w.shape as number[], data: w.read().dataSync() as Float32Array }])));
        const got = await pool.perSampleGrads(x, y);
        assertClose(got.losses.data, want.losses, { rtol: 1e-5, atol: 1e-7 }, `${label} losses`);
        model.trainableWeights.forEach((w, k) => assertClose(got.grads[w.originalName]!.data, want.grads[k]!, { rtol: 1e-5, atol: 1e-7, floor: 1e-3 }, `${label} ${w.originalName}`));
      } finally {
        await pool.close();
      }
    }
  });

  it('gives bit-identical parameters after three steps for threads 1, 2 and 3, from the object and from model.json alike', async () => {
    const results: { label: string; params: Record<string, NDArray> }[] = [];
    for (const { label, options } of sources()) {
      for (const threads of [1, 2, 3]) {
        const pool = await GradPool.create({ ...options, threads, chunkSize: 16 });
        try {
          const optimizer = adam({ learningRate: 1e-2 });
          for (let s = 0; s < 3; s++) await pool.step(x, y, { optimizer });
          results.push({ label: `${label}, ${threads} threads`, params: pool.getParams() });
        } finally {
          await pool.close();
        }
      }
    }
    const [first, ...rest] = results;
    for (const r of rest) for (const n of Object.keys(first!.params)) assert.ok(sameBytes(r.params[n]!.data, first!.params[n]!.data), `${r.label} vs ${first!.label}: ${n}`);
    assert.ok(!sameBytes(first!.params[model.trainableWeights[0]!.originalName]!.data, model.trainableWeights[0]!.read().dataSync()), 'the steps changed the weights');
  });

});

// On wasm the vectorized forward runs a dense layer's fused matMul+bias as a matMul, then an add (the
// batching rules compose them), which XNNPACK rounds differently from its fused kernel: up to ~4e-6
// relative after training. On cpu both ways give the same bits, so the weights are checked there.
describe('tfjs-layers: toLayersModel()', function () {
  this.timeout(60_000);
  withBackend('cpu');
  let path: string;
  before(async () => {
    const model = mnistModel();
    path = await saveToTemp(model);
    model.dispose();
  });

  it('a tf.LayersModel with the trained weights whose predict equals pool.predict to 1e-6, also after save and reload', async () => {
    const pool = await GradPool.create({ model: path, loss: 'categoricalCrossentropy', threads: 2, backend: 'cpu' });
    try {
      const optimizer = adam({ learningRate: 1e-2 });
      for (let s = 0; s < 2; s++) await pool.step(x, y, { optimizer });
      const want = (await pool.predict(x)).data;
      const trained = await pool.toLayersModel();
      const dir = join(dirname(path), 'trained');
      try {
        const xs = tf.tensor(x.data, x.shape);
        assertClose((trained.predict(xs) as tf.Tensor).dataSync(), want, { rtol: 1e-6, atol: 1e-7 }, 'toLayersModel().predict');
        await trained.save(layersSaveHandler(dir));
        const again = await tf.loadLayersModel(fileLoadHandler(join(dir, 'model.json')));
        assertClose((again.predict(xs) as tf.Tensor).dataSync(), want, { rtol: 1e-6, atol: 1e-7 }, 'reloaded predict');
        again.dispose();
        xs.dispose();
      } finally {
        trained.dispose();
      }
    } finally {
      await pool.close();
    }
  });
});
