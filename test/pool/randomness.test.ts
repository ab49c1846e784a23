// GradPool.create({ randomness }): random ops inside the model (dropout) draw per sample, keyed by
// (seed, call, sample, ordinal), so per-sample gradients are the same bits for any thread count, chunk
// size and executor; 'same' shares one draw per call; 'error' refuses the model.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { GradPool, type PerSampleGrads } from '../../src/index.js';
import { rejectsExactly, sameBytes, sameValues } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';
import { fixture, withBackend } from '../helpers/env.js';
import { dropoutOracle } from '../helpers/random-oracle.js';

const model = (op = 'dropout') => `${pathToFileURL(fixture('random')).href}?op=${op}`;
const B = 12;
const x = randn(B * 4, 5);
const y = randn(B * 2, 6);
/** B copies of one sample: any difference between their gradients comes from the draws. */
const xSame = new Float32Array(B * 4).fill(0.7);
const ySame = new Float32Array(B * 2).fill(0.2);

const flat = (g: PerSampleGrads) => [g.losses.data, ...Object.values(g.grads).map((a) => a.data)];
const allBytes = (a: PerSampleGrads, b: PerSampleGrads) => flat(a).every((v, i) => sameBytes(v, flat(b)[i]!));
const allValues = (a: PerSampleGrads, b: PerSampleGrads) => flat(a).every((v, i) => sameValues(v, flat(b)[i]!));
/** Sample i's gradient of every parameter, flattened in layout order. */
const rowValues = (g: PerSampleGrads, i: number) => Object.values(g.grads).flatMap((a) => Array.from(a.data.subarray((i * a.data.length) / B, ((i + 1) * a.data.length) / B)));
const rowOf = (g: PerSampleGrads, i: number) => rowValues(g, i).join(',');
const distinctRows = (g: PerSampleGrads) => new Set(Array.from({ length: B }, (_, i) => rowOf(g, i))).size;

/** Two successive perSampleGrads calls (calls 0 and 1) of a fresh pool. */
async function twoCalls(options: Omit<Parameters<typeof GradPool.create>[0], 'model'>, inputs = [x, y]): Promise<PerSampleGrads[]> {
  const pool = await GradPool.create({ model: model(), seed: 4, ...options });
  try {
    return [await pool.perSampleGrads(inputs[0]!, inputs[1]!), await pool.perSampleGrads(inputs[0]!, inputs[1]!)];
  } finally {
    await pool.close();
  }
}

describe('pool randomness', function () {
  withBackend('wasm'); // the oracle runs on the workers' default backend
  it("'different' (the default): fresh pools give the same bits for threads 1-3 and chunk sizes 1, 3, 32, the same values in the loop", async () => {
    const runs = await Promise.all([
      twoCalls({ threads: 1, chunkSize: 32 }),
      twoCalls({ threads: 2, chunkSize: 3 }),
      twoCalls({ threads: 3, chunkSize: 1 }),
      twoCalls({ threads: 1, chunkSize: 3, executor: 'loop' }),
    ]);
    const [ref] = runs;
    for (const [k, run] of runs.slice(1, 3).entries()) for (const c of [0, 1]) assert.ok(allBytes(run[c]!, ref![c]!), `vectorized run ${k + 1}, call ${c}`);
    // The sign of a zero gradient may differ between the executors (see sameValues), nothing else.
    for (const c of [0, 1]) assert.ok(allValues(runs[3]![c]!, ref![c]!), `loop, call ${c}`);
    assert.ok(!allValues(ref![0]!, ref![1]!), 'two calls should draw different masks');
  });

  it('every sample its own mask, as documented; randomCalls counts the calls and replays them; no tensor leaks', async () => {
    const pool = await GradPool.create({ model: model(), threads: 2, seed: 4, chunkSize: B }); // one chunk: no chunk boundary to tell samples apart
    try {
      assert.equal(pool.randomness, 'different');
      assert.equal(pool.randomCalls, 0, 'creation (the probe) takes no call number');
      const first = await pool.perSampleGrads(xSame, ySame);
      assert.equal(distinctRows(first), B, 'identical samples should get different masks');
      const params = Object.values(pool.getParams()).map((p) => tf.tensor(p.data, p.shape));
      const expected = dropoutOracle(params, xSame, ySame, 4, 0); // pool seed 4, call 0, samples 0..B-1
      params.forEach((t) => t.dispose());
      expected.forEach((e, i) => assert.ok(sameValues(rowValues(first, i), e), `sample ${i} differs from the documented derivation`));
      await pool.predict(x);
      await pool.evaluate(x, y);
      await pool.gradient(x, y);
      assert.equal(pool.randomCalls, 4);
      pool.randomCalls = 0;
      assert.ok(allBytes(await pool.perSampleGrads(xSame, ySame), first), 'call 0 again should replay its masks');
      assert.throws(() => (pool.randomCalls = -1), { message: 'randomCalls: expected a non-negative integer, got -1' });
      // Over many calls, no worker keeps a tensor.
      const tensors = () => pool.stats().workers.map((w) => w.numTensors).join(',');
      const before = tensors();
      for (let i = 0; i < 16; i++) await (i % 2 ? pool.gradient(x, y) : pool.perSampleGrads(x, y, { copy: false }));
      assert.equal(tensors(), before);
    } finally {
      await pool.close();
    }
  });

  it("'same': one mask per call, shared by the batch", async () => {
    const [a, b] = await twoCalls({ threads: 2, chunkSize: 5, randomness: 'same' }, [xSame, ySame]);
    assert.equal(distinctRows(a!), 1);
    assert.ok(!allValues(a!, b!), 'two calls should draw different masks');
  });

  it("'error': refuses a model that draws, at creation, naming the op", async () => {
    await rejectsExactly(
      GradPool.create({ model: model('normal'), threads: 1, randomness: 'error' }),
      "randomness: the model calls tf.randomNormal; random ops are refused with randomness 'error'. Create the pool with randomness 'different' (a draw per sample, the default) or 'same' (one draw per call, shared by the batch) to allow them",
      'ERR_RANDOMNESS',
    );
  });

  it("a vmap called from the model refuses its own draws, whatever its randomness and the pool's executor", async () => {
    const refusal = "randomness: the model calls tf.dropout; random ops are refused with randomness 'error'. Random ops inside a vmap nested in another vmap or called from a pool's model are not supported: draw them outside that vmap (in the outermost vmap, or in the model itself) and pass them in";
    for (const executor of ['loop', 'vectorized'] as const)
      for (const op of ['vmap-error', 'vmap-different']) await rejectsExactly(GradPool.create({ model: model(op), threads: 1, executor }), refusal, 'ERR_RANDOMNESS');
  });

  it('validates the option', async () => {
    await rejectsExactly(GradPool.create({ model: model(), randomness: 'per-sample' as never }), 'randomness: expected one of different, same, error, got "per-sample"', 'ERR_INVALID_OPTION');
  });
});
