// Random ops inside the model, in one thread: both executors under withRandomness (what a worker
// runs a task's chunks in), against an oracle that re-derives every draw from the documented key.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { loadModel, modelHref } from '../../../src/model/load.js';
import type { ModelDef } from '../../../src/model/define.js';
import type { RandomSpec } from '../../../src/shared/protocol.js';
import { LoopExecutor } from '../../../workers/executors/loop.js';
import type { ChunkJob, Executor } from '../../../workers/executors/types.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { withRandomness } from '../../../src/shared/random/scope.js';
import { sameValues, throwsExactly } from '../../helpers/assert.js';
import { fixture, withBackend } from '../../helpers/env.js';
import { dropoutOracle } from '../../helpers/random-oracle.js';
import { makeJob, run, type Results } from '../../workers/vectorized/models.js';
import { liveCounts } from '../batching/helpers.js';

const random = (op: string): Promise<ModelDef> => loadModel(`${modelHref(fixture('random'))}?op=${op}`);

/** A chunk of `n` copies of one input sample (so any difference between samples comes from the draws). */
function identicalJob(model: ModelDef, n: number, first = 0): ChunkJob {
  const job = makeJob(model, n, 3);
  const x = new Float32Array(n * model.inputSize);
  for (let i = 0; i < n; i++) x.set(job.x.subarray(0, model.inputSize), i * model.inputSize);
  const y = new Float32Array(n * model.targetSize);
  for (let i = 0; i < n; i++) y.set(job.y!.subarray(0, model.targetSize), i * model.targetSize);
  return { ...job, x, y, first };
}

/** Sample i's slice of every parameter's per-sample gradient, flattened. */
function row(r: Results, i: number): number[] {
  return r.grads.flatMap((g) => Array.from(g.subarray((i * g.length) / r.losses.length, ((i + 1) * g.length) / r.losses.length)));
}

const everything = (r: Results) => r.grads.flatMap((g) => Array.from(g));
const distinctRows = (r: Results) => new Set(Array.from(r.losses, (_, i) => row(r, i).join(','))).size;

const spec = (mode: RandomSpec['mode'], call = 5): RandomSpec => ({ mode, seed: 11, call });
const runIn = (s: RandomSpec, ex: Executor, job: ChunkJob) => withRandomness(s, () => run(ex, job));

function assertSame(a: Results, b: Results, what: string): void {
  assert.ok(sameValues(a.losses, b.losses), `${what}: losses differ`);
  a.grads.forEach((g, p) => assert.ok(sameValues(g, b.grads[p]!), `${what}: gradient ${p} differs`));
}

describe('randomness (src/shared/random)', () => {
  withBackend('wasm');
  const loop = new LoopExecutor();
  const vectorized = createVectorizedExecutor('wasm', false);
  const jobs: ChunkJob[] = [];
  const job = (m: ModelDef, n: number, first = 0) => {
    const j = identicalJob(m, n, first);
    jobs.push(j);
    return j;
  };
  after(() => jobs.forEach((j) => j.params.forEach((t) => t.dispose())));

  for (const op of ['dropout', 'layers-dropout', 'uniform', 'normal', 'truncated', 'gamma', 'uniform-int', 'twice']) {
    it(`${op}: 'different' draws per sample, the same in the loop and vectorized executors`, async () => {
      const j = job(await random(op), 6, 40);
      const v = runIn(spec('different'), vectorized, j);
      assertSame(v, runIn(spec('different'), loop, j), op);
      assert.equal(distinctRows(v), 6, 'every sample of identical inputs should get its own draw');
      assert.ok(!sameValues(everything(runIn(spec('different', 6), vectorized, j)), everything(v)), 'another call should draw anew');
    });
  }

  it("a sample's draw depends on its index in the batch, not on its chunk", async () => {
    const model = await random('twice');
    const whole = runIn(spec('different'), vectorized, job(model, 6, 0));
    const tail = runIn(spec('different'), vectorized, job(model, 2, 4)); // samples 4 and 5 as a chunk of their own
    for (const i of [0, 1]) assert.ok(sameValues(row(tail, i), row(whole, 4 + i)), `sample ${4 + i}`);
  });

  it('is what the documented derivation gives: tf.dropout seeded by Philox(sample, ordinal, call; seed), per-sample tf.grads', async () => {
    const model = await random('dropout');
    const j = job(model, 5, 17);
    const got = runIn(spec('different'), vectorized, j);
    dropoutOracle(j.params, j.x, j.y!, 11, 5, j.first).forEach((expected, i) => assert.ok(sameValues(row(got, i), expected), `sample ${j.first + i}`));
  });

  it("'same': one draw per call, shared by every sample, in both executors", async () => {
    const j = job(await random('dropout'), 4);
    const v = runIn(spec('same'), vectorized, j);
    assertSame(v, runIn(spec('same'), loop, j), 'same');
    assert.equal(distinctRows(v), 1);
    assert.ok(!sameValues(everything(runIn(spec('same', 6), vectorized, j)), everything(v)), 'another call should draw anew');
  });

  it("an explicit seed keeps tfjs's meaning: one fixed draw for every sample and call", async () => {
    const j = job(await random('seeded'), 4);
    const v = runIn(spec('different'), vectorized, j);
    assert.equal(distinctRows(v), 1);
    assertSame(runIn(spec('different', 9), loop, j), v, 'seeded, another call, loop');
    assertSame(run(loop, j), v, 'seeded, outside gradpool');
  });

  const refusals = { dropout: 'tf.dropout', 'layers-dropout': 'tf.dropout', uniform: 'tf.randomUniform', normal: 'tf.randomNormal', truncated: 'tf.truncatedNormal', gamma: 'tf.randomGamma', 'uniform-int': 'tf.randomUniformInt', seeded: 'tf.dropout' };
  for (const [op, name] of Object.entries(refusals)) {
    it(`'error' refuses ${op}, naming ${name}, through either executor`, async () => {
      const j = job(await random(op), 3);
      const message = `randomness: the model calls ${name}; random ops are refused with randomness 'error'. Create the pool with randomness 'different' (a draw per sample, the default) or 'same' (one draw per call, shared by the batch) to allow them`;
      for (const ex of [vectorized, loop]) throwsExactly(() => runIn(spec('error'), ex, j), message, 'ERR_RANDOMNESS');
    });
  }

  it("'error' runs a model without random ops as usual", async () => {
    const j = job(await random('none'), 3);
    assertSame(runIn(spec('error'), vectorized, j), run(loop, j), 'none');
  });

  it('restores Math.random, Function.prototype.apply and the engine after a model that throws, and hooks nothing outside', async () => {
    const model = await random('dropout');
    const throwing = { ...model, forward: (p: Record<string, tf.Tensor>, x: tf.Tensor) => (tf.dropout(model.forward(p, x), 0.5), tf.randomNormal([2]), assert.fail('model bug')) } as unknown as ModelDef;
    const j = { ...job(model, 3), model: throwing };
    const [mathRandom, apply, engine] = [Math.random, Function.prototype.apply, tf.engine()];
    for (const mode of ['different', 'same', 'error'] as const)
      for (const ex of [vectorized, loop]) {
        assert.throws(() => runIn(spec(mode), ex, j));
        assert.equal(Math.random, mathRandom);
        assert.equal(Function.prototype.apply, apply);
        assert.ok(!Object.prototype.hasOwnProperty.call(engine, 'startScope'), `${mode}: startScope still wrapped`);
        assert.equal(engine.state.scopeStack.length, 0, `${mode}: scopes left open`);
      }
  });

  it('leaks no tensors over many chunks (engine, inner and vmap data ids)', async () => {
    const j = job(await random('twice'), 8);
    const counts = () => ({ ...liveCounts('wasm'), numTensors: tf.memory().numTensors });
    runIn(spec('different'), vectorized, j);
    const before = counts();
    for (let call = 0; call < 100; call++) {
      runIn(spec('different', call), vectorized, j);
      if (call % 10 === 0) runIn(spec('same', call), loop, j);
    }
    assert.deepEqual(counts(), before);
  });
});
