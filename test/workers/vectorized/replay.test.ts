import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { defineModel, type ModelDef } from '../../../src/model/define.js';
import { createVectorizedExecutor, type VectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import { withoutRules } from '../../../src/shared/batching/index.js';
import { corruptTraces, forgetTraces, setReplay, traceKernels, traceStates } from '../../../workers/executors/vectorized/replay.js';
import type { ChunkJob } from '../../../workers/executors/types.js';
import { layersModelDef } from '../../../src/model/layers/adapter.js';
import { withTraining } from '../../../src/model/mode.js';
import { rng } from '../../helpers/data.js';
import { captureWarnings, liveCounts, useBackend } from '../../shared/batching/helpers.js';
import { convModel, makeJob, mlpModel, run, seedModel } from './models.js';

/** Embedding lookup: x holds 3 indices into a [10, 4] table (gather on a parameter), then a dense layer. */
const embeddingModel = defineModel({
  params: { E: { shape: [10, 4] }, W: { shape: [12, 1] } },
  inputShape: [3],
  targetShape: [1],
  forward: ({ E, W }, x) => tf.reshape(tf.matMul(tf.reshape(tf.gather(E, tf.cast(x, 'int32')), [1, 12]), W), [1]),
  loss: (pred, y) => tf.mean(tf.squaredDifference(pred, y)),
}) as unknown as ModelDef;

const mseOf = (forward: ModelDef['forward']) => defineModel({ ...seedModel, forward }) as unknown as ModelDef;
const dropoutModel = mseOf((p, x) => seedModel.forward(p, tf.dropout(x, 0.5)));
const readingModel = mseOf((p, x) => (p.b!.dataSync()[0]! > 100 ? tf.neg(seedModel.forward(p, x)) : seedModel.forward(p, x)));

type Kind = 'lossAndGrads' | 'sum' | 'sumClipped' | 'forward';
const KINDS: Kind[] = ['lossAndGrads', 'sum', 'sumClipped', 'forward'];

/** A job whose x is valid for `model` (indices for the embedding model); params and data vary with `seed`. */
function jobFor(model: ModelDef, n: number, seed: number): ChunkJob {
  const job = makeJob(model, n, seed);
  if (model === embeddingModel) {
    const r = rng(seed);
    job.x = Float32Array.from(job.x, () => Math.floor(r() * 10));
  }
  return job;
}

/** A tfjs-layers model (its LayerVariables' values are swapped for the params during forward). */
function layersModel(batchNorm: boolean): ModelDef {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: 8, inputShape: [5], activation: 'relu' }));
  if (batchNorm) m.add(tf.layers.batchNormalization());
  m.add(tf.layers.dense({ units: 10 }));
  return layersModelDef(m, { name: 'categoricalCrossentropy' }).def;
}

/** Every output of one op, as bytes (sumGrads: losses, norms, the sum row and the returned index). */
function runOp(ex: VectorizedExecutor, job: ChunkJob, kind: Kind): Buffer[] {
  const buf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (kind === 'forward') {
    const out = new Float32Array(job.n * job.model.targetSize);
    ex.forward(job, out);
    return [buf(out)];
  }
  if (kind === 'lossAndGrads') {
    const r = run(ex, job);
    return [r.losses, ...r.grads].map(buf);
  }
  const losses = new Float32Array(job.n);
  const norms = new Float32Array(job.n);
  const row = new Float64Array(job.model.layout.sizes.reduce((a, b) => a + b, 0));
  const first = ex.sumGrads(job, losses, norms, row, kind === 'sumClipped' ? 0.5 : undefined);
  return [buf(losses), buf(norms), buf(row), buf(Int32Array.of(first))];
}

/** Runs `kind` on `job` with replay on and off; asserts byte-identical outputs. */
function assertSame(ex: VectorizedExecutor, job: ChunkJob, kind: Kind, label: string): void {
  setReplay(false);
  const want = runOp(ex, job, kind);
  setReplay(true);
  const got = runOp(ex, job, kind);
  got.forEach((g, i) => assert.ok(g.equals(want[i]!), `${label}: output ${i} differs from the normal path`));
}

const stateOf = (model: ModelDef, kind: Kind, n: number) => Object.entries(traceStates(model)).find(([k]) => k.startsWith(`${kind}|${n}|`))?.[1];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`vectorized executor: trace once, replay (${backend})`, () => {
    let warnings: string[] = [];
    before(() => useBackend(backend));
    beforeEach(() => (warnings = captureWarnings()));
    afterEach(() => setReplay(true));

    const models: [string, ModelDef][] = [
      ['seed', seedModel],
      ['mlp', mlpModel('relu', 'losses', 16)],
      ['conv', convModel(6, 'max', 'valid', 2)],
      ['conv, 4 filters (fused pool and relu gradients on wasm)', convModel(6, 'max', 'valid', 4)],
      ['embedding', embeddingModel],
    ];
    for (const [name, model] of models)
      it(`${name}: replays are byte-identical to the normal path (new x, y and params every chunk; new n is a new key)`, () => {
        const ex = createVectorizedExecutor(backend);
        forgetTraces(model);
        for (const kind of KINDS)
          for (const n of [8, 5])
            for (let step = 0; step < 4; step++) {
              const job = jobFor(model, n, 10 * step + n);
              try {
                assertSame(ex, job, kind, `${name} ${kind} n=${n} step ${step}`);
              } finally {
                job.params.forEach((t) => t.dispose());
              }
              if (step >= 1) assert.equal(stateOf(model, kind, n), 'verified', `${name} ${kind} n=${n}`);
            }
        assert.deepEqual(warnings, []);
      });

    it(`relu's gradient, Multiply(dy, Step(x)), replays as one fused kernel ${backend === 'wasm' ? 'on wasm' : 'only where the backend has it (not cpu)'}, byte-identically`, () => {
      const ex = createVectorizedExecutor(backend);
      const model = mlpModel('relu', 'losses', 16);
      for (let step = 0; step < 3; step++) {
        const job = jobFor(model, 6, step + 1);
        assertSame(ex, job, 'sum', `mlp sum step ${step}`);
        job.params.forEach((t) => t.dispose());
      }
      assert.equal(stateOf(model, 'sum', 6), 'verified');
      const kernels = Object.entries(traceKernels(model)).find(([k]) => k.startsWith('sum|6|'))![1];
      if (backend === 'wasm') {
        assert.ok(kernels.includes('GradpoolStepMultiply'), kernels.join(' '));
        assert.ok(!kernels.includes('Step'), kernels.join(' '));
      } else assert.ok(kernels.includes('Step') && !kernels.includes('GradpoolStepMultiply'), kernels.join(' '));
    });

    it(`the seed model's loss and its gradient, runs of pointwise steps, replay as GradpoolPointwise ${backend === 'wasm' ? 'on wasm' : 'only where the backend has it (not cpu)'}, byte-identically`, () => {
      const ex = createVectorizedExecutor(backend);
      forgetTraces(seedModel);
      for (const kind of ['lossAndGrads', 'sum'] as const) {
        for (let step = 0; step < 3; step++) {
          const job = jobFor(seedModel, 9, step + 1); // 9: a tail of one value after the SIMD loop
          assertSame(ex, job, kind, `seed ${kind} step ${step}`);
          job.params.forEach((t) => t.dispose());
        }
        assert.equal(stateOf(seedModel, kind, 9), 'verified');
        const kernels = Object.entries(traceKernels(seedModel)).find(([k]) => k.startsWith(`${kind}|9|`))![1];
        // Add → SquaredDifference → Mean, and Sub → Multiply → Multiply: none of them left alone.
        const alone = ['Add', 'SquaredDifference', 'Mean', 'Sub', 'RealDiv'].filter((k) => kernels.includes(k));
        if (backend === 'wasm') {
          assert.ok(kernels.filter((k) => k === 'GradpoolPointwise').length >= 2, kernels.join(' '));
          assert.deepEqual(alone, [], kernels.join(' '));
        } else assert.ok(!kernels.includes('GradpoolPointwise') && alone.includes('SquaredDifference'), kernels.join(' '));
      }
      assert.deepEqual(warnings, []);
    });

    it(`a 2x2 max-pool's gradient times relu's, StepMultiply(z, MaxPoolGrad(…)), and the first layer's Relu(Add(Conv2D(…), bias)) replay as one fused kernel each ${backend === 'wasm' ? 'on wasm' : 'only where the backend has them (not cpu)'}, byte-identically; over 2 channels neither fuses`, () => {
      const ex = createVectorizedExecutor(backend);
      const kernelsOf = (filters: number) => {
        const model = convModel(6, 'max', 'valid', filters);
        for (let step = 0; step < 3; step++) {
          const job = jobFor(model, 6, step + 1);
          assertSame(ex, job, 'sum', `conv ${filters} filters sum step ${step}`);
          job.params.forEach((t) => t.dispose());
        }
        assert.equal(stateOf(model, 'sum', 6), 'verified');
        return Object.entries(traceKernels(model)).find(([k]) => k.startsWith('sum|6|'))![1];
      };
      const four = kernelsOf(4);
      if (backend === 'wasm') {
        assert.ok(four.includes('GradpoolMaxPoolGradStep'), four.join(' '));
        assert.ok(!four.includes('MaxPoolGrad') && !four.includes('GradpoolStepMultiply'), four.join(' '));
        // The forward's one-channel convolution, its bias and relu: one kernel too.
        assert.ok(four.includes('GradpoolConv2DBias') && !four.includes('Conv2D') && !four.includes('Relu'), four.join(' '));
        const two = kernelsOf(2);
        assert.ok(two.includes('MaxPoolGrad') && two.includes('GradpoolStepMultiply') && !two.includes('GradpoolMaxPoolGradStep'), two.join(' '));
        assert.ok(two.includes('Conv2D') && two.includes('Relu') && !two.includes('GradpoolConv2DBias'), two.join(' '));
      } else assert.ok(four.includes('MaxPoolGrad') && !four.includes('GradpoolMaxPoolGradStep') && !four.includes('GradpoolConv2DBias'), four.join(' '));
    });

    it('a tfjs-layers model replays byte-identically (training mode); one with BatchNormalization (fixed statistics of its own) is refused', () => {
      const ex = createVectorizedExecutor(backend);
      const [dense, bn] = [layersModel(false), layersModel(true)];
      withTraining(true, () => {
        for (let step = 0; step < 3; step++) {
          for (const model of [dense, bn]) {
            const job = jobFor(model, 6, step + 1);
            assertSame(ex, job, 'lossAndGrads', `layers step ${step}`);
            job.params.forEach((t) => t.dispose());
          }
        }
      });
      assert.equal(stateOf(dense, 'lossAndGrads', 6), 'verified');
      assert.match(stateOf(bn, 'lossAndGrads', 6) ?? '', /neither x, y, a parameter nor made in the run/);
    });

    it('leaks nothing over 1000 replays (tensors, engine buffers, inner and vmap data ids)', () => {
      const ex = createVectorizedExecutor(backend);
      for (const [model, kind, count] of [[seedModel, 'lossAndGrads', 1000], [seedModel, 'sum', 1000], [mlpModel('tanh', 'logSoftmax', 8), 'sumClipped', 200]] as const) {
        const job = jobFor(model, 8, 3);
        forgetTraces(model);
        runOp(ex, job, kind); // records
        runOp(ex, job, kind); // self-check
        assert.equal(stateOf(model, kind, 8), 'verified');
        const before = liveCounts(backend);
        for (let i = 0; i < count; i++) runOp(ex, job, kind);
        assert.deepEqual(liveCounts(backend), before, `${kind}`);
        job.params.forEach((t) => t.dispose());
      }
    });

    it('never replays a model with a random op, one that reads a value, or one that uses the per-sample fallback', () => {
      const ex = createVectorizedExecutor(backend);
      const tanhModel = mseOf((p, x) => tf.tanh(seedModel.forward(p, x)));
      for (const [model, why] of [[dropoutModel, /random op/], [readingModel, /value read/], [tanhModel, /per-sample fallback/]] as const) {
        const job = jobFor(model, 4, 1);
        const go = () => (model === tanhModel ? withoutRules(['Tanh'], () => run(ex, job)) : run(ex, job));
        for (let i = 0; i < 3; i++) go();
        assert.match(stateOf(model, 'lossAndGrads', 4) ?? '', why);
        job.params.forEach((t) => t.dispose());
      }
    });

    it('the self-check catches a corrupted trace: the normal results are returned and the key is never replayed', () => {
      const ex = createVectorizedExecutor(backend);
      const model = mlpModel('relu', 'losses', 8);
      forgetTraces(model);
      const job = jobFor(model, 6, 2);
      setReplay(false);
      const want = runOp(ex, job, 'lossAndGrads');
      setReplay(true);
      runOp(ex, job, 'lossAndGrads'); // records
      corruptTraces(model);
      const got = runOp(ex, job, 'lossAndGrads'); // first replay: checked against the normal path
      got.forEach((g, i) => assert.ok(g.equals(want[i]!), `output ${i}`));
      assert.match(stateOf(model, 'lossAndGrads', 6) ?? '', /refused: its first replay differed/);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /replay disabled/);
      job.params.forEach((t) => t.dispose());
    });
  });
}
