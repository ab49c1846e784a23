// Exact messages for the remaining arguments: optimizer state, zero-copy buffers, evaluate metrics,
// step's update placement and fit's validation data; nothing changes after a rejected call.
import assert from 'node:assert/strict';
import { adam, GradPool, sgd } from '../../src/index.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';

describe('pool argument validation', function () {
  let pool: GradPool;
  before(async () => (pool = await GradPool.create({ model: fixture('mlp'), threads: 1, backend: 'cpu' })));
  after(() => pool?.close());
  const P = 39; // 5·4 + 4 + 4·3 + 3

  it('setOptimizerState checks every field and stages nothing on failure', () => {
    const opt = adam();
    const good = pool.getOptimizerState(opt);
    assert.deepEqual(good.step, 0);
    assert.throws(() => pool.setOptimizerState(opt, { step: -1, slots: good.slots }), { message: 'state.step: expected a non-negative integer, got -1' });
    assert.throws(() => pool.setOptimizerState(opt, { step: 1, slots: { ...good.slots, w: new Float32Array(P) } }), { message: "state.slots.w: expected one of this optimizer's slots (m, v), got an unknown slot" });
    assert.throws(() => pool.setOptimizerState(opt, { step: 1, slots: { m: new Float32Array(P) } as never }), { message: `state.slots.v: expected a Float32Array of length ${P}, got undefined` });
    assert.throws(() => pool.setOptimizerState(opt, { step: 1, slots: { m: new Float32Array(3), v: new Float32Array(P) } }), { message: `state.slots.m: expected a Float32Array of length ${P}, got length 3` });
    assert.throws(() => pool.setOptimizerState(opt, { step: 1, slots: { m: new Int32Array(P) as never, v: new Float32Array(P) } }), { message: `state.slots.m: expected a Float32Array of length ${P}, got an Int32Array` });
    const bad = new Float32Array(P);
    bad[7] = Infinity;
    assert.throws(() => pool.setOptimizerState(opt, { step: 1, slots: { m: bad, v: new Float32Array(P) } }), { code: 'ERR_NON_FINITE', message: 'state.slots.m: expected finite numbers, got a non-finite value at flat index 7' });
    assert.deepEqual(pool.getOptimizerState(opt), good);
  });

  it('inputBuffer and targetBuffer name a bad batch size', () => {
    assert.throws(() => pool.inputBuffer(-1), { message: 'batch: expected a non-negative integer, got -1' });
    assert.throws(() => pool.targetBuffer(1.5), { message: 'batch: expected a non-negative integer, got 1.5' });
  });

  it('evaluate names an unknown metric', async () => {
    await assert.rejects(pool.evaluate(randn(10, 1), oneHot(2, 3, 2), { metrics: ['f1' as never] }), { message: 'metrics[0]: expected one of accuracy, got "f1"' });
  });

  it('fit names its validation data, and refuses it before the first step', async () => {
    const opt = sgd({ learningRate: 0.1 });
    const before = pool.getParams();
    const x = randn(8 * 5, 5);
    const y = oneHot(8, 3, 6);
    await assert.rejects(pool.fit({ x, y }, { optimizer: opt, validation: { x: { shape: [4, 4], data: new Float32Array(16) }, y: oneHot(4, 3, 7) } }), {
      code: 'ERR_SHAPE',
      message: 'validation.x: expected shape [B,5], got [4,4]',
    });
    await assert.rejects(pool.fit({ x, y }, { optimizer: opt, validation: { x: randn(4 * 5, 8), y: oneHot(3, 3, 7) } }), {
      code: 'ERR_BATCH_MISMATCH',
      message: 'validation.y: expected batch size 4 (from validation.x), got 3',
    });
    assert.deepEqual(pool.getParams(), before);
    assert.equal(pool.getOptimizerState(opt).step, 0);
  });

  it("step names a bad update placement and a bad expected batch size, changing nothing", async () => {
    const before = pool.getParams();
    const x = randn(4 * 5, 3);
    const y = oneHot(4, 3, 4);
    await assert.rejects(pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), update: 'gpu' as never }), { message: `update: expected 'auto', 'coordinator' or 'workers', got "gpu"` });
    await assert.rejects(pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }), dp: { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 0 } }), { message: 'dp.expectedBatchSize: expected a positive number, got 0' });
    assert.deepEqual(pool.getParams(), before);
  });
});
