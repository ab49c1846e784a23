// Priming at pool creation (workers/prime.ts): the executor runs forward, per-sample gradients and the
// gradient sum over a small chunk, a bounded number of times, with no tensor left behind, and skips
// gradients for a model tfjs cannot differentiate.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import type { RuntimeSpec } from '../../src/shared/protocol.js';
import { LoopExecutor } from '../../workers/executors/loop.js';
import type { ChunkJob, Executor } from '../../workers/executors/types.js';
import { createVectorizedExecutor } from '../../workers/executors/vectorized/index.js';
import { primeExecutor } from '../../workers/prime.js';
import { fixtureModel, withBackend } from '../helpers/env.js';

const runtime: RuntimeSpec = { model: 'm', backend: 'wasm', executor: 'vectorized', randomness: 'different', seed: 0, replay: true };

/** Counts what priming asks of an executor (delegating to a real one). */
function counting(inner: Executor) {
  const calls = { forward: 0, lossAndGrads: 0, sumGrads: 0, n: new Set<number>() };
  const ex: Executor = {
    name: inner.name,
    forward: (job: ChunkJob, out: Float32Array) => (calls.forward++, calls.n.add(job.n), inner.forward(job, out)),
    losses: (job, l, p) => inner.losses(job, l, p),
    lossAndGrads: (job, l, g) => (calls.lossAndGrads++, inner.lossAndGrads(job, l, g)),
    ...(inner.sumGrads ? { sumGrads: (job: ChunkJob, l: Float32Array, nm: Float32Array, row: Float64Array, clip?: number) => (calls.sumGrads++, inner.sumGrads!(job, l, nm, row, clip)) } : {}),
  };
  return { ex, calls };
}

describe('workers: priming the executor at pool creation', () => {
  withBackend('wasm');

  it('runs forward, per-sample gradients and the sum on a small chunk, bounded, leaving no tensor behind', async () => {
    const model = await fixtureModel('mlp');
    for (const inner of [createVectorizedExecutor('wasm'), new LoopExecutor()] as Executor[]) {
      const { ex, calls } = counting(inner);
      const before = tf.memory().numTensors;
      const rounds = primeExecutor(model, ex, runtime, true, 3);
      assert.equal(tf.memory().numTensors, before, `${inner.name}: tensors`);
      assert.ok(rounds >= 1 && rounds <= 40, `${inner.name}: ${rounds} rounds`);
      assert.equal(calls.forward, rounds);
      // Without a sumGrads of its own (the loop), the sum is taken from lossAndGrads: twice per round.
      assert.deepEqual([calls.lossAndGrads, calls.sumGrads], inner.sumGrads ? [rounds, rounds] : [2 * rounds, 0]);
      assert.deepEqual([...calls.n], [8]);
    }
  });

  it('skips gradients for a model tfjs cannot differentiate', async () => {
    const { ex, calls } = counting(createVectorizedExecutor('wasm'));
    const rounds = primeExecutor(await fixtureModel('thresholded'), ex, runtime, false, 1);
    assert.ok(rounds >= 1);
    assert.deepEqual([calls.forward, calls.lossAndGrads, calls.sumGrads], [rounds, 0, 0]);
  });
});
