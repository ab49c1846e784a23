// A misspelt field in any nested options object is refused by name, in one form
// (`dp.clipnorm: unknown field (expected one of: …)`), before anything changes.
import assert from 'node:assert/strict';
import { adam, GradPool, noiseMultiplierFor, rdpEpsilon, sgd, type NDArray, type OptimizerSpec } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { rejectsExactly, throwsExactly } from '../helpers/assert.js';

/** Every parameter's bytes, to compare before and after a rejected call. */
const bytes = (p: Record<string, NDArray>) => Object.entries(p).map(([k, v]) => [k, Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('hex')]);

describe('unknown fields in nested options', function () {
  let pool: GradPool;
  before(async () => (pool = await GradPool.create({ model: fixture('mlp'), threads: 1, backend: 'cpu' })));
  after(() => pool?.close());
  const B = 4;
  const x = randn(B * 5, 3);
  const y = oneHot(B, 3, 4);

  /** Runs `call`, expects `message`, and checks parameters and `opt`'s state are bit-identical afterwards. */
  async function refusedUnchanged(call: () => Promise<unknown>, message: string, opt: OptimizerSpec): Promise<void> {
    const params = bytes(pool.getParams());
    const state = pool.getOptimizerState(opt);
    await rejectsExactly(call, message, 'ERR_INVALID_OPTION');
    assert.deepEqual(bytes(pool.getParams()), params);
    assert.deepEqual(pool.getOptimizerState(opt), state);
  }

  it('step: dp', async () => {
    const opt = sgd({ learningRate: 0.1 });
    await refusedUnchanged(() => pool.step(x, y, { optimizer: opt, dp: { maxGradNorm: 1, noiseMultiplier: 1, clipnorm: 2 } as never }), 'dp.clipnorm: unknown field (expected one of: maxGradNorm, noiseMultiplier, expectedBatchSize, secureRng, clipping)', opt);
  });

  it('step and fit: an optimizer spec written as an object literal', async () => {
    const opt = { kind: 'adam', learningRate: 0.01, beta_1: 0.8 } as unknown as OptimizerSpec;
    const message = 'optimizer.beta_1: unknown field (expected one of: learningRate, beta1, beta2, epsilon)';
    await refusedUnchanged(() => pool.step(x, y, { optimizer: opt }), message, adam());
    await refusedUnchanged(() => pool.fit({ x, y }, { optimizer: opt }), message, adam());
  });

  it('fit: dp, validation and in-memory data', async () => {
    const opt = sgd({ learningRate: 0.1 });
    await refusedUnchanged(() => pool.fit({ x, y }, { optimizer: opt, dp: { maxGradNorm: 1, noiseMultiplier: 1, clipnorm: 2 } as never }), 'dp.clipnorm: unknown field (expected one of: maxGradNorm, noiseMultiplier, targetEpsilon, sampling, delta, accountant, secureRng, clipping)', opt);
    await refusedUnchanged(() => pool.fit({ x, y }, { optimizer: opt, validation: { x, y, sampleWeight: x } as never }), 'validation.sampleWeight: unknown field (expected one of: x, y)', opt);
    await refusedUnchanged(() => pool.fit({ x, y, shuffle: false } as never, { optimizer: opt }), 'data.shuffle: unknown field (expected one of: x, y)', opt);
  });

  it('predict, perSampleGrads and evaluate options', async () => {
    const opt = sgd({ learningRate: 0.1 });
    await refusedUnchanged(() => pool.predict(x, { cpy: false } as never), 'options.cpy: unknown field (expected one of: copy, signal)', opt);
    await refusedUnchanged(() => pool.perSampleGrads(x, y, { copy: false, view: true } as never), 'options.view: unknown field (expected one of: copy, signal)', opt);
    await refusedUnchanged(() => pool.evaluate(x, y, { metric: ['accuracy'] } as never), 'options.metric: unknown field (expected one of: metrics, signal)', opt);
  });

  it('create: resourceLimits', async () => {
    await rejectsExactly(
      GradPool.create({ model: fixture('mlp'), threads: 1, resourceLimits: { maxOldSpaceSizeMb: 256 } as never }),
      'resourceLimits.maxOldSpaceSizeMb: unknown field (expected one of: maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb)',
      'ERR_INVALID_OPTION',
    );
  });

  it('the privacy accountant: rdpEpsilon and noiseMultiplierFor', () => {
    throwsExactly(
      () => rdpEpsilon({ sampleRate: 0.01, noiseMultiplier: 1, steps: 100, delta: 1e-5, sigma: 2 } as never),
      'rdpEpsilon options.sigma: unknown field (expected one of: sampleRate, noiseMultiplier, steps, orders, delta, conversion)',
      'ERR_INVALID_OPTION',
    );
    throwsExactly(
      () => noiseMultiplierFor({ targetEpsilon: 1, delta: 1e-5, sampleRate: 0.01, epochs: 1, tolerance: 0.1 } as never),
      'noiseMultiplierFor options.tolerance: unknown field (expected one of: targetEpsilon, delta, sampleRate, epochs, steps, epsilonTolerance, orders, conversion, accountant, epsError)',
    );
  });
});
