/** Losses of tfjs-layers pools: tfjs-layers' own functions by name, the user's function, the compiled loss; training mode. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradPool } from '../../../src/index.js';
import { LOSS_NAMES, sampleLoss } from '../../../src/model/layers/losses.js';
import { assertClose } from '../../helpers/assert.js';
import { randn, uniform } from '../../helpers/data.js';
import { withBackend } from '../../helpers/env.js';
import { layersOracle, oneLayer, seedWeights } from './helpers.js';

const B = 6;
const x = randn(B * 4, 21);

describe('tfjs-layers: losses and training mode', function () {
  this.timeout(60_000);
  withBackend('cpu');

  it("every name in LOSS_NAMES compiles in tfjs-layers, which rejects others", () => {
    const model = oneLayer(tf.layers.dense({ inputShape: [4], units: 3 }));
    for (const name of LOSS_NAMES) model.compile({ optimizer: 'sgd', loss: name });
    assert.throws(() => model.compile({ optimizer: 'sgd', loss: 'mse' }), /Unknown loss mse/);
    model.dispose();
  });

  it('a loss name gives tfjs-layers\' own function on the sample as a batch of one, averaged (as tf.metrics computes it)', () => {
    const model = oneLayer(tf.layers.dense({ inputShape: [4], units: 3, activation: 'sigmoid' }));
    const pred = tf.tensor(uniform(3, 1).map((v) => 0.5 + 0.4 * v));
    const y = tf.tensor([0, 1, 0]);
    const cases: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['meanSquaredError', tf.metrics.meanSquaredError],
      ['meanAbsoluteError', tf.metrics.meanAbsoluteError],
      ['binaryCrossentropy', tf.metrics.binaryCrossentropy],
      ['categoricalCrossentropy', tf.metrics.categoricalCrossentropy],
      ['cosineProximity', tf.metrics.cosineProximity],
    ];
    for (const [name, metric] of cases) {
      const got = sampleLoss(model, { name })(pred, y);
      assert.equal(got.rank, 0, name);
      assertClose(got.dataSync(), tf.mean(metric(y.expandDims(0), pred.expandDims(0))).dataSync(), { rtol: 1e-6 }, name);
    }
    model.dispose();
  });

  it('sparseCategoricalCrossentropy takes one label per sample; a loss function gets (yTrue, yPred); both match the oracle', async () => {
    const model = oneLayer(tf.layers.dense({ inputShape: [4], units: 3, activation: 'softmax' }), 3);
    const labels = Float32Array.from({ length: B }, (_, i) => i % 3);
    const xs = { shape: [B, 4], data: x };
    const sparse = await GradPool.create({ model, loss: 'sparseCategoricalCrossentropy', threads: 1, backend: 'cpu' });
    const huber = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.huberLoss(yTrue, yPred);
    const custom = await GradPool.create({ model, loss: huber, threads: 1, backend: 'cpu' });
    try {
      assert.deepEqual(sparse.model.targetShape, [1]);
      const got = await sparse.perSampleGrads(xs, { shape: [B, 1], data: labels });
      const want = layersOracle(model, (yt, yp) => tf.metrics.categoricalCrossentropy(tf.oneHot(tf.cast(tf.reshape(yt, [-1]), 'int32'), 3), yp), x, labels, B, [1]);
      assertClose(got.losses.data, want.losses, { rtol: 1e-5 }, 'sparse losses');
      model.trainableWeights.forEach((w, k) => assertClose(got.grads[w.originalName]!.data, want.grads[k]!, { rtol: 1e-5, atol: 1e-7 }, w.originalName));
      const y = randn(B * 3, 22);
      const gotH = await custom.perSampleGrads(xs, { shape: [B, 3], data: y });
      const wantH = layersOracle(model, huber, x, y, B, [3]);
      assertClose(gotH.losses.data, wantH.losses, { rtol: 1e-5 }, 'huber losses');
      model.trainableWeights.forEach((w, k) => assertClose(gotH.grads[w.originalName]!.data, wantH.grads[k]!, { rtol: 1e-5, atol: 1e-7 }, w.originalName));
    } finally {
      await Promise.all([sparse.close(), custom.close()]);
      model.dispose();
    }
  });

  it('without a loss option, the loss the model was compiled with, a function included', async () => {
    const model = oneLayer(tf.layers.dense({ inputShape: [4], units: 3 }), 4);
    model.compile({ optimizer: 'sgd', loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.sum(tf.abs(tf.sub(yTrue, yPred))) });
    const y = randn(B * 3, 23);
    const pool = await GradPool.create({ model, threads: 1, backend: 'cpu' });
    try {
      const got = await pool.evaluate({ shape: [B, 4], data: x }, { shape: [B, 3], data: y });
      const pred = model.predict(tf.tensor(x, [B, 4])) as tf.Tensor;
      assertClose([got.loss], [tf.sum(tf.abs(tf.sub(tf.tensor(y, [B, 3]), pred))).dataSync()[0]! / B], { rtol: 1e-5 }, 'mean loss');
    } finally {
      await pool.close();
      model.dispose();
    }
  });

  it('predict and evaluate run in inference mode (Dropout off), gradients in training mode (Dropout on)', async () => {
    const model = seedWeights(tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 8 }), tf.layers.dropout({ rate: 0.5 }), tf.layers.dense({ units: 2 })] }), 6);
    const pool = await GradPool.create({ model, loss: 'meanSquaredError', threads: 1, backend: 'cpu' });
    try {
      const xs = { shape: [B, 4], data: x };
      const y = { shape: [B, 2], data: randn(B * 2, 24) };
      assertClose((await pool.predict(xs)).data, (model.predict(tf.tensor(x, [B, 4])) as tf.Tensor).dataSync(), { rtol: 1e-6 }, 'predict');
      const inference = layersOracle(model, tf.metrics.meanSquaredError, x, y.data, B, [2], false);
      assertClose([(await pool.evaluate(xs, y)).loss], [inference.losses.reduce((a, b) => a + b) / B], { rtol: 1e-5 }, 'evaluate');
      const { losses } = await pool.perSampleGrads(xs, y);
      assert.ok(losses.data.some((l, i) => Math.abs(l - inference.losses[i]!) > 1e-4), 'dropout changed some training losses');
    } finally {
      await pool.close();
      model.dispose();
    }
  });
});
