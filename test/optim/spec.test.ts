/**
 * Factories, defaults, stateSlots, learning-rate schedules, and every validation message, exactly.
 */
import assert from 'node:assert/strict';
import { GradPoolError } from '../../src/errors.js';
import {
  adam,
  adamw,
  applyUpdate,
  momentum,
  resolveLearningRate,
  rmsprop,
  sgd,
  stateSlots,
  validateOptimizerSpec,
} from '../../src/optim/index.js';
import type { OptimizerSpec } from '../../src/optim/index.js';

/** Asserts `fn` throws a GradPoolError with exactly `message` (and `code` when given). */
function throwsExactly(fn: () => unknown, message: string, code?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GradPoolError, `expected a GradPoolError, got ${String(e)}`);
    assert.equal(e.message, message);
    if (code) assert.equal(e.code, code);
    return true;
  });
}

const any = (v: unknown) => v as never;
const LR = 'a finite number >= 0 or a schedule (step) => number';

describe('optim: specs', () => {
  it('fill in the tf.train defaults and are frozen', () => {
    assert.deepEqual(sgd({ learningRate: 0.1 }), { kind: 'sgd', learningRate: 0.1 });
    assert.deepEqual(momentum({ learningRate: 0.1, momentum: 0.9 }), { kind: 'momentum', learningRate: 0.1, momentum: 0.9, useNesterov: false });
    assert.deepEqual(adam(), { kind: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    assert.deepEqual(adam({}), adam());
    assert.deepEqual(adamw(), { kind: 'adamw', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0.01 });
    assert.deepEqual(rmsprop({ learningRate: 0.01 }), { kind: 'rmsprop', learningRate: 0.01, decay: 0.9, momentum: 0, epsilon: 1e-7, centered: false });
    for (const spec of [sgd({ learningRate: 0 }), adam(), adamw(), rmsprop({ learningRate: 1 }), momentum({ learningRate: 1, momentum: 0 })]) {
      assert.ok(Object.isFrozen(spec));
      assert.throws(() => {
        (spec as { learningRate: number }).learningRate = 5;
      }, TypeError);
    }
  });

  it('keep a schedule function as given', () => {
    const schedule = (step: number) => 1 / step;
    assert.equal(adam({ learningRate: schedule }).learningRate, schedule);
  });

  it('stateSlots names the state each optimizer needs, in applyUpdate order', () => {
    assert.deepEqual(stateSlots(sgd({ learningRate: 0.1 })), []);
    assert.deepEqual(stateSlots(momentum({ learningRate: 0.1, momentum: 0.9, useNesterov: true })), ['mom']);
    assert.deepEqual(stateSlots(adam()), ['m', 'v']);
    assert.deepEqual(stateSlots(adamw()), ['m', 'v']);
    assert.deepEqual(stateSlots(rmsprop({ learningRate: 0.1 })), ['ms', 'mom']);
    assert.deepEqual(stateSlots(rmsprop({ learningRate: 0.1, centered: true })), ['ms', 'mom', 'mg']);
  });

  it('validateOptimizerSpec normalizes plain objects and structured clones', () => {
    assert.deepEqual(validateOptimizerSpec({ kind: 'adam', learningRate: 0.01 }), adam({ learningRate: 0.01 }));
    const spec = rmsprop({ learningRate: 0.1, centered: true, momentum: 0.5 });
    const again = validateOptimizerSpec(structuredClone(spec));
    assert.deepEqual(again, spec);
    assert.ok(Object.isFrozen(again));
  });
});

describe('optim: resolveLearningRate', () => {
  it('returns a fixed rate as is, and calls a schedule with the 1-based step', () => {
    assert.equal(resolveLearningRate(sgd({ learningRate: 0.25 }), 7), 0.25);
    const seen: number[] = [];
    const spec = adam({ learningRate: (s) => (seen.push(s), 0.1 * 0.5 ** Math.floor((s - 1) / 2)) });
    assert.deepEqual([1, 2, 3, 4, 5].map((s) => resolveLearningRate(spec, s)), [0.1, 0.1, 0.05, 0.05, 0.025]);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(resolveLearningRate(sgd({ learningRate: () => 0 }), 1), 0);
  });

  it('rejects a schedule value that is not a finite number >= 0, naming the step', () => {
    const at = (v: unknown) => sgd({ learningRate: () => v as number });
    const msg = (got: string, step: number) =>
      `optimizer.learningRate: schedule returned ${got} at step ${step}, expected a finite number >= 0`;
    throwsExactly(() => resolveLearningRate(sgd({ learningRate: (s) => (s === 3 ? NaN : 0.1) }), 3), msg('NaN', 3), 'ERR_INVALID_OPTION');
    throwsExactly(() => resolveLearningRate(at(-0.1), 1), msg('-0.1', 1));
    throwsExactly(() => resolveLearningRate(at(Infinity), 2), msg('Infinity', 2));
    throwsExactly(() => resolveLearningRate(at('0.1'), 4), msg('"0.1"', 4));
    throwsExactly(() => resolveLearningRate(at(undefined), 5), msg('undefined', 5));
  });

  it('wraps a throwing schedule, keeping the cause', () => {
    const boom = new Error('boom');
    const spec = sgd({
      learningRate: () => {
        throw boom;
      },
    });
    throwsExactly(() => resolveLearningRate(spec, 2), 'optimizer.learningRate: schedule threw at step 2: boom', 'ERR_INVALID_OPTION');
    assert.throws(() => resolveLearningRate(spec, 2), (e: unknown) => (e as Error).cause === boom);
  });

  it('rejects a step that is not an integer >= 1', () => {
    const spec = sgd({ learningRate: 0.1 });
    throwsExactly(() => resolveLearningRate(spec, 0), 'step: expected an integer >= 1, got 0');
    throwsExactly(() => resolveLearningRate(spec, 1.5), 'step: expected an integer >= 1, got 1.5');
  });
});

describe('optim: factory validation messages', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['sgd(0.01), tf.train style', () => sgd(any(0.01)), 'optimizer: expected an options object such as { learningRate: 0.01 }, got 0.01'],
    ['sgd()', () => sgd(any(undefined)), 'optimizer: expected an options object such as { learningRate: 0.01 }, got undefined'],
    ['sgd(null)', () => sgd(any(null)), 'optimizer: expected an options object such as { learningRate: 0.01 }, got null'],
    ['adam([])', () => adam(any([])), 'optimizer: expected an options object such as { learningRate: 0.01 }, got []'],
    ['adam(0.001)', () => adam(any(0.001)), 'optimizer: expected an options object such as { learningRate: 0.01 }, got 0.001'],
    ['missing learningRate', () => sgd(any({})), `optimizer.learningRate: expected ${LR}, got undefined`],
    ['negative learningRate', () => sgd({ learningRate: -0.1 }), `optimizer.learningRate: expected ${LR}, got -0.1`],
    ['NaN learningRate', () => momentum({ learningRate: NaN, momentum: 0.9 }), `optimizer.learningRate: expected ${LR}, got NaN`],
    ['infinite learningRate', () => adam({ learningRate: Infinity }), `optimizer.learningRate: expected ${LR}, got Infinity`],
    ['string learningRate', () => rmsprop({ learningRate: any('0.1') }), `optimizer.learningRate: expected ${LR}, got "0.1"`],
    ['unknown sgd option', () => sgd(any({ learningRate: 0.1, lr: 0.1 })), 'optimizer.lr: unknown field (expected one of: learningRate)'],
    ['missing momentum', () => momentum(any({ learningRate: 0.1 })), 'optimizer.momentum: expected a number in [0, 1), got undefined'],
    ['momentum = 1', () => momentum({ learningRate: 0.1, momentum: 1 }), 'optimizer.momentum: expected a number in [0, 1), got 1'],
    ['negative momentum', () => momentum({ learningRate: 0.1, momentum: -0.5 }), 'optimizer.momentum: expected a number in [0, 1), got -0.5'],
    ['string useNesterov', () => momentum({ learningRate: 0.1, momentum: 0.9, useNesterov: any('yes') }), 'optimizer.useNesterov: expected a boolean, got "yes"'],
    [
      'unknown momentum option',
      () => momentum(any({ learningRate: 0.1, momentum: 0.9, nesterov: true })),
      'optimizer.nesterov: unknown field (expected one of: learningRate, momentum, useNesterov)',
    ],
    ['beta1 = 1.5', () => adam({ beta1: 1.5 }), 'optimizer.beta1: expected a number in [0, 1), got 1.5'],
    ['beta1 NaN', () => adamw({ beta1: NaN }), 'optimizer.beta1: expected a number in [0, 1), got NaN'],
    ['beta2 = 1', () => adam({ beta2: 1 }), 'optimizer.beta2: expected a number in [0, 1), got 1'],
    ['beta2 null', () => adam({ beta2: any(null) }), 'optimizer.beta2: expected a number in [0, 1), got null'],
    ['epsilon = 0', () => adam({ epsilon: 0 }), 'optimizer.epsilon: expected a finite number > 0, got 0'],
    ['epsilon < 0', () => rmsprop({ learningRate: 0.1, epsilon: -1e-8 }), 'optimizer.epsilon: expected a finite number > 0, got -1e-8'],
    ['unknown adam option', () => adam(any({ beta_1: 0.9 })), 'optimizer.beta_1: unknown field (expected one of: learningRate, beta1, beta2, epsilon)'],
    ['negative weightDecay', () => adamw({ weightDecay: -0.01 }), 'optimizer.weightDecay: expected a finite number >= 0, got -0.01'],
    ['weightDecay as string', () => adamw({ weightDecay: any('0.01') }), 'optimizer.weightDecay: expected a finite number >= 0, got "0.01"'],
    ['weightDecay on adam', () => adam(any({ weightDecay: 0.01 })), 'optimizer.weightDecay: unknown field (expected one of: learningRate, beta1, beta2, epsilon)'],
    [
      'unknown adamw option',
      () => adamw(any({ decay: 0.01 })),
      'optimizer.decay: unknown field (expected one of: learningRate, beta1, beta2, epsilon, weightDecay)',
    ],
    ['rmsprop without learningRate', () => rmsprop(any({ decay: 0.9 })), `optimizer.learningRate: expected ${LR}, got undefined`],
    ['decay = 1', () => rmsprop({ learningRate: 0.1, decay: 1 }), 'optimizer.decay: expected a number in [0, 1), got 1'],
    ['rmsprop momentum = 2', () => rmsprop({ learningRate: 0.1, momentum: 2 }), 'optimizer.momentum: expected a number in [0, 1), got 2'],
    ['centered = 1', () => rmsprop({ learningRate: 0.1, centered: any(1) }), 'optimizer.centered: expected a boolean, got 1'],
    [
      'unknown rmsprop option',
      () => rmsprop(any({ learningRate: 0.1, rho: 0.9 })),
      'optimizer.rho: unknown field (expected one of: learningRate, decay, momentum, epsilon, centered)',
    ],
    [
      'an unknown field in a spec written as an object literal',
      () => validateOptimizerSpec({ kind: 'sgd', learningRate: 0.1, momentum: 0.9 }),
      'optimizer.momentum: unknown field (expected one of: learningRate)',
    ],
    [
      'unknown kind',
      () => validateOptimizerSpec({ kind: 'adagrad', learningRate: 0.1 }),
      `optimizer.kind: expected one of 'sgd', 'momentum', 'adam', 'adamw', 'rmsprop', got "adagrad"`,
    ],
    ['spec is null', () => validateOptimizerSpec(null), 'optimizer: expected an optimizer spec such as adam({ learningRate: 0.001 }), got null'],
    ['spec with a bad field', () => validateOptimizerSpec({ kind: 'adam', beta1: 2 }), 'optimizer.beta1: expected a number in [0, 1), got 2'],
  ];
  for (const [title, fn, message] of cases) it(title, () => throwsExactly(fn, message));
});

describe('optim: applyUpdate argument messages', () => {
  const spec = adam();
  const f32 = (n: number) => new Float32Array(n);
  const good = () => ({ params: f32(4).fill(1), grads: f32(4).fill(1), slots: [f32(4), f32(4)] });
  const call = (over: Partial<ReturnType<typeof good> & { spec: OptimizerSpec; lr: number; step: number; lo: number; hi: number }>) => {
    const a = { ...good(), spec, lr: 0.1, step: 1, lo: 0, hi: 4, ...over };
    return () => applyUpdate(a.spec, { lr: a.lr, step: a.step }, a.params, a.grads, a.slots, a.lo, a.hi);
  };
  const cases: Array<[string, () => unknown, string]> = [
    ['unknown kind', call({ spec: any({ kind: 'lbfgs' }) }), `optimizer.kind: expected one of 'sgd', 'momentum', 'adam', 'adamw', 'rmsprop', got "lbfgs"`],
    ['negative lr', call({ lr: -1 }), 'lr: expected a finite number >= 0, got -1'],
    ['NaN lr', call({ lr: NaN }), 'lr: expected a finite number >= 0, got NaN'],
    ['step 0', call({ step: 0 }), 'step: expected an integer >= 1, got 0'],
    ['fractional step', call({ step: 2.5 }), 'step: expected an integer >= 1, got 2.5'],
    ['Float64Array params', call({ params: any(new Float64Array(4)) }), 'params: expected a Float32Array, got a Float64Array'],
    ['array grads', call({ grads: any([1, 1, 1, 1]) }), 'grads: expected a Float32Array, got [1,1,1,1]'],
    ['short grads', call({ grads: f32(3) }), 'grads: expected shape [4], got [3]'],
    ['slots not an array', call({ slots: any(f32(4)) }), 'slots: expected an array of Float32Arrays, got a Float32Array'],
    ['too few slots', call({ slots: [f32(4)] }), 'slots.length: expected 2 (one Float32Array per slot: m, v), got 1'],
    [
      'slots for sgd',
      () => applyUpdate(sgd({ learningRate: 0.1 }), { lr: 0.1, step: 1 }, f32(4), f32(4), [f32(4)], 0, 4),
      'slots.length: expected 0 (sgd keeps no state), got 1',
    ],
    ['wrong slot type', call({ slots: [f32(4), any(new Float64Array(4))] }), 'slots[1] (v): expected a Float32Array, got a Float64Array'],
    ['wrong slot length', call({ slots: [f32(5), f32(4)] }), 'slots[0] (m): expected shape [4], got [5]'],
    ['negative lo', call({ lo: -1 }), 'lo: expected an integer in [0, 4], got -1'],
    ['hi past the end', call({ lo: 1, hi: 5 }), 'hi: expected an integer in [1, 4], got 5'],
    ['hi before lo', call({ lo: 3, hi: 2 }), 'hi: expected an integer in [3, 4], got 2'],
    ['fractional hi', call({ hi: 3.5 }), 'hi: expected an integer in [0, 4], got 3.5'],
  ];
  for (const [title, fn, message] of cases) it(title, () => throwsExactly(fn, message));

  it('leaves params and state untouched when it rejects a call', () => {
    const params = f32(4).fill(1);
    const slots = [f32(4), f32(4)];
    assert.throws(() => applyUpdate(spec, { lr: 0.1, step: 1 }, params, f32(4).fill(1), slots, 0, 5));
    assert.deepEqual(Array.from(params), [1, 1, 1, 1]);
    assert.ok(slots.every((s) => s.every((x) => x === 0)));
  });
});
