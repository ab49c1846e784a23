/** What a tfjs-layers pool sends its workers: one SharedArrayBuffer and a short key, never the topology by value. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { packArtifact, unpackArtifact } from '../../../src/model/layers/artifact.js';
import { openLayersModel } from '../../../src/model/layers/source.js';
import { withBackend } from '../../helpers/env.js';
import { oneLayer, warningsDuring } from './helpers.js';

describe('tfjs-layers: the artifact', function () {
  withBackend('cpu');

  it('packs a header and weight bytes into one SharedArrayBuffer and back', () => {
    const weights = Float32Array.from([1, -2, 3.5]).buffer;
    const header = { modelTopology: { class_name: 'Sequential' }, weightSpecs: [{ name: 'w', shape: [3], dtype: 'float32' as const }], loss: { name: 'hinge' } };
    const sab = packArtifact(header, weights);
    assert.ok(sab instanceof SharedArrayBuffer);
    const back = unpackArtifact(sab);
    assert.deepEqual(back.header, header);
    assert.deepEqual(new Float32Array(back.weights), new Float32Array(weights));
  });

  it('a model object becomes a shared buffer plus a short content key; equal models share the key, others do not', async () => {
    const a = oneLayer(tf.layers.dense({ inputShape: [3], units: 2, name: 'd' }), 1);
    const b = oneLayer(tf.layers.dense({ inputShape: [3], units: 2, name: 'd' }), 2);
    const [sa, sa2, sb, sLoss] = [await openLayersModel(a, 'hinge'), await openLayersModel(a, 'hinge'), await openLayersModel(b, 'hinge'), await openLayersModel(a, 'poisson')];
    assert.match(sa.key, /^layers:[0-9a-f]{24}$/);
    assert.ok(sa.artifact instanceof SharedArrayBuffer);
    assert.equal(sa.key, sa2.key);
    assert.notEqual(sa.key, sb.key);
    assert.notEqual(sa.key, sLoss.key);
    assert.deepEqual(unpackArtifact(sa.artifact).header.loss, { name: 'hinge' });
    [sa, sa2, sb, sLoss].forEach((s) => s.model.dispose());
    [a, b].forEach((m) => m.dispose());
  });

  it('a model with BatchNormalization warns that it runs in inference mode', async () => {
    const m = oneLayer(tf.layers.batchNormalization({ inputShape: [4] }));
    const { value, warnings } = await warningsDuring(() => openLayersModel(m, 'meanSquaredError'));
    assert.deepEqual(warnings, [
      "model: BatchNormalization layers run in inference mode (their moving statistics, fixed) for gradients and training too: per-sample gradients and batch statistics don't mix (Opacus makes the same choice); their gamma and beta still train",
    ]);
    value.model.dispose();
    m.dispose();
  });
});
