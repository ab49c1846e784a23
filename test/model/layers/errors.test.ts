/** Bad tfjs-layers input: each refused before any worker starts, with a message naming the field, expected and got. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GradPool, sgd } from '../../../src/index.js';
import { LOSS_NAMES } from '../../../src/model/layers/losses.js';
import { rejectsExactly, sameBytes } from '../../helpers/assert.js';
import { fixture, withBackend } from '../../helpers/env.js';
import { saveToTemp } from './helpers.js';

const NAMES = `a tfjs loss name (one of ${LOSS_NAMES.join(', ')}) or a function (yTrue, yPred) => tensor`;

describe('tfjs-layers: bad input', function () {
  this.timeout(60_000);
  withBackend('cpu');
  const dense = () => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'gradpool-layers-bad-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('a model compiled without a loss and no loss option: names loss', async () => {
    await rejectsExactly(GradPool.create({ model: dense(), threads: 1 }), `loss: expected ${NAMES}, since the model was not compiled with a loss, got undefined`, 'ERR_INVALID_OPTION');
  });

  it('an unknown loss name, or neither name nor function: names loss and lists the names', async () => {
    await rejectsExactly(GradPool.create({ model: dense(), threads: 1, loss: 'meanSquareError' as never }), `loss: expected ${NAMES}, got "meanSquareError"`, 'ERR_INVALID_OPTION');
    await rejectsExactly(GradPool.create({ model: dense(), threads: 1, loss: 3 as never }), `loss: expected ${NAMES}, got 3`, 'ERR_INVALID_OPTION');
  });

  it('a loss function that cannot be rebuilt in the workers: a closure, or method syntax', async () => {
    const k = 2;
    await rejectsExactly(
      GradPool.create({ model: dense(), threads: 1, loss: (a, b) => tf.mul(k, tf.sub(a, b)) }),
      'loss: failed on zeros as the workers would run it (a loss function is rebuilt there from its source text, with only its arguments and tf in scope): k is not defined',
      'ERR_INVALID_OPTION',
    );
    const method = { f(a: tf.Tensor, b: tf.Tensor) { return tf.sub(a, b); } }.f;
    await rejectsExactly(GradPool.create({ model: dense(), threads: 1, loss: method }), "loss: expected a function expression (arrow or function), which workers rebuild from its source text, got source that does not parse: Unexpected token '{'", 'ERR_INVALID_OPTION');
  });

  it('a loss option with a defineModel module, which has its own', async () => {
    await rejectsExactly(
      GradPool.create({ model: fixture('seed'), threads: 1, loss: 'meanSquaredError' }),
      'loss: expected no loss option with a defineModel module, which has its own loss (loss is for tfjs-layers models), got "meanSquaredError"',
      'ERR_INVALID_OPTION',
    );
  });

  it('a model.json whose weights.bin is missing: names the file', async () => {
    const json = await saveToTemp(dense());
    const bin = join(json, '..', 'weights.bin');
    await rm(bin);
    await rejectsExactly(GradPool.create({ model: json, threads: 1, loss: 'meanSquaredError' }), `model: failed to load ${json}: weights file ${bin} not found`, 'ERR_MODEL_LOAD');
    await rm(join(json, '..'), { recursive: true });
  });

  it('a model.json that is missing, not JSON, or not a Layers model (a graph model, gradpool weights only)', async () => {
    const at = (f: string) => join(dir, f);
    await rejectsExactly(GradPool.create({ model: at('nope.json'), threads: 1, loss: 'hinge' }), `model: failed to load ${at('nope.json')}: model file ${at('nope.json')} not found`, 'ERR_MODEL_LOAD');
    await writeFile(at('bad.json'), '{nope');
    await rejectsExactly(GradPool.create({ model: at('bad.json'), threads: 1, loss: 'hinge' }), `model: failed to load ${at('bad.json')}: not valid JSON: Expected property name or '}' in JSON at position 1`, 'ERR_MODEL_LOAD');
    const notLayers = 'not a tfjs Layers model: expected a model.json with "modelTopology" of a Layers model (format "layers-model"), got';
    await writeFile(at('graph.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    await rejectsExactly(GradPool.create({ model: at('graph.json'), threads: 1, loss: 'hinge' }), `model: failed to load ${at('graph.json')}: ${notLayers} format "graph-model"`, 'ERR_MODEL_LOAD');
    await writeFile(at('weights.json'), JSON.stringify({ format: 'gradpool-weights', weightsManifest: [] }));
    await rejectsExactly(GradPool.create({ model: at('weights.json'), threads: 1, loss: 'hinge' }), `model: failed to load ${at('weights.json')}: ${notLayers} format "gradpool-weights" without "modelTopology"`, 'ERR_MODEL_LOAD');
  });

  it('a model with two inputs or two outputs, or a variable-length input', async () => {
    const a = tf.input({ shape: [3] });
    const b = tf.input({ shape: [2] });
    const twoIn = tf.model({ inputs: [a, b], outputs: tf.layers.dense({ units: 1 }).apply(tf.layers.concatenate().apply([a, b])) as tf.SymbolicTensor });
    await rejectsExactly(GradPool.create({ model: twoIn, threads: 1, loss: 'meanSquaredError' }), 'model.inputs: expected a model with one input (multi-input and multi-output Layers models are not supported), got 2 inputs', 'ERR_MODEL_INVALID');
    const twoOut = tf.model({ inputs: a, outputs: [tf.layers.dense({ units: 1 }).apply(a), tf.layers.dense({ units: 2 }).apply(a)] as tf.SymbolicTensor[] });
    await rejectsExactly(GradPool.create({ model: twoOut, threads: 1, loss: 'meanSquaredError' }), 'model.outputs: expected a model with one output (multi-input and multi-output Layers models are not supported), got 2 outputs', 'ERR_MODEL_INVALID');
    const rnn = tf.sequential({ layers: [tf.layers.simpleRNN({ units: 2, inputShape: [null as unknown as number, 3] })] });
    await rejectsExactly(GradPool.create({ model: rnn, threads: 1, loss: 'meanSquaredError' }), 'model.inputShape: expected a fully defined shape after the batch dimension (give the input layer a complete inputShape), got [null,null,3]', 'ERR_MODEL_INVALID');
  });

  it('toLayersModel on a defineModel pool', async () => {
    const pool = await GradPool.create({ model: fixture('seed'), threads: 1 });
    try {
      await rejectsExactly(
        pool.toLayersModel(),
        'toLayersModel: expected a pool made from a tfjs-layers model (a tf.LayersModel or a model.json), got one made from a defineModel module, which has no Layers topology (its weights: getParams())',
        'ERR_NOT_LAYERS_MODEL',
      );
    } finally {
      await pool.close();
    }
  });

  it("nothing is lost: the user's model keeps its weights, loss and optimizer, and stays usable", async () => {
    const model = dense();
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    const before = model.getWeights().map((w) => w.dataSync().slice());
    const optimizer = model.optimizer;
    await rejectsExactly(GradPool.create({ model, threads: 1, loss: 'nope' as never }), `loss: expected ${NAMES}, got "nope"`);
    const pool = await GradPool.create({ model, threads: 1, loss: 'hinge' });
    await pool.step({ shape: [2, 3], data: new Float32Array(6).fill(1) }, { shape: [2, 2], data: new Float32Array(4) }, { optimizer: sgd({ learningRate: 0.1 }) });
    await pool.close();
    assert.equal(model.loss, 'meanSquaredError');
    assert.equal(model.optimizer, optimizer);
    model.getWeights().forEach((w, i) => assert.ok(sameBytes(w.dataSync(), before[i]!)));
    const h = await model.fit(tf.ones([2, 3]), tf.zeros([2, 2]), { epochs: 1, verbose: 0 });
    assert.equal(h.history.loss!.length, 1);
  });
});
