// The CLI with a tfjs Layers model.json as the job's model: train writes a loadable Layers model, predict uses it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GradPool } from '../../src/index.js';
import { layersSaveHandler } from '../../src/io/tfjs-layers.js';
import { parseJob } from '../../src/cli/job.js';
import { fileLoadHandler } from '../../src/model/layers/io-handler.js';
import { assertClose, throwsExactly } from '../helpers/assert.js';
import { withBackend } from '../helpers/env.js';
import { seedWeights } from '../model/layers/helpers.js';
import { makeJob, runCli } from './helpers.js';

describe('cli: a tfjs Layers model.json job', function () {
  this.timeout(120_000);
  withBackend('cpu');

  it('train writes a tfjs Layers model (modelTopology, weightsManifest, weights.bin) that tf.loadLayersModel reads back; predict uses it', async () => {
    const { dir, job } = makeJob({ model: 'model.json', loss: 'categoricalCrossentropy', epochs: 2, backend: 'cpu' }, 64);
    const initial = seedWeights(tf.sequential({ layers: [tf.layers.dense({ inputShape: [5], units: 8, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })] }), 8);
    await initial.save(layersSaveHandler(dir));
    const train = await runCli(['train', job]);
    assert.equal(train.code, 0, train.stderr);
    const final = join(dir, 'out', 'final', 'model.json');
    const json = JSON.parse(readFileSync(final, 'utf8')) as tf.io.ModelJSON;
    assert.equal(json.format, 'layers-model');
    assert.deepEqual(json.weightsManifest[0]!.paths, ['weights.bin']);
    const trained = await tf.loadLayersModel(fileLoadHandler(final));
    const x = tf.tensor(readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n').slice(1).flatMap((l) => l.split(',').slice(0, 5).map(Number)), [64, 5]);
    const want = (trained.predict(x) as tf.Tensor).dataSync();
    assert.ok(Math.abs(want[0]! - (initial.predict(x) as tf.Tensor).dataSync()[0]!) > 1e-4, 'training changed the model');

    const pool = await GradPool.create({ model: final, loss: 'categoricalCrossentropy', threads: 1, backend: 'cpu' });
    try {
      assertClose((await pool.predict(x)).data, want, { rtol: 1e-6 }, 'pool on the final model.json');
    } finally {
      await pool.close();
    }
    const predict = await runCli(['predict', job]);
    assert.equal(predict.code, 0, predict.stderr);
    const lines = readFileSync(join(dir, 'out', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { prediction: number[] }).prediction);
    assertClose(lines.flat(), want, { rtol: 1e-6 }, 'gradpool predict');
    [initial, trained, x].forEach((t) => t.dispose());
  });

  it('loss is a job field for model.json models only, and a tfjs loss name', () => {
    const { dir, config } = makeJob();
    const text = (o: Record<string, unknown>) => JSON.stringify({ ...config, ...o });
    throwsExactly(() => parseJob(text({ loss: 'meanSquaredError' }), { baseDir: dir }), 'loss: only for a tfjs Layers model.json model (a defineModel module has its own loss)', 'ERR_JOB_INVALID');
  });
});
