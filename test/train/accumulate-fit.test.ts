/**
 * fit's physicalBatchSize against fit without it: the same ε (the logical batch's sample rate), the
 * same history and bit-identical weights when it is a multiple of the chunk size (Poisson DP, shuffled
 * and iterable data, a dropout model), float-precision equality otherwise; shared memory holds one
 * physical batch's inputs; errors read as a step's; ensembles and bad values are refused by name.
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { GradPool, momentum, sgd, type FitOptions, type History } from '../../src/index.js';
import { assertClose, rejectsExactly, sameBytes } from '../helpers/assert.js';
import { randn, seedBatch } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';

const DROPOUT = `${pathToFileURL(fixture('random')).href}?op=dropout`;
const flat = (p: GradPool) => Float32Array.from(Object.values(p.getParams()).flatMap((v) => Array.from(v.data)));
/** Bytes of a shared region of the pool (test-only look inside: the arena is not public). */
const regionBytes = (p: GradPool, name: string) => (p as unknown as { core: { arena: { handles(): Record<string, { sab: SharedArrayBuffer }> } } }).core.arena.handles()[name]!.sab.byteLength;

const N = 200;
const x = randn(N * 4, 41);
const y = randn(N * 2, 42);

/** Two fresh pools of the same seed: one fits without physicalBatchSize, one with it. */
async function both(o: () => FitOptions, physicalBatchSize: number, data: () => Parameters<GradPool['fit']>[0] = () => ({ x, y })): Promise<{ want: History; got: History; a: Float32Array; b: Float32Array }> {
  const [pa, pb] = await Promise.all([0, 1].map(() => GradPool.create({ model: DROPOUT, threads: 2, seed: 7 })));
  try {
    const want = await pa!.fit(data(), o());
    const got = await pb!.fit(data(), { ...o(), physicalBatchSize });
    assert.equal(pb!.randomCalls, pa!.randomCalls, 'one call number per logical batch');
    return { want, got, a: flat(pa!), b: flat(pb!) };
  } finally {
    await Promise.all([pa!.close(), pb!.close()]);
  }
}

describe('train: fit with physicalBatchSize (virtual batches)', function () {
  it('Poisson DP-SGD: the same ε, history and bits when physicalBatchSize is a multiple of the chunk size (32)', async () => {
    const o = (): FitOptions => ({ optimizer: momentum({ learningRate: 0.1, momentum: 0.9 }), epochs: 2, batchSize: 50, dp: { maxGradNorm: 0.5, noiseMultiplier: 1.1, delta: 1e-3 } });
    const { want, got, a, b } = await both(o, 32);
    assert.ok(want.epsilon! > 0);
    assert.equal(got.epsilon, want.epsilon, 'ε is the logical batch’s: the sample rate is unchanged');
    assert.deepEqual(got, want);
    assert.ok(sameBytes(b, a), 'weights differ');
  });

  it('Poisson DP-SGD with physical batches of 20 (not a multiple of 32): the same ε, weights equal to float precision', async () => {
    const o = (): FitOptions => ({ optimizer: sgd({ learningRate: 0.2 }), epochs: 1, batchSize: 50, dp: { maxGradNorm: 0.5, noiseMultiplier: 1.1, delta: 1e-3 } });
    const { want, got, a, b } = await both(o, 20);
    assert.equal(got.epsilon, want.epsilon);
    assert.equal(got.steps, want.steps);
    assertClose(got.history.loss!, want.history.loss!, { rtol: 1e-6 }, 'epoch loss');
    assertClose(b, a, { rtol: 1e-5, atol: 1e-6 }, 'weights');
  });

  it('shuffled batches without dp, and batches from an async iterable: bit-identical', async () => {
    const shuffled = await both(() => ({ optimizer: sgd({ learningRate: 0.1 }), epochs: 2, batchSize: 80 }), 32);
    assert.deepEqual(shuffled.got, shuffled.want);
    assert.ok(sameBytes(shuffled.b, shuffled.a));
    const iterable = () => ({
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < N; i += 70) yield { x: x.subarray(i * 4, Math.min(N, i + 70) * 4), y: y.subarray(i * 2, Math.min(N, i + 70) * 2) };
      },
    });
    const given = await both(() => ({ optimizer: sgd({ learningRate: 0.1 }), epochs: 1 }), 32, iterable);
    assert.deepEqual(given.got, given.want);
    assert.ok(sameBytes(given.b, given.a));
  });

  it('shared memory holds one physical batch of inputs and its chunks’ partial rows, not the logical batch’s', async () => {
    const [pa, pb] = await Promise.all([0, 1].map(() => GradPool.create({ model: DROPOUT, threads: 2, seed: 7, chunkSize: 8 })));
    try {
      const o = { optimizer: sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 64 };
      await pa!.fit({ x, y }, o);
      await pb!.fit({ x, y }, { ...o, physicalBatchSize: 16 });
      const { inputSize, targetSize, layout } = pa!.model;
      assert.equal(regionBytes(pa!, 'x'), 64 * inputSize * 4);
      assert.equal(regionBytes(pb!, 'x'), 16 * inputSize * 4);
      assert.equal(regionBytes(pb!, 'y'), 16 * targetSize * 4);
      assert.equal(regionBytes(pa!, 'partial'), (64 / 8) * layout.total * 8);
      assert.equal(regionBytes(pb!, 'partial'), (16 / 8) * layout.total * 8);
      assert.ok(pb!.stats().sharedBytes < pa!.stats().sharedBytes);
    } finally {
      await Promise.all([pa!.close(), pb!.close()]);
    }
  });

  it('a failing sample fails fit as without physicalBatchSize (its dataset row named); the pool is left with no open accumulator', async () => {
    const pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop' });
    try {
      const xs = seedBatch(16, Math.sin);
      xs[6 * 6] = 666; // dataset row 6: the faulty fixture throws on it
      const ys = new Float32Array(16);
      const o = { optimizer: sgd({ learningRate: 0.1 }), batchSize: 8, shuffle: false };
      const message = 'fit: step 1 (epoch 0, batch 0): dataset row 6 (sample 6 of the batch): bad sample; that step was not applied; no earlier step of this fit was applied: parameters and optimizer state are as before this fit';
      await rejectsExactly(pool.fit({ x: xs, y: ys }, o), message, 'ERR_SAMPLE_FAILED');
      await rejectsExactly(pool.fit({ x: xs, y: ys }, { ...o, physicalBatchSize: 4 }), message, 'ERR_SAMPLE_FAILED');
      await pool.step(seedBatch(8, Math.cos), new Float32Array(8), { optimizer: sgd({ learningRate: 0.1 }) });
      await rejectsExactly(pool.fit({ x: xs, y: ys }, { ...o, physicalBatchSize: 0 }), 'physicalBatchSize: expected a positive integer, got 0');
    } finally {
      await pool.close();
    }
  });

  it('an ensemble refuses physicalBatchSize naming it, before any step', async () => {
    const ens = await GradPool.create({ model: fixture('mlp'), ensemble: 2, threads: 1 });
    try {
      const before = ens.getParams();
      await rejectsExactly(ens.fit({ x: randn(8 * 5, 1), y: randn(8 * 3, 2) }, { optimizer: sgd({ learningRate: 0.1 }), physicalBatchSize: 4 }), 'physicalBatchSize: expected a single-model pool (an ensemble runs each batch in one call), got a pool without accumulate (an ensemble)');
      assert.deepEqual(ens.getParams(), before);
    } finally {
      await ens.close();
    }
  });
});
