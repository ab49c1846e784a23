/**
 * Every tfjs-layers layer with weights and a gradient, alone in a small model, through the pool on the
 * default wasm backend with executor 'auto', against the per-sample tf.variableGrads loop over the
 * original LayersModel (test/model/layers/helpers.ts). Which executor 'auto' picked is asserted, so a
 * layer that only runs through the loop fallback is recorded here with the reason, not hidden.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradPool } from '../../../src/index.js';
import { assertClose, rejectsExactly } from '../../helpers/assert.js';
import { randn, uniform } from '../../helpers/data.js';
import { withBackend } from '../../helpers/env.js';
import { layersOracle, oneLayer, warningsDuring } from './helpers.js';

interface Case {
  name: string;
  layer: () => tf.layers.Layer;
  /** Per-sample input values (default: seeded normal). */
  x?: (n: number) => Float32Array;
  /** The oracle's training flag: BatchNormalization runs in inference mode in gradpool. */
  training?: boolean;
  /** What 'auto' picks; 'loop' entries carry the reason from the warning. */
  executor?: 'vectorized' | 'loop';
  why?: RegExp;
  /** `Kernel in LayerClass`: kernels with no batching rule for the layer's case, run per sample inside the vectorized executor (warned). */
  perSampleKernels?: string[];
}

const B = 5;
const CASES: Case[] = [
  { name: 'dense', layer: () => tf.layers.dense({ inputShape: [5], units: 3, activation: 'tanh' }) },
  { name: 'conv1d', layer: () => tf.layers.conv1d({ inputShape: [8, 3], filters: 4, kernelSize: 3, activation: 'relu' }) },
  { name: 'conv2d', layer: () => tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, padding: 'same' }) },
  { name: 'depthwiseConv2d', layer: () => tf.layers.depthwiseConv2d({ inputShape: [6, 6, 2], kernelSize: 3, depthMultiplier: 2 }) },
  { name: 'separableConv2d', layer: () => tf.layers.separableConv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3 }) },
  { name: 'conv2dTranspose', layer: () => tf.layers.conv2dTranspose({ inputShape: [4, 4, 2], filters: 3, kernelSize: 3, strides: 2 }) },
  { name: 'embedding', layer: () => tf.layers.embedding({ inputShape: [4], inputDim: 7, outputDim: 3 }), x: (n) => Float32Array.from(uniform(n, 9), (v) => Math.floor((v + 1) * 3.5)) },
  { name: 'simpleRNN', layer: () => tf.layers.simpleRNN({ inputShape: [4, 3], units: 5 }) },
  { name: 'LSTM', layer: () => tf.layers.lstm({ inputShape: [4, 3], units: 5 }) },
  { name: 'GRU', layer: () => tf.layers.gru({ inputShape: [4, 3], units: 5 }) },
  // LayerNormalization normalises with per-sample statistics (FusedBatchNorm with batched mean and variance).
  { name: 'layerNormalization', layer: () => tf.layers.layerNormalization({ inputShape: [6] }) },
  { name: 'batchNormalization (inference mode)', layer: () => tf.layers.batchNormalization({ inputShape: [6] }), training: false },
  { name: 'prelu', layer: () => tf.layers.prelu({ inputShape: [6] }) },
];

describe('tfjs-layers: each layer alone, per-sample gradients against the per-sample tf.variableGrads loop (wasm, executor auto)', function () {
  this.timeout(120_000);
  withBackend('wasm');

  for (const c of CASES) {
    const kernels = c.perSampleKernels ? `, per sample: ${c.perSampleKernels.join(', ')}` : '';
    it(`${c.name}: ${c.executor ?? 'vectorized'}${c.why ? ` (${c.why.source})` : ''}${kernels}, gradients to 1e-5`, async () => {
      const model = oneLayer(c.layer(), 7);
      model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      const inShape = model.inputs[0]!.shape.slice(1) as number[];
      const outShape = model.outputs[0]!.shape.slice(1) as number[];
      const inSize = inShape.reduce((a, b) => a * b, 1);
      const outSize = outShape.reduce((a, b) => a * b, 1);
      const x = c.x ? c.x(B * inSize) : randn(B * inSize, 3);
      const y = randn(B * outSize, 4);
      const { value: pool, warnings } = await warningsDuring(() => GradPool.create({ model, threads: 1 }));
      try {
        // A kernel's per-sample fallback names the layer it ran in: `… kernel 'K' with … in layer LayerNormalization (…); …`.
        const perSample = warnings.flatMap((w) => /no batching rule for kernel '(\w+)'.* in layer (\w+) \(/.exec(w)?.slice(1).join(' in ') ?? []);
        assert.deepEqual(perSample, c.perSampleKernels ?? [], warnings.join('\n'));
        const fallback = warnings.filter((w) => w.startsWith("executor 'auto'"));
        assert.equal(pool.executor, c.executor ?? 'vectorized', fallback.join('\n'));
        if (c.why) assert.match(fallback[0] ?? '', c.why);
        else assert.deepEqual(fallback, []);
        const got = await pool.perSampleGrads({ shape: [B, ...inShape], data: x }, { shape: [B, ...outShape], data: y });
        const want = layersOracle(model, tf.metrics.meanSquaredError, x, y, B, outShape, c.training ?? true);
        assertClose(got.losses.data, want.losses, { rtol: 1e-5, atol: 1e-7 }, 'losses');
        model.trainableWeights.forEach((w, k) => assertClose(got.grads[w.originalName]!.data, want.grads[k]!, { rtol: 1e-5, atol: 1e-7, floor: 1e-3 }, w.originalName));
      } finally {
        await pool.close();
        model.dispose();
      }
    });
  }
});

describe('tfjs-layers: a layer that cannot run vectorized is named', function () {
  this.timeout(60_000);
  withBackend('wasm');
  // CategoryEncoding reads its input's values (a range check) — impossible while a whole chunk runs at once.
  const model = () =>
    tf.sequential({ layers: [tf.layers.categoryEncoding({ numTokens: 4, outputMode: 'multiHot', inputShape: [3], name: 'tokens' }), tf.layers.dense({ units: 2, name: 'head' })] });
  const why = 'layer CategoryEncoding (tokens): vectorized: the model read the values of a per-sample tensor (dataSync/arraySync/print); that is not possible while a whole chunk runs at once';

  it("'auto': the fallback warning names the layer's class and name", async () => {
    const { value: pool, warnings } = await warningsDuring(() => GradPool.create({ model: model(), loss: 'meanSquaredError', threads: 1 }));
    await pool.close();
    assert.equal(pool.executor, 'loop');
    assert.deepEqual(warnings.filter((w) => w.startsWith("executor 'auto'")), [`executor 'auto': the model cannot run vectorized (${why}); using the per-sample loop`]);
  });

  it("'vectorized': the error names them", async () => {
    await rejectsExactly(
      GradPool.create({ model: model(), loss: 'meanSquaredError', threads: 1, executor: 'vectorized' }),
      `executor: expected a model that runs under the batching rules ('auto' falls back to the loop), got 'vectorized', but it fails: ${why}`,
      'ERR_INVALID_OPTION',
    );
  });
});
