// defineModel validation (exact messages) and seeded initialisers.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { defineModel, initParams } from '../../src/model/define.js';
import { computeFans } from '../../src/model/init.js';

const base = () => ({
  params: { W: { shape: [4, 3] }, b: { shape: [3] } },
  inputShape: [4],
  targetShape: [3],
  forward: (p: Record<string, tf.Tensor>, x: tf.Tensor) => tf.add(tf.matMul(tf.reshape(x, [1, 4]), p.W!), p.b!),
  loss: (p: tf.Tensor, y: tf.Tensor) => tf.mean(tf.squaredDifference(p, y)),
});

describe('model: defineModel', function () {
  it('derives the flat parameter layout in declaration order', () => {
    const m = defineModel(base());
    assert.deepEqual(m.layout, { names: ['W', 'b'], shapes: [[4, 3], [3]], sizes: [12, 3], offsets: [0, 12], total: 15 });
    assert.equal(m.inputSize, 4);
    assert.equal(m.targetSize, 3);
  });

  it('accepts a built model spread into a new definition, recomputing what it derives', () => {
    const built = defineModel(base());
    const widened = defineModel({ ...built, params: { W: { shape: [4, 5] }, b: { shape: [5] } }, targetShape: [5] });
    assert.deepEqual(widened.layout.sizes, [20, 5]);
    assert.equal(widened.targetSize, 5);
    assert.throws(() => defineModel({ ...base(), layout: built.layout } as never), { message: /^model\.layout: unknown field/ }); // not built: a typo
  });

  const bad: [string, (s: ReturnType<typeof base>) => unknown, string][] = [
    ['params missing', (s) => ({ ...s, params: undefined }), 'model.params: expected an object of named parameters, got undefined'],
    ['no params', (s) => ({ ...s, params: {} }), 'model.params: expected at least one parameter, got "{}"'],
    ['bad shape', (s) => ({ ...s, params: { W: { shape: [3, -1] } } }), 'model.params.W.shape: expected an array of positive integers, got [3,-1]'],
    ['bad init', (s) => ({ ...s, params: { W: { shape: [3], init: 'he' } } }), 'model.params.W.init: expected one of zeros, ones, randomNormal, glorotUniform, {name: \'constant\', value}, or a function, got "he"'],
    ['bad stddev', (s) => ({ ...s, params: { W: { shape: [3], init: { name: 'randomNormal', stddev: -1 } } } }), 'model.params.W.init: expected one of zeros, ones, randomNormal, glorotUniform, {name: \'constant\', value}, or a function, got {"name":"randomNormal","stddev":-1}'],
    ['bad inputShape', (s) => ({ ...s, inputShape: [0] }), 'model.inputShape: expected an array of positive integers, got [0]'],
    ['bad targetShape', (s) => ({ ...s, targetShape: 'x' }), 'model.targetShape: expected an array of positive integers, got "x"'],
    ['no forward', (s) => ({ ...s, forward: undefined }), 'model.forward: expected a function (params, x) => tensor, got undefined'],
    ['no loss', (s) => ({ ...s, loss: 3 }), 'model.loss: expected a function (pred, y) => scalar, got 3'],
    ['an unknown field in the definition', (s) => ({ ...s, lossFn: s.loss }), 'model.lossFn: unknown field (expected one of: params, inputShape, targetShape, forward, loss)'],
    ['an unknown field in a parameter', (s) => ({ ...s, params: { W: { shape: [4, 3], initializer: 'zeros' } } }), 'model.params.W.initializer: unknown field (expected one of: shape, init)'],
    ['an unknown field in an initialiser', (s) => ({ ...s, params: { W: { shape: [3], init: { name: 'randomNormal', std: 0.1 } } } }), 'model.params.W.init.std: unknown field (expected one of: name, mean, stddev)'],
    ['an unknown field in a constant initialiser', (s) => ({ ...s, params: { W: { shape: [3], init: { name: 'constant', value: 1, dtype: 'int32' } } } }), 'model.params.W.init.dtype: unknown field (expected one of: name, value)'],
  ];
  for (const [what, mutate, message] of bad) {
    it(`rejects ${what}`, () => assert.throws(() => defineModel(mutate(base()) as never), { code: 'ERR_MODEL_INVALID', message }));
  }
});

describe('model: initialisers', function () {
  const spec = (init: unknown, shape = [20, 30]) => defineModel({ ...base(), params: { W: { shape, init } } } as never);

  it('are seeded: the same seed gives the same bits, another seed does not', () => {
    const m = spec('randomNormal');
    assert.deepEqual(initParams(m, 7), initParams(m, 7));
    assert.notDeepEqual(initParams(m, 7), initParams(m, 8));
  });

  it('zeros, ones and constant', () => {
    assert.ok(initParams(spec('zeros'), 1).every((v) => v === 0));
    assert.ok(initParams(spec('ones'), 1).every((v) => v === 1));
    assert.ok(initParams(spec({ name: 'constant', value: 0.25 }), 1).every((v) => v === 0.25));
  });

  it('randomNormal has tfjs\'s default N(0, 0.05) moments', () => {
    const v = initParams(spec('randomNormal', [100, 100]), 3);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    assert.ok(Math.abs(mean) < 0.002 && Math.abs(sd - 0.05) < 0.002, `mean ${mean} sd ${sd}`);
  });

  it('glorotUniform stays within sqrt(6 / (fanIn + fanOut)) and fills it; fans follow tfjs', () => {
    const v = initParams(spec('glorotUniform', [20, 30]), 3);
    const limit = Math.sqrt(6 / 50);
    assert.ok(v.every((x) => Math.abs(x) <= limit));
    assert.ok(Math.max(...v.map(Math.abs)) > 0.95 * limit);
    assert.deepEqual(computeFans([3, 3, 4, 8]), [36, 72]);
    assert.deepEqual(computeFans([3, 2, 1]), [6, 3]);
  });

  it('defaults like a dense layer: glorotUniform for kernels, zeros for biases', () => {
    const m = defineModel(base());
    const v = initParams(m, 5);
    assert.ok(v.subarray(12).every((x) => x === 0));
    assert.ok(v.subarray(0, 12).some((x) => x !== 0));
  });

  it('runs custom initialisers with the seeded generator and checks what they return', () => {
    const m = spec((shape: number[], rng: { uniform(): number }) => Array.from({ length: shape[0]! * shape[1]! }, () => rng.uniform()), [2, 2]);
    assert.deepEqual(initParams(m, 11), initParams(m, 11));
    assert.throws(() => initParams(spec(() => [1, 2, 3], [2, 2]), 0), { message: 'model.params.W.init: expected to return 4 numbers for shape [2,2], got 3 numbers' });
    assert.throws(() => initParams(spec(() => [1, NaN, 3, 4], [2, 2]), 0), { message: 'model.params.W.init: expected finite numbers, got NaN at index 1' });
  });
});
